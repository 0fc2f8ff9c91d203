/**
 * OpenID Connect id_token verification at the SMART callback, before fhirUser is trusted: the signature against
 * the issuer's JWKS (jwks_uri from .well-known/smart-configuration, else openid-configuration), iss equal to the
 * issuer that configuration names, aud containing the client id (azp when several), exp (and iat present), and
 * the nonce the launch sent. The documents and the key set are read with the launch's retries (launch-http.ts).
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { LAUNCH_HTTP_DEFAULTS, launchHttpFailure, launchRequester, type LaunchHttpOptions } from "./launch-http";

export type IdTokenProblem =
  | "no-issuer-metadata"
  /** The issuer's documents or key set did not answer usefully (no answer, 429, 5xx), after retries. */
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
  /** Retries and per-attempt timeout of the metadata and JWKS requests (launch-http.ts; 429, 503, no answer retried). */
  http?: LaunchHttpOptions;
  /** Seconds of clock skew tolerated on exp/iat; default 60. */
  clockToleranceSeconds?: number;
}

export interface IssuerMetadata {
  issuer: string;
  jwksUri: string;
}

/** Only RSA and EC signatures: never "none" or an HMAC keyed with something public. */
const ALLOWED_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

/** A JSON object from `url` (retried), null when it answered something else; unavailable when it did not answer usefully. */
async function getJson(url: string, fetchImpl: typeof fetch, http: LaunchHttpOptions): Promise<{ doc: Record<string, unknown> | null; unavailable: boolean }> {
  try {
    const body = await launchRequester(url, { fetch: fetchImpl, http, accept: "application/json" }).get<unknown>(url);
    return { doc: body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null, unavailable: false };
  } catch (error) {
    return { doc: null, unavailable: launchHttpFailure(error).unavailable };
  }
}

const wellKnown = (base: string, name: string): string => `${base.replace(/\/+$/, "")}/.well-known/${name}`;
const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/** The issuer's metadata, "unavailable" when its documents did not answer usefully, null when they named no keys. */
async function readIssuerMetadata(fhirBase: string, fetchImpl: typeof fetch, http: LaunchHttpOptions): Promise<IssuerMetadata | "unavailable" | null> {
  const smart = await getJson(wellKnown(fhirBase, "smart-configuration"), fetchImpl, http);
  let issuer = str(smart.doc?.issuer);
  let jwksUri = str(smart.doc?.jwks_uri);
  let unavailable = smart.unavailable;
  if (!issuer || !jwksUri) {
    const openid = await getJson(wellKnown(issuer ?? fhirBase, "openid-configuration"), fetchImpl, http);
    unavailable ||= openid.unavailable;
    const openidIssuer = str(openid.doc?.issuer);
    // The OpenID document must be the issuer's own (OpenID Connect Discovery 4.3).
    if (openid.doc && (!issuer || openidIssuer === issuer)) {
      issuer = issuer ?? openidIssuer;
      jwksUri = jwksUri ?? str(openid.doc.jwks_uri);
    }
  }
  if (issuer && jwksUri) return { issuer, jwksUri };
  return unavailable ? "unavailable" : null;
}

/**
 * The issuer and jwks_uri: from smart-configuration (SMART App Launch 2 lists both when the server supports
 * sso-openid-connect), completed from the OpenID configuration of that issuer (or of the FHIR base); null when
 * neither names both, or neither answered.
 */
export async function issuerMetadata(fhirBase: string, fetchImpl: typeof fetch = fetch, http: LaunchHttpOptions = {}): Promise<IssuerMetadata | null> {
  const meta = await readIssuerMetadata(fhirBase, fetchImpl, http);
  return meta === "unavailable" ? null : meta;
}

/** Key sets by jwks_uri (jose caches the keys and refetches on an unknown kid), for the global fetch only. */
const keySets = new Map<string, JWTVerifyGetKey>();

function keySet(jwksUri: string, fetchImpl: typeof fetch | undefined, http: LaunchHttpOptions, fresh: boolean): JWTVerifyGetKey {
  // The key set is read through the launch's retrying requester (no redirects followed, as jose does); jose's own
  // timeout then only bounds the whole, retries included.
  const retrying = async (url: string): Promise<Response> =>
    Response.json(await launchRequester(url, { http, accept: "application/json, application/jwk-set+json", noRedirects: true, ...(fetchImpl ? { fetch: fetchImpl } : {}) }).get<unknown>(url));
  const attempts = (http.maxRetries ?? LAUNCH_HTTP_DEFAULTS.maxRetries) + 1;
  const make = (): JWTVerifyGetKey =>
    createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: attempts * (http.timeoutMs ?? LAUNCH_HTTP_DEFAULTS.timeoutMs) + attempts * (http.maxRetryAfterMs ?? LAUNCH_HTTP_DEFAULTS.maxRetryAfterMs),
      [customFetch]: retrying,
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
  const http = check.http ?? {};
  const meta = await readIssuerMetadata(check.fhirBase, check.fetch ?? fetch, http);
  // Documents the EHR could not serve are an outage (like its keys), not a server without keys.
  if (meta === "unavailable") return { ok: false, problem: "keys-unreachable" };
  if (!meta) return { ok: false, problem: "no-issuer-metadata" };
  const options = {
    issuer: meta.issuer,
    audience: check.clientId,
    algorithms: ALLOWED_ALGS,
    requiredClaims: ["exp", "iat", "sub"],
    clockTolerance: check.clockToleranceSeconds ?? 60,
  };
  const attempt = async (fresh: boolean): Promise<IdTokenResult> => {
    const { payload } = await jwtVerify(check.idToken, keySet(meta.jwksUri, check.fetch, http, fresh), options);
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
