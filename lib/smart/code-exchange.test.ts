import type { fhirclient } from "fhirclient/lib/types";
import { describe, expect, it } from "vitest";
import { accessTokenExpiry, exchangeAuthorizationCode } from "./code-exchange";
import { WebRequestAdapter } from "./web-adapter";

const TOKEN_URI = "https://ehr.test/auth/token";
const env = new WebRequestAdapter({ request: new Request("http://app.test/callback"), storage: { get: async () => undefined, set: async (_k: string, v: unknown) => v, unset: async () => true } }) as unknown as fhirclient.Adapter;
const state = { clientId: "app", clientSecret: "s3cret", redirectUri: "http://app.test/callback", serverUrl: "https://ehr.test/fhir", tokenUri: TOKEN_URI, codeVerifier: "v".repeat(43) } as unknown as fhirclient.ClientState;

/** A token endpoint answering `answer`; records the form bodies and Authorization headers it received. */
function tokenEndpoint(answer: () => Response | Promise<Response>): { fetch: typeof fetch; bodies: URLSearchParams[]; auth: Array<string | null> } {
  const bodies: URLSearchParams[] = [];
  const auth: Array<string | null> = [];
  const impl = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    bodies.push(new URLSearchParams(String(init?.body)));
    auth.push(new Headers(init?.headers).get("authorization"));
    return answer();
  }) as typeof fetch;
  return { fetch: impl, bodies, auth };
}

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const exchange = (endpoint: { fetch: typeof fetch }, code = "the-code") => exchangeAuthorizationCode({ env, state, code, fetch: endpoint.fetch, timeoutMs: 1000, nowSeconds: () => 1_000 });

describe("authorization code exchange", () => {
  it("posts the code with the PKCE verifier and the client secret, and returns the tokens with their expiry", async () => {
    const endpoint = tokenEndpoint(() => json({ access_token: "at", expires_in: 3600, patient: "p1" }));
    expect(await exchange(endpoint)).toEqual({ ok: true, tokenResponse: { access_token: "at", expires_in: 3600, patient: "p1" }, expiresAt: 4_600 });
    expect(Object.fromEntries(endpoint.bodies[0]!)).toEqual({ code: "the-code", grant_type: "authorization_code", redirect_uri: "http://app.test/callback", code_verifier: "v".repeat(43) });
    expect(endpoint.auth[0]).toBe(`Basic ${Buffer.from("app:s3cret").toString("base64")}`);
  });

  it("keeps a code with form characters one field (no injected grant parameters)", async () => {
    const endpoint = tokenEndpoint(() => json({ access_token: "at" }));
    await exchange(endpoint, "abc&redirect_uri=https://evil.test&x=1");
    expect(endpoint.bodies[0]!.get("code")).toBe("abc&redirect_uri=https://evil.test&x=1");
    expect(endpoint.bodies[0]!.getAll("redirect_uri")).toEqual(["http://app.test/callback"]);
  });

  it("tells the EHR refusing the code (invalid_grant) from the EHR being unavailable, and asks once", async () => {
    const refused = tokenEndpoint(() => json({ error: "invalid_grant", error_description: "code expired" }, 400));
    expect(await exchange(refused)).toEqual({ ok: false, problem: "refused", status: 400, error: "invalid_grant" });
    for (const status of [429, 500, 503]) {
      const busy = tokenEndpoint(() => json({ error: "temporarily_unavailable" }, status));
      expect(await exchange(busy)).toEqual({ ok: false, problem: "unavailable", status });
      expect(busy.bodies).toHaveLength(1);
    }
    const down = tokenEndpoint(() => Promise.reject(new TypeError("fetch failed")));
    expect(await exchange(down)).toEqual({ ok: false, problem: "unavailable", status: null });
  });

  it("reports answers without an access token or not JSON as malformed, and odd error codes as unknown", async () => {
    expect(await exchange(tokenEndpoint(() => json({ token_type: "bearer" })))).toEqual({ ok: false, problem: "malformed", status: 200 });
    expect(await exchange(tokenEndpoint(() => new Response("<html>", { status: 200 })))).toEqual({ ok: false, problem: "malformed", status: 200 });
    expect(await exchange(tokenEndpoint(() => new Response("nope", { status: 404 })))).toEqual({ ok: false, problem: "malformed", status: 404 });
    expect(await exchange(tokenEndpoint(() => json({ error: "<script>" }, 400)))).toEqual({ ok: false, problem: "refused", status: 400, error: "unknown" });
  });
});

describe("access token expiry", () => {
  it("uses expires_in, else a JWT's exp, else five minutes", () => {
    expect(accessTokenExpiry({ access_token: "x", expires_in: 60 }, 100)).toBe(160);
    const jwt = `h.${Buffer.from(JSON.stringify({ exp: 999 })).toString("base64url")}.s`;
    expect(accessTokenExpiry({ access_token: jwt }, 100)).toBe(999);
    expect(accessTokenExpiry({ access_token: "opaque.%%%.x" }, 100)).toBe(400);
  });
});
