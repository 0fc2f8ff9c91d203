import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { fhirUserReference, issuerMetadata, verifyIdToken, type IdTokenProblem } from "./id-token";

const FHIR = "https://ehr.test/fhir";
const ISSUER = "https://ehr.test/fhir";
const JWKS = "https://ehr.test/auth/jwks";
let privateKey: CryptoKey;
let jwks: { keys: object[] };

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" }] };
});

/** An EHR whose smart-configuration names `smart` fields and whose openid-configuration names `openid` ones. */
function ehr(smart: Record<string, unknown> = { issuer: ISSUER, jwks_uri: JWKS }, openid: Record<string, unknown> | null = null): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url === `${FHIR}/.well-known/smart-configuration`) return Response.json(smart);
    if (url.endsWith("/.well-known/openid-configuration") && openid) return Response.json(openid);
    if (url === JWKS) return Response.json(jwks);
    return new Response("not found", { status: 404 });
  }) as typeof fetch;
}

function sign(claims: JWTPayload, opts: { iss?: string; aud?: string | string[]; exp?: string | number } = {}): Promise<string> {
  return new SignJWT({ fhirUser: `${FHIR}/Practitioner/dr1`, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(opts.iss ?? ISSUER)
    .setSubject("dr1")
    .setAudience(opts.aud ?? "app")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "5m")
    .sign(privateKey);
}

describe("verifyIdToken", () => {
  it("accepts a token signed by the issuer's key for this client and gives fhirUser as a relative reference", async () => {
    const result = await verifyIdToken({ idToken: await sign({ nonce: "n1" }), fhirBase: FHIR, clientId: "app", nonce: "n1", fetch: ehr() });
    expect(result).toMatchObject({ ok: true, fhirUser: "Practitioner/dr1" });
  });

  const refusals: Array<[IdTokenProblem, () => Promise<string>, { nonce?: string }]> = [
    ["wrong-issuer", () => sign({}, { iss: "https://evil.test/fhir" }), {}],
    ["wrong-audience", () => sign({}, { aud: "other-app" }), {}],
    ["wrong-audience", () => sign({ azp: "other-app" }, { aud: ["app", "other-app"] }), {}],
    ["expired", () => sign({}, { exp: Math.floor(Date.now() / 1000) - 600 }), {}],
    ["nonce-mismatch", () => sign({ nonce: "n2" }), { nonce: "n1" }],
    ["nonce-mismatch", () => sign({}), { nonce: "n1" }],
    ["malformed", async () => "not.a.jwt", {}],
  ];
  it.each(refusals)("refuses with %s", async (problem, token, extra) => {
    const result = await verifyIdToken({ idToken: await token(), fhirBase: FHIR, clientId: "app", fetch: ehr(), ...extra });
    expect(result).toEqual({ ok: false, problem });
  });

  it("refuses a token signed by another key, and an unsigned one (alg none)", async () => {
    const other = await generateKeyPair("RS256");
    const forged = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(ISSUER).setSubject("x").setAudience("app").setIssuedAt().setExpirationTime("5m").sign(other.privateKey);
    expect(await verifyIdToken({ idToken: forged, fhirBase: FHIR, clientId: "app", fetch: ehr() })).toEqual({ ok: false, problem: "bad-signature" });
    const [, payload] = (await sign({})).split(".");
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`;
    expect((await verifyIdToken({ idToken: unsigned, fhirBase: FHIR, clientId: "app", fetch: ehr() })).ok).toBe(false);
  });

  it("refuses when no configuration names the issuer's keys", async () => {
    const result = await verifyIdToken({ idToken: await sign({}), fhirBase: FHIR, clientId: "app", fetch: ehr({ authorization_endpoint: "x" }) });
    expect(result).toEqual({ ok: false, problem: "no-issuer-metadata" });
  });
});

describe("issuerMetadata", () => {
  it("completes a smart-configuration without jwks_uri from the issuer's OpenID configuration", async () => {
    expect(await issuerMetadata(FHIR, ehr({ issuer: ISSUER }, { issuer: ISSUER, jwks_uri: JWKS }))).toEqual({ issuer: ISSUER, jwksUri: JWKS });
  });

  it("ignores an OpenID configuration that names another issuer", async () => {
    expect(await issuerMetadata(FHIR, ehr({ issuer: ISSUER }, { issuer: "https://evil.test", jwks_uri: JWKS }))).toBeNull();
  });
});

describe("fhirUserReference", () => {
  it("takes the last two segments of an absolute or relative reference, else null", () => {
    expect(fhirUserReference({ fhirUser: "https://ehr.test/fhir/Practitioner/dr1" })).toBe("Practitioner/dr1");
    expect(fhirUserReference({ fhirUser: "Practitioner/dr1" })).toBe("Practitioner/dr1");
    expect(fhirUserReference({ fhirUser: "dr1" })).toBeNull();
    expect(fhirUserReference({ sub: "x" })).toBeNull();
  });
});
