import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { bearerToken, verifyCdsRequest, type VerifyCdsOptions } from "./auth";
import type { CdsClientConfig } from "./config";

const ISS = "https://ehr.example.org";
const AUD = "https://app.example.org/cds-services/jak-monitor-patient-view";
const JKU = "https://ehr.example.org/cds-client/jwks.json";
const NOW = new Date("2026-11-01T10:00:00Z");
const nowSeconds = Math.floor(NOW.getTime() / 1000);

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
  alg: string;
}

async function keyPair(alg: "ES384" | "RS384", kid: string = randomUUID()): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" }, kid, alg };
}

let es: KeyPair;
let rs: KeyPair;
let impostor: KeyPair;
let jkuKey: KeyPair;

beforeAll(async () => {
  es = await keyPair("ES384");
  rs = await keyPair("RS384");
  jkuKey = await keyPair("ES384");
  // Another key pair claiming the registered key's kid: its signature must not verify.
  impostor = await keyPair("ES384", "placeholder");
});

function sign(key: KeyPair, payload: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ jti: randomUUID(), ...payload })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header })
    .setIssuer((payload.iss as string | undefined) ?? ISS)
    .setAudience((payload.aud as string | undefined) ?? AUD)
    .setIssuedAt(nowSeconds)
    .setExpirationTime((payload.exp as number | undefined) ?? nowSeconds + 300)
    .sign(key.privateKey);
}

function clients(): CdsClientConfig[] {
  return [{ iss: ISS, jwks: { keys: [es.publicJwk, rs.publicJwk] }, jkuAllow: [JKU] }];
}

function options(overrides: Partial<VerifyCdsOptions> = {}): VerifyCdsOptions & { seen: Set<string> } {
  const seen = new Set<string>();
  return {
    audience: AUD,
    clients: clients(),
    now: NOW,
    seenJti: async (iss, jti) => {
      const key = `${iss} ${jti}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
    seen,
    ...overrides,
  };
}

describe("bearerToken", () => {
  it("reads the token after Bearer, whatever the scheme's case", () => {
    expect(bearerToken("Bearer a.b.c")).toBe("a.b.c");
    expect(bearerToken("bearer a.b.c")).toBe("a.b.c");
  });

  it("gives null without a Bearer token", () => {
    expect(bearerToken(null)).toBeNull();
    expect(bearerToken("Basic dXNlcjpwYXNz")).toBeNull();
    expect(bearerToken("Bearer")).toBeNull();
  });
});

describe("verifyCdsRequest", () => {
  it("accepts an ES384 token from an allow-listed issuer, addressed to the service, and records its jti", async () => {
    const opts = options();
    const result = await verifyCdsRequest(`Bearer ${await sign(es)}`, opts);
    expect(result).toMatchObject({ ok: true, iss: ISS });
    expect(opts.seen.size).toBe(1);
  });

  it("accepts an RS384 token", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(rs)}`, options())).toMatchObject({ ok: true });
  });

  it("accepts an issuer written with a trailing slash", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(es, { iss: `${ISS}/` })}`, options())).toMatchObject({ ok: true, iss: ISS });
  });

  it("accepts one of several audiences (a feedback URL and its service URL)", async () => {
    const token = await sign(es, { aud: `${AUD}/feedback` });
    expect(await verifyCdsRequest(`Bearer ${token}`, options({ audience: [`${AUD}/feedback`, AUD] }))).toMatchObject({ ok: true });
  });

  it("refuses a request without Authorization", async () => {
    expect(await verifyCdsRequest(null, options())).toEqual({ ok: false, reason: "missing-authorization" });
  });

  it("refuses something that is not a JWT", async () => {
    expect(await verifyCdsRequest("Bearer not-a-jwt", options())).toEqual({ ok: false, reason: "malformed-token" });
  });

  it("refuses an issuer that is not allow-listed", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(es, { iss: "https://other.example.org" })}`, options())).toEqual({ ok: false, reason: "unknown-iss" });
  });

  it("refuses a token signed by another key under the registered kid (bad signature)", async () => {
    const token = await sign({ ...impostor, kid: es.kid });
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("refuses a token whose kid matches none of the client's keys", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(impostor)}`, options())).toEqual({ ok: false, reason: "no-matching-key" });
  });

  it("refuses a token addressed to another service (wrong aud)", async () => {
    const token = await sign(es, { aud: "https://app.example.org/cds-services/jak-monitor-order-sign" });
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toEqual({ ok: false, reason: "wrong-aud" });
  });

  it("refuses an expired token, beyond the clock skew", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(es, { exp: nowSeconds - 120 })}`, options())).toEqual({ ok: false, reason: "expired" });
  });

  it("tolerates a token that expired within the clock skew", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(es, { exp: nowSeconds - 10 })}`, options())).toMatchObject({ ok: true });
  });

  it("refuses a token valid for more than an hour", async () => {
    expect(await verifyCdsRequest(`Bearer ${await sign(es, { exp: nowSeconds + 7200 })}`, options())).toEqual({ ok: false, reason: "exp-too-far" });
  });

  it("refuses a token without exp", async () => {
    const token = await new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: "ES384", kid: es.kid }).setIssuer(ISS).setAudience(AUD).setIssuedAt(nowSeconds).sign(es.privateKey);
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toEqual({ ok: false, reason: "missing-exp" });
  });

  it("refuses a token without jti", async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: "ES384", kid: es.kid }).setIssuer(ISS).setAudience(AUD).setExpirationTime(nowSeconds + 300).sign(es.privateKey);
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toEqual({ ok: false, reason: "missing-jti" });
  });

  it("refuses the same token a second time (replayed jti)", async () => {
    const opts = options();
    const token = await sign(es);
    expect(await verifyCdsRequest(`Bearer ${token}`, opts)).toMatchObject({ ok: true });
    expect(await verifyCdsRequest(`Bearer ${token}`, opts)).toEqual({ ok: false, reason: "replayed-jti" });
  });

  it("does not record the jti of a token whose signature fails", async () => {
    const opts = options();
    await verifyCdsRequest(`Bearer ${await sign({ ...impostor, kid: es.kid })}`, opts);
    expect(opts.seen.size).toBe(0);
  });

  it("refuses a jku the configuration does not allow for the issuer", async () => {
    const token = await sign(jkuKey, {}, { jku: "https://attacker.example.net/jwks.json" });
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toEqual({ ok: false, reason: "jku-not-allowed" });
  });

  it("verifies against an allow-listed jku's key set", async () => {
    const requested: string[] = [];
    const fetchJwks = (async (url: string | URL | Request) => {
      requested.push(String(url));
      return new Response(JSON.stringify({ keys: [jkuKey.publicJwk] }), { status: 200, headers: { "content-type": "application/json" } });
    }) as typeof fetch;
    const token = await sign(jkuKey, {}, { jku: JKU });
    expect(await verifyCdsRequest(`Bearer ${token}`, options({ fetch: fetchJwks }))).toMatchObject({ ok: true });
    expect(requested).toEqual([JKU]);
  });

  it("refuses when the client's JWKS URL does not answer", async () => {
    const failing = (async () => new Response("down", { status: 503 })) as typeof fetch;
    const token = await sign(es);
    const result = await verifyCdsRequest(`Bearer ${token}`, options({ clients: [{ iss: ISS, jwksUrl: "https://ehr.example.org/keys" }], fetch: failing }));
    expect(result).toEqual({ ok: false, reason: "key-unavailable" });
  });

  it("refuses an HMAC-signed token even when it names a registered kid", async () => {
    const secret = new TextEncoder().encode("a-shared-secret-that-is-long-enough-for-hs256");
    const token = await new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: "HS256", kid: es.kid }).setIssuer(ISS).setAudience(AUD).setExpirationTime(nowSeconds + 300).sign(secret);
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toEqual({ ok: false, reason: "unsupported-alg" });
  });

  it("refuses an unsigned (alg none) token", async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const token = `${encode({ alg: "none", typ: "JWT" })}.${encode({ iss: ISS, aud: AUD, exp: nowSeconds + 300, jti: randomUUID() })}.`;
    expect(await verifyCdsRequest(`Bearer ${token}`, options())).toMatchObject({ ok: false });
  });
});
