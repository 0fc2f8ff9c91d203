/**
 * OpenID Connect id_token verification at the SMART callback, before fhirUser is trusted: the signature against
 * the issuer's JWKS (jwks_uri from .well-known/smart-configuration, else openid-configuration), iss equal to the
 * issuer that configuration names, aud containing the client id (azp when several), exp (and iat present), and
 * the nonce the launch sent.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export type IdTokenProblem =
  | "no-issuer-metadata"
  | "keys-unreachable"
  | "bad-signature"
  | "wrong-issuer"
  | "wrong-audience"
  | "expired"
  | "nonce-mismatch"
  | "malformed";

export type IdTokenResult = { ok: true; claims: JWTPayload; fhirUser: string | null } | { ok: false; problem: IdTokenProblem };

export interface IdTokenCheck {
  idToken: string;
  /** The FHIR base the launch was made against (its .well-known documents name the issuer and jwks_uri). */
  fhirBase: string;
  clientId: string;
  /** The nonce sent in the authorize request; when set the id_token must carry the same. */
  nonce?: string | null;
  fetch?: typeof fetch;
  /** For metadata and JWKS requests; default 10 s. */
  timeoutMs?: number;
  /** Seconds of clock skew tolerated on exp/iat; default 60. */
  clockToleranceSeconds?: number;
}

export interface IssuerMetadata {
  issuer: string;
  jwksUri: string;
}

/** Only RSA and EC signatures: never "none" or an HMAC keyed with something public. */
const ALLOWED_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

async function getJson(url: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetchImpl(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    const body = (await res.json()) as unknown;
    return body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const wellKnown = (base: string, name: string): string => `${base.replace(/\/+$/, "")}/.well-known/${name}`;
const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/**
 * The issuer and jwks_uri: from smart-configuration (SMART App Launch 2 lists both when the server supports
 * sso-openid-connect), completed from the OpenID configuration of that issuer (or of the FHIR base); null when
 * neither names both.
 */
export async function issuerMetadata(fhirBase: string, fetchImpl: typeof fetch = fetch, timeoutMs = 10_000): Promise<IssuerMetadata | null> {
  const smart = await getJson(wellKnown(fhirBase, "smart-configuration"), fetchImpl, timeoutMs);
  let issuer = str(smart?.issuer);
  let jwksUri = str(smart?.jwks_uri);
  if (!issuer || !jwksUri) {
    const openid = await getJson(wellKnown(issuer ?? fhirBase, "openid-configuration"), fetchImpl, timeoutMs);
    const openidIssuer = str(openid?.issuer);
    // The OpenID document must be the issuer's own (OpenID Connect Discovery 4.3).
    if (openid && (!issuer || openidIssuer === issuer)) {
      issuer = issuer ?? openidIssuer;
      jwksUri = jwksUri ?? str(openid.jwks_uri);
    }
  }
  return issuer && jwksUri ? { issuer, jwksUri } : null;
}

/** Key sets by jwks_uri (jose caches the keys and refetches on an unknown kid), for the global fetch only. */
const keySets = new Map<string, JWTVerifyGetKey>();

function keySet(jwksUri: string, fetchImpl: typeof fetch | undefined, timeoutMs: number, fresh: boolean): JWTVerifyGetKey {
  const make = (): JWTVerifyGetKey =>
    createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: timeoutMs,
      ...(fetchImpl ? { [customFetch]: (url: string, init: RequestInit) => fetchImpl(url, init) } : {}),
    });
  if (fetchImpl) return make();
  let set = keySets.get(jwksUri);
  if (!set || fresh) {
    set = make();
    if (keySets.size > 100) keySets.clear();
    keySets.set(jwksUri, set);
  }
  return set;
}

/** "Practitioner/123" from a fhirUser (or older profile) claim that is an absolute or relative reference. */
export function fhirUserReference(claims: JWTPayload): string | null {
  const ref = typeof claims.fhirUser === "string" ? claims.fhirUser : typeof claims.profile === "string" ? claims.profile : null;
  if (!ref) return null;
  const parts = ref.split("/").filter(Boolean);
  return parts.length >= 2 ? parts.slice(-2).join("/") : null;
}

function problemOf(error: unknown): IdTokenProblem {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "wrong-issuer";
    if (error.claim === "aud") return "wrong-audience";
    if (error.claim === "exp" || error.claim === "iat" || error.claim === "nbf") return "expired";
    return "malformed";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JOSEAlgNotAllowed) return "bad-signature";
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return "keys-unreachable";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "malformed";
  // A JWKS fetch that failed (network, HTTP error) surfaces as a plain error.
  return "keys-unreachable";
}

/** Verifies the id_token; never throws. */
export async function verifyIdToken(check: IdTokenCheck): Promise<IdTokenResult> {
  const timeoutMs = check.timeoutMs ?? 10_000;
  const meta = await issuerMetadata(check.fhirBase, check.fetch ?? fetch, timeoutMs);
  if (!meta) return { ok: false, problem: "no-issuer-metadata" };
  const options = {
    issuer: meta.issuer,
    audience: check.clientId,
    algorithms: ALLOWED_ALGS,
    requiredClaims: ["exp", "iat", "sub"],
    clockTolerance: check.clockToleranceSeconds ?? 60,
  };
  const attempt = async (fresh: boolean): Promise<IdTokenResult> => {
    const { payload } = await jwtVerify(check.idToken, keySet(meta.jwksUri, check.fetch, timeoutMs, fresh), options);
    // OpenID Connect Core 3.1.3.7: with several audiences, azp must be this client.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== check.clientId) return { ok: false, problem: "wrong-audience" };
    if (check.nonce && payload.nonce !== check.nonce) return { ok: false, problem: "nonce-mismatch" };
    return { ok: true, claims: payload, fhirUser: fhirUserReference(payload) };
  };
  try {
    return await attempt(false);
  } catch (error) {
    const problem = problemOf(error);
    if (problem !== "bad-signature" || check.fetch) return { ok: false, problem };
    // The issuer may have rotated its keys under the same kid (a restarted server): one retry with fresh keys.
    try {
      return await attempt(true);
    } catch (again) {
      return { ok: false, problem: problemOf(again) };
    }
  }
}
