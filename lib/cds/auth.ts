/**
 * Trust in a CDS client (CDS Hooks 2.0 "Trusting CDS Clients"): every hook and feedback call carries
 * `Authorization: Bearer <JWT>` signed by the client. We accept it only when the issuer is allow-listed, the signature
 * verifies against that issuer's keys (its configured JWKS, or a `jku` JWKS URL the configuration allows for it), the
 * `aud` is the URL being called, `exp` is present and in the future (small clock skew), and the `jti` was not seen
 * before (stored until it expires). Anything else is a refusal with a PHI-free reason code.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from "jose";
import type { CdsClientConfig } from "./config";

/** Asymmetric algorithms only: a symmetric (HS*) or unsigned token can never pass. ES384 and RS384 are the spec's. */
export const CDS_JWT_ALGORITHMS = ["ES384", "RS384", "ES256", "ES512", "RS256", "RS512", "PS256", "PS384", "PS512", "EdDSA"] as const;

/** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. */
export const CDS_CLOCK_SKEW_SECONDS = 60;

/** A JWT valid for longer than this is refused: CDS client tokens are meant to live minutes (and jtis are kept until exp). */
export const CDS_MAX_TOKEN_LIFETIME_SECONDS = 3600;

export type CdsAuthFailure =
  | "missing-authorization"
  | "malformed-token"
  | "unknown-iss"
  | "jku-not-allowed"
  | "unsupported-alg"
  | "no-matching-key"
  | "key-unavailable"
  | "bad-signature"
  | "wrong-aud"
  | "missing-exp"
  | "expired"
  | "exp-too-far"
  | "not-yet-valid"
  | "missing-jti"
  | "replayed-jti";

export type CdsAuthResult = { ok: true; iss: string; jti: string; client: CdsClientConfig } | { ok: false; reason: CdsAuthFailure };

export interface VerifyCdsOptions {
  /** The URL being called (or the URLs accepted, e.g. a feedback URL and its service URL). */
  audience: string | readonly string[];
  clients: readonly CdsClientConfig[];
  /** Records the jti; true when it was new, false when it was seen before (a replay). */
  seenJti: (iss: string, jti: string, expiresAt: Date) => Promise<boolean>;
  now?: Date;
  /** For fetching remote JWKS (tests; default global fetch). */
  fetch?: typeof fetch;
}

const stripSlash = (value: string): string => value.replace(/\/+$/, "");

// Remote key sets are cached per URL (jose keeps the keys and refetches on an unknown kid, with a cooldown).
const remoteSets = new Map<string, JWTVerifyGetKey>();

function remoteKeySet(url: string, fetchImpl?: typeof fetch): JWTVerifyGetKey {
  const cacheKey = fetchImpl ? null : url;
  const cached = cacheKey ? remoteSets.get(cacheKey) : undefined;
  if (cached) return cached;
  const set = createRemoteJWKSet(new URL(url), {
    timeoutDuration: 5000,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    ...(fetchImpl ? { [customFetch]: fetchImpl } : {}),
  });
  if (cacheKey) remoteSets.set(cacheKey, set);
  return set;
}

const localSets = new WeakMap<object, JWTVerifyGetKey>();

function localKeySet(client: CdsClientConfig): JWTVerifyGetKey {
  const jwks = client.jwks!;
  let set = localSets.get(jwks);
  if (!set) {
    set = createLocalJWKSet(jwks);
    localSets.set(jwks, set);
  }
  return set;
}

/** "Bearer <token>" (scheme case-insensitive) -> the token, or null. */
export function bearerToken(authorization: string | null): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ \t]+([A-Za-z0-9_\-.~+/]+=*)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

function keySource(client: CdsClientConfig, header: ProtectedHeaderParameters, fetchImpl?: typeof fetch): JWTVerifyGetKey | CdsAuthFailure {
  if (header.jku !== undefined) {
    const allowed = (client.jkuAllow ?? []).some((url) => url === header.jku);
    return allowed ? remoteKeySet(header.jku, fetchImpl) : "jku-not-allowed";
  }
  if (client.jwks) return localKeySet(client);
  if (client.jwksUrl) return remoteKeySet(client.jwksUrl, fetchImpl);
  return "no-matching-key";
}

function failureOf(error: unknown): CdsAuthFailure {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return "wrong-aud";
    if (error.claim === "iss") return "unknown-iss";
    if (error.claim === "exp") return "missing-exp";
    if (error.claim === "jti") return "missing-jti";
    if (error.claim === "nbf" || error.claim === "iat") return "not-yet-valid";
    return "malformed-token";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad-signature";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return "unsupported-alg";
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return "no-matching-key";
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return "key-unavailable";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSEError) {
    // A bare JOSEError is what jose throws when a JWKS URL does not answer 200.
    return error.constructor === errors.JOSEError ? "key-unavailable" : "malformed-token";
  }
  // Not a JOSE error: the key set's fetch failed (network).
  return "key-unavailable";
}

/** Verifies a CDS client's bearer JWT; on success the jti has been recorded (a second use is a replay). */
export async function verifyCdsRequest(authorization: string | null, opts: VerifyCdsOptions): Promise<CdsAuthResult> {
  const token = bearerToken(authorization);
  if (!token) return { ok: false, reason: "missing-authorization" };
  let header: ProtectedHeaderParameters;
  let claimedIss: unknown;
  try {
    header = decodeProtectedHeader(token);
    claimedIss = decodeJwt(token).iss;
  } catch {
    return { ok: false, reason: "malformed-token" };
  }
  if (typeof claimedIss !== "string") return { ok: false, reason: "unknown-iss" };
  const client = opts.clients.find((c) => c.iss === stripSlash(claimedIss as string));
  if (!client) return { ok: false, reason: "unknown-iss" };
  if (typeof header.alg !== "string" || !(CDS_JWT_ALGORITHMS as readonly string[]).includes(header.alg)) return { ok: false, reason: "unsupported-alg" };
  const keys = keySource(client, header, opts.fetch);
  if (typeof keys === "string") return { ok: false, reason: keys };

  const now = opts.now ?? new Date();
  let payload: { exp?: number; jti?: string };
  try {
    const verified = await jwtVerify(token, keys, {
      issuer: claimedIss,
      audience: [...(typeof opts.audience === "string" ? [opts.audience] : opts.audience)],
      algorithms: [...CDS_JWT_ALGORITHMS],
      requiredClaims: ["exp", "jti"],
      clockTolerance: CDS_CLOCK_SKEW_SECONDS,
      currentDate: now,
    });
    payload = verified.payload;
  } catch (error) {
    return { ok: false, reason: failureOf(error) };
  }
  if (typeof payload.exp !== "number") return { ok: false, reason: "missing-exp" };
  if (payload.exp - now.getTime() / 1000 > CDS_MAX_TOKEN_LIFETIME_SECONDS) return { ok: false, reason: "exp-too-far" };
  if (typeof payload.jti !== "string" || payload.jti.length === 0 || payload.jti.length > 256) return { ok: false, reason: "missing-jti" };
  // Recorded only after the signature verified, so forged tokens cannot fill the table.
  const fresh = await opts.seenJti(client.iss, payload.jti, new Date(payload.exp * 1000));
  if (!fresh) return { ok: false, reason: "replayed-jti" };
  return { ok: true, iss: client.iss, jti: payload.jti, client };
}
