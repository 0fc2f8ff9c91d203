import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BackendAuthError, BackendTokenProvider, publicJwks, type BackendCredentials } from "./backend-auth";
import { sendJson, startLocalTestServer, type LocalTestServer, type RecordedRequest } from "./local-test-server";

let server: LocalTestServer;
let fhirBase: string;
let tokenEndpoint: string;
const keys: Record<"ES384" | "RS384", JWK> = { ES384: {}, RS384: {} };
const sleeps: number[] = [];
const fakeSleep = async (ms: number): Promise<void> => void sleeps.push(ms);

async function privateKey(alg: "ES384" | "RS384", kid: string): Promise<JWK> {
  const { privateKey: key } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(key)), kid, alg, use: "sig" };
}

beforeAll(async () => {
  keys.ES384 = await privateKey("ES384", "es-key");
  keys.RS384 = await privateKey("RS384", "rs-key");
  server = await startLocalTestServer();
  fhirBase = `${server.origin}/fhir`;
  tokenEndpoint = `${server.origin}/token`;
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.requests.length = 0;
  sleeps.length = 0;
});

const smartConfiguration = (): Record<string, unknown> => ({ token_endpoint: tokenEndpoint, token_endpoint_auth_methods_supported: ["private_key_jwt"] });
const tokenRequests = (): RecordedRequest[] => server.requests.filter((request) => request.url.pathname === "/token");
const credentials = (overrides: Partial<BackendCredentials> = {}): BackendCredentials => ({ clientId: "bulk-app", privateJwk: keys.ES384, scope: "system/*.rs", ...overrides });

/** An EHR that discovers via smart-configuration and issues numbered tokens for valid assertions. */
function ehr(options: { expiresIn?: number } = {}): void {
  let issued = 0;
  server.handle(async (request, res) => {
    if (request.url.pathname === "/fhir/.well-known/smart-configuration") return sendJson(res, 200, smartConfiguration());
    if (request.url.pathname === "/token") {
      const form = new URLSearchParams(request.body);
      const jwks = createLocalJWKSet(publicJwks([keys.ES384, keys.RS384]));
      try {
        await jwtVerify(form.get("client_assertion") ?? "", jwks, { issuer: "bulk-app", subject: "bulk-app", audience: tokenEndpoint, algorithms: ["ES384", "RS384"] });
      } catch {
        return sendJson(res, 401, { error: "invalid_client", error_description: "assertion rejected" });
      }
      issued++;
      return sendJson(res, 200, { access_token: `token-${issued}`, token_type: "bearer", expires_in: options.expiresIn ?? 300, scope: form.get("scope") });
    }
    sendJson(res, 404, {});
  });
}

describe("BackendTokenProvider: the client assertion", () => {
  it.each(["ES384", "RS384"] as const)("signs a %s private_key_jwt the EHR verifies: iss = sub = client id, aud = token endpoint, fresh jti, exp within five minutes, kid", async (alg) => {
    ehr();
    const provider = new BackendTokenProvider(fhirBase, credentials({ privateJwk: keys[alg] }));
    expect(await provider.token()).toBe("token-1");
    const [request] = tokenRequests();
    const form = new URLSearchParams(request?.body);
    expect(request?.method).toBe("POST");
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(form.get("grant_type")).toBe("client_credentials");
    expect(form.get("scope")).toBe("system/*.rs");
    expect(form.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const assertion = form.get("client_assertion") ?? "";
    const header = decodeProtectedHeader(assertion);
    expect(header).toMatchObject({ alg, kid: keys[alg].kid, typ: "JWT" });
    expect(header.jku).toBeUndefined();
    const { payload } = await jwtVerify(assertion, createLocalJWKSet(publicJwks([keys[alg]])), { audience: tokenEndpoint });
    expect(payload.iss).toBe("bulk-app");
    expect(payload.sub).toBe("bulk-app");
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect((payload.exp ?? 0) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(300);
    expect(payload.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));
  });

  it("sends the JWKS URL as jku only when one is configured", async () => {
    ehr();
    await new BackendTokenProvider(fhirBase, credentials({ jwksUrl: "https://app.example/jwks.json" })).token();
    const assertion = new URLSearchParams(tokenRequests()[0]?.body).get("client_assertion") ?? "";
    expect(decodeProtectedHeader(assertion).jku).toBe("https://app.example/jwks.json");
  });

  it("refuses a key that is not RS384/ES384, has no kid, or is public, before any request", async () => {
    const { privateKey: rs256 } = await generateKeyPair("RS256", { extractable: true });
    const cases: JWK[] = [{ ...(await exportJWK(rs256)), kid: "k", alg: "RS256" }, { ...keys.ES384, kid: undefined }, publicJwks([keys.ES384]).keys[0] as JWK];
    for (const privateJwk of cases) {
      const error = await new BackendTokenProvider(fhirBase, credentials({ privateJwk, tokenEndpoint })).token().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BackendAuthError);
      expect((error as BackendAuthError).hint).toMatch(/bulk-app/);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe("BackendTokenProvider: discovery", () => {
  it("falls back to the CapabilityStatement's oauth-uris when smart-configuration is missing", async () => {
    server.handle((request, res) => {
      if (request.url.pathname === "/fhir/metadata") {
        return sendJson(res, 200, {
          resourceType: "CapabilityStatement",
          rest: [{ mode: "server", security: { extension: [{ url: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", extension: [{ url: "token", valueUri: tokenEndpoint }] }] } }],
        });
      }
      if (request.url.pathname === "/token") return sendJson(res, 200, { access_token: "from-metadata", token_type: "Bearer", expires_in: 300 });
      sendJson(res, 404, {});
    });
    expect(await new BackendTokenProvider(fhirBase, credentials()).token()).toBe("from-metadata");
    expect(server.requests.map((request) => request.url.pathname)).toEqual(["/fhir/.well-known/smart-configuration", "/fhir/metadata", "/token"]);
  });

  it("uses a configured token endpoint without discovery", async () => {
    ehr();
    await new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint })).token();
    expect(server.requests.map((request) => request.url.pathname)).toEqual(["/token"]);
  });

  it("says to check the FHIR base URL when no token endpoint can be found", async () => {
    server.handle((_request, res) => sendJson(res, 404, {}));
    const error = (await new BackendTokenProvider(fhirBase, credentials()).token().catch((caught: unknown) => caught)) as BackendAuthError;
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error.hint).toMatch(/FHIR base URL/);
    expect(error.retryable).toBe(false);
  });
});

describe("BackendTokenProvider: caching", () => {
  it("caches the token and shares one request among concurrent callers", async () => {
    ehr();
    const provider = new BackendTokenProvider(fhirBase, credentials());
    const tokens = await Promise.all([provider.token(), provider.token(), provider.token(), provider.token()]);
    expect(tokens).toEqual(["token-1", "token-1", "token-1", "token-1"]);
    expect(await provider.token()).toBe("token-1");
    expect(tokenRequests()).toHaveLength(1);
    expect(server.requests.filter((request) => request.url.pathname.endsWith("smart-configuration"))).toHaveLength(1);
  });

  it("asks again once the token is inside the safety margin before expiry", async () => {
    ehr({ expiresIn: 0 });
    const provider = new BackendTokenProvider(fhirBase, credentials(), { marginSeconds: 60 });
    expect(await provider.token()).toBe("token-1");
    expect(await provider.token()).toBe("token-2");
    expect(tokenRequests()).toHaveLength(2);
  });

  it("after invalidate(token) fetches a new one, and a stale invalidate does not drop the new token", async () => {
    ehr();
    const provider = new BackendTokenProvider(fhirBase, credentials());
    const first = await provider.token();
    provider.invalidate(first);
    const second = await provider.token();
    expect(second).toBe("token-2");
    provider.invalidate(first);
    expect(await provider.token()).toBe("token-2");
    expect(tokenRequests()).toHaveLength(2);
  });

  it("rejects at once for an aborted caller", async () => {
    ehr();
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(new BackendTokenProvider(fhirBase, credentials()).token(controller.signal)).rejects.toThrow("stop");
  });
});

describe("BackendTokenProvider: errors a person can act on", () => {
  it("retries a busy token endpoint honouring Retry-After, with a new assertion each time", async () => {
    let calls = 0;
    server.handle((request, res) => {
      if (request.url.pathname !== "/token") return sendJson(res, 404, {});
      calls++;
      if (calls === 1) return sendJson(res, 503, { error: "temporarily_unavailable" }, { "retry-after": "2" });
      sendJson(res, 200, { access_token: "after-wait", token_type: "Bearer", expires_in: 300 });
    });
    const provider = new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint }), { sleep: fakeSleep });
    expect(await provider.token()).toBe("after-wait");
    expect(sleeps).toEqual([2000]);
    const assertions = tokenRequests().map((request) => new URLSearchParams(request.body).get("client_assertion"));
    expect(new Set(assertions).size).toBe(2);
  });

  it("invalid_client: register the app's public key for the client id at the EHR", async () => {
    server.handle((_request, res) => sendJson(res, 401, { error: "invalid_client", error_description: "unknown key" }));
    const error = (await new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint })).token().catch((caught: unknown) => caught)) as BackendAuthError;
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error.status).toBe(401);
    expect(error.oauthError).toBe("invalid_client");
    expect(error.message).toContain("unknown key");
    expect(error.hint).toContain("Register the app's public key");
    expect(error.hint).toContain("/jwks.json");
    expect(error.hint).toContain("client id bulk-app");
    expect(error.retryable).toBe(false);
  });

  it("invalid_client with a configured JWKS URL names that URL", async () => {
    server.handle((_request, res) => sendJson(res, 401, { error: "invalid_client" }));
    const error = (await new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint, jwksUrl: "https://app.example/jwks.json" })).token().catch((caught: unknown) => caught)) as BackendAuthError;
    expect(error.hint).toContain("https://app.example/jwks.json");
  });

  it("invalid_scope: ask the EHR to allow the scopes for the client id", async () => {
    server.handle((_request, res) => sendJson(res, 400, { error: "invalid_scope" }));
    const error = (await new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint })).token().catch((caught: unknown) => caught)) as BackendAuthError;
    expect(error.oauthError).toBe("invalid_scope");
    expect(error.hint).toContain('"system/*.rs"');
    expect(error.hint).toContain("bulk-app");
  });

  it("a token endpoint that stays unavailable is a retryable error", async () => {
    server.handle((_request, res) => sendJson(res, 503, {}, { "retry-after": "0" }));
    const error = (await new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint }), { sleep: fakeSleep, maxRetries: 2 }).token().catch((caught: unknown) => caught)) as BackendAuthError;
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect(tokenRequests()).toHaveLength(3);
  });

  it("a 200 without an access token is refused", async () => {
    server.handle((_request, res) => sendJson(res, 200, { token_type: "Bearer" }));
    await expect(new BackendTokenProvider(fhirBase, credentials({ tokenEndpoint })).token()).rejects.toBeInstanceOf(BackendAuthError);
  });
});

describe("publicJwks", () => {
  it("keeps only the public members of EC and RSA keys", () => {
    const { keys: published } = publicJwks([keys.ES384, keys.RS384]);
    expect(Object.keys(published[0] ?? {}).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    expect(Object.keys(published[1] ?? {}).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
    expect(JSON.stringify(published)).not.toMatch(/"(d|p|q|dp|dq|qi)"/);
  });

  it("refuses a symmetric key, which has no public part", () => {
    expect(() => publicJwks([{ kty: "oct", k: "c2VjcmV0", kid: "s" }])).toThrow(/no public part/);
  });
});
