import { describe, expect, it } from "vitest";
import { discoverSmartEndpoints } from "./smart-discovery";

const ISS = "https://ehr.test/fhir";
const SMART = { authorization_endpoint: "https://ehr.test/auth/authorize", token_endpoint: "https://ehr.test/auth/token", code_challenge_methods_supported: ["S256"], scopes_supported: ["openid"], capabilities: ["launch-ehr"] };
const OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";
const CAPABILITY = {
  resourceType: "CapabilityStatement",
  rest: [{ security: { extension: [{ url: OAUTH_URIS, extension: [{ url: "authorize", valueUri: "https://ehr.test/v1/authorize" }, { url: "token", valueUri: "https://ehr.test/v1/token" }] }] } }],
};

/** A fetch answering by path from `answers` (each a list used in turn, the last repeated); records the paths asked. */
function ehr(answers: Record<string, Array<() => Response>>): { fetch: typeof fetch; asked: string[] } {
  const asked: string[] = [];
  const used: Record<string, number> = {};
  const impl = (async (input: RequestInfo | URL) => {
    const path = new URL(String(input)).pathname.replace("/fhir/", "");
    asked.push(path);
    const list = answers[path];
    if (!list) return new Response("not found", { status: 404 });
    const i = Math.min(used[path] ?? 0, list.length - 1);
    used[path] = (used[path] ?? 0) + 1;
    return list[i]!();
  }) as typeof fetch;
  return { fetch: impl, asked };
}

const json = (body: unknown, status = 200): (() => Response) => () => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const FAST = { baseDelayMs: 1, maxRetries: 2 };

describe("SMART endpoint discovery", () => {
  it("reads the endpoints, PKCE methods and scopes from smart-configuration", async () => {
    const server = ehr({ ".well-known/smart-configuration": [json(SMART)] });
    expect(await discoverSmartEndpoints(`${ISS}/`, { fetch: server.fetch, http: FAST })).toEqual({
      ok: true,
      endpoints: { authorizeUri: SMART.authorization_endpoint, tokenUri: SMART.token_endpoint, registrationUri: "", codeChallengeMethods: ["S256"], scopesSupported: ["openid"], capabilities: ["launch-ehr"] },
    });
  });

  it("retries 503 and 429 and then succeeds", async () => {
    const server = ehr({ ".well-known/smart-configuration": [json({}, 503), json({}, 429), json(SMART)] });
    const result = await discoverSmartEndpoints(ISS, { fetch: server.fetch, http: FAST });
    expect(result.ok).toBe(true);
    expect(server.asked).toEqual([".well-known/smart-configuration", ".well-known/smart-configuration", ".well-known/smart-configuration"]);
  });

  it("falls back to the CapabilityStatement when smart-configuration is absent or names no endpoints", async () => {
    for (const smart of [undefined, [json({ issuer: ISS })]]) {
      const server = ehr({ ...(smart ? { ".well-known/smart-configuration": smart } : {}), metadata: [json(CAPABILITY)] });
      expect(await discoverSmartEndpoints(ISS, { fetch: server.fetch, http: FAST })).toEqual({
        ok: true,
        endpoints: { authorizeUri: "https://ehr.test/v1/authorize", tokenUri: "https://ehr.test/v1/token", registrationUri: "", codeChallengeMethods: [] },
      });
    }
  });

  it("reports an EHR that keeps failing as unavailable, without asking for its CapabilityStatement", async () => {
    const server = ehr({ ".well-known/smart-configuration": [json({}, 503)], metadata: [json(CAPABILITY)] });
    expect(await discoverSmartEndpoints(ISS, { fetch: server.fetch, http: FAST })).toEqual({ ok: false, problem: "unavailable", status: 503 });
    expect(server.asked.filter((p) => p === "metadata")).toEqual([]);
    const down = await discoverSmartEndpoints(ISS, { fetch: (async () => Promise.reject(new TypeError("fetch failed"))) as typeof fetch, http: FAST });
    expect(down).toEqual({ ok: false, problem: "unavailable", status: null });
  });

  it("refuses endpoints that are not http(s) URLs, and a server with none", async () => {
    const server = ehr({ ".well-known/smart-configuration": [json({ ...SMART, authorization_endpoint: "javascript:alert(1)" })] });
    expect(await discoverSmartEndpoints(ISS, { fetch: server.fetch, http: FAST })).toEqual({ ok: false, problem: "no-endpoints", status: 404 });
    const none = ehr({ ".well-known/smart-configuration": [json([1, 2])], metadata: [json({ resourceType: "CapabilityStatement", rest: "x" })] });
    expect(await discoverSmartEndpoints(ISS, { fetch: none.fetch, http: FAST })).toEqual({ ok: false, problem: "no-endpoints", status: 200 });
  });
});
