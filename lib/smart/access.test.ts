import { exportJWK, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { getSessionAccess } from "./access";
import { smartConfig, type SmartClientConfig } from "./config";
import type { LoadedSession, SessionStore, SmartStorageData } from "./session-store";

const NOW = 1_800_000_000;
const TOKEN_URI = "http://ehr.test/auth/token";

function fakeStore(data: SmartStorageData, opts: { expired?: boolean } = {}): SessionStore & { saved: SmartStorageData[]; deleted: string[] } {
  const saved: SmartStorageData[] = [];
  const deleted: string[] = [];
  const session: LoadedSession = { id: "s".repeat(43), data, expiresAt: new Date(), expired: opts.expired ?? false, patientId: "p1", practitionerId: null, role: null, issuer: null };
  return {
    saved,
    deleted,
    load: async () => session,
    saveData: async (_id: string, d: SmartStorageData) => void saved.push(structuredClone(d)),
    withRefreshLock: async <T>(_id: string, work: (current: LoadedSession | null) => Promise<{ result: T; data?: SmartStorageData }>) => {
      const out = await work(structuredClone(session));
      if (out.data) saved.push(structuredClone(out.data));
      return out.result;
    },
    delete: async (id: string) => void deleted.push(id),
  } as unknown as SessionStore & { saved: SmartStorageData[]; deleted: string[] };
}

function stateWith(expiresAt: number, refresh = true): SmartStorageData {
  return {
    SMART_KEY: "k1",
    k1: { serverUrl: "http://ehr.test/fhir", tokenUri: TOKEN_URI, expiresAt, tokenResponse: { access_token: "old", scope: "launch offline_access", ...(refresh ? { refresh_token: "r1" } : {}) } },
  };
}

const request = new Request("http://app.test/api/patients/p1", { headers: { cookie: `ejm_session=${"s".repeat(43)}` } });

function tokenEndpoint(status = 200): typeof fetch & { calls: Array<{ headers: Headers; body: URLSearchParams }> } {
  const calls: Array<{ headers: Headers; body: URLSearchParams }> = [];
  const f = (async (_url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ headers: new Headers(init?.headers), body: new URLSearchParams(String(init?.body)) });
    if (status !== 200) return new Response(JSON.stringify({ error: "invalid_grant" }), { status });
    return new Response(JSON.stringify({ access_token: "new", expires_in: 3600, refresh_token: "r2" }), { headers: { "content-type": "application/json" } });
  }) as typeof fetch & { calls: typeof calls };
  f.calls = calls;
  return f;
}

const deps = (store: SessionStore, fetchImpl: typeof fetch, config: SmartClientConfig = smartConfig({})) => ({ store, config, fetch: fetchImpl, nowSeconds: () => NOW });

describe("getSessionAccess", () => {
  it("uses the stored token while it has more than a minute left", async () => {
    const f = tokenEndpoint();
    const access = await getSessionAccess(request, deps(fakeStore(stateWith(NOW + 600)), f));
    expect(access).toMatchObject({ ok: true, accessToken: "old", refreshed: false });
    expect(f.calls).toHaveLength(0);
  });

  it("refreshes a token about to expire with the client secret, and stores the new tokens", async () => {
    const f = tokenEndpoint();
    const store = fakeStore(stateWith(NOW + 30));
    const access = await getSessionAccess(request, deps(store, f));
    expect(access).toMatchObject({ ok: true, accessToken: "new", refreshed: true, tokenExpiresAt: NOW + 3600 });
    expect(f.calls[0]!.headers.get("authorization")).toBe(`Basic ${Buffer.from("eczema-jak-monitor:sandbox-app-secret").toString("base64")}`);
    expect(f.calls[0]!.body.get("grant_type")).toBe("refresh_token");
    expect(f.calls[0]!.body.get("refresh_token")).toBe("r1");
    expect((store.saved[0]!.k1 as { tokenResponse: { refresh_token: string } }).tokenResponse.refresh_token).toBe("r2");
  });

  it("authenticates a refresh with a private_key_jwt assertion when configured with a key", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES384", { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: "ES384", kid: "k1" };
    const f = tokenEndpoint();
    const config = smartConfig({ SMART_CLIENT_PRIVATE_JWK: JSON.stringify(jwk) });
    await getSessionAccess(request, deps(fakeStore(stateWith(NOW + 30)), f, config));
    const body = f.calls[0]!.body;
    expect(f.calls[0]!.headers.get("authorization")).toBeNull();
    expect(body.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const { payload, protectedHeader } = await jwtVerify(body.get("client_assertion")!, publicKey, { audience: TOKEN_URI, issuer: "eczema-jak-monitor" });
    expect(payload.sub).toBe("eczema-jak-monitor");
    expect(protectedHeader.kid).toBe("k1");
  });

  it("sends client_id in the body for a public client", async () => {
    const f = tokenEndpoint();
    await getSessionAccess(request, deps(fakeStore(stateWith(NOW + 30)), f, smartConfig({ SMART_PUBLIC_CLIENT: "1" })));
    expect(f.calls[0]!.body.get("client_id")).toBe("eczema-jak-monitor");
    expect(f.calls[0]!.headers.get("authorization")).toBeNull();
  });

  it("forgets a refused refresh token and ends the session once the token has expired", async () => {
    const f = tokenEndpoint(400);
    const store = fakeStore(stateWith(NOW - 5));
    expect(await getSessionAccess(request, deps(store, f))).toEqual({ ok: false, error: "session-expired" });
    expect((store.saved[0]!.k1 as { tokenResponse: Record<string, unknown> }).tokenResponse.refresh_token).toBeUndefined();
  });

  it("keeps a still-valid token when a refresh fails, and has nothing to refresh without a refresh token", async () => {
    expect(await getSessionAccess(request, deps(fakeStore(stateWith(NOW + 30)), tokenEndpoint(400)))).toMatchObject({ ok: true, accessToken: "old" });
    const f = tokenEndpoint();
    expect(await getSessionAccess(request, deps(fakeStore(stateWith(NOW - 1, false)), f))).toEqual({ ok: false, error: "session-expired" });
    expect(f.calls).toHaveLength(0);
  });

  it("refreshes a token the server rejected early, but not one another request already replaced", async () => {
    const f = tokenEndpoint();
    expect(await getSessionAccess(request, deps(fakeStore(stateWith(NOW + 3000)), f), { rejectedToken: "old" })).toMatchObject({ ok: true, accessToken: "new" });
    const g = tokenEndpoint();
    expect(await getSessionAccess(request, deps(fakeStore(stateWith(NOW + 3000)), g), { rejectedToken: "older" })).toMatchObject({ ok: true, accessToken: "old" });
    expect(g.calls).toHaveLength(0);
  });

  it("reports no session without a cookie and an expired session row", async () => {
    expect(await getSessionAccess(new Request("http://app.test/"), deps(fakeStore({}), tokenEndpoint()))).toEqual({ ok: false, error: "no-session" });
    const store = fakeStore(stateWith(NOW + 600), { expired: true });
    expect(await getSessionAccess(request, deps(store, tokenEndpoint()))).toEqual({ ok: false, error: "session-expired" });
    expect(store.deleted).toHaveLength(1);
  });
});
