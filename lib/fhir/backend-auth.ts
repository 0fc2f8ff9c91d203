/**
 * SMART Backend Services: a system access token by the client_credentials grant, the client authenticating with a
 * private_key_jwt assertion signed by jose (RS384 or ES384). The token endpoint is discovered from the FHIR base
 * (.well-known/smart-configuration, else the CapabilityStatement's oauth-uris) unless configured. Tokens are cached
 * until a safety margin before expires_in, one token request in flight at a time; a caller that got a 401 hands the
 * token back with invalidate(). Failures are a BackendAuthError whose hint says what a person can do about it.
 */
import { randomUUID } from "node:crypto";
import { importJWK, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from "jose";
import { z } from "zod";
import { abortableSleep, backoffMs, retryAfterMs, TRANSIENT_STATUSES } from "./http-retry";

export interface BackendCredentials {
  clientId: string;
  /** Private JWK with kid; alg RS384 or ES384 (inferred from kty/crv when absent). */
  privateJwk: JWK;
  /** The app's public JWKS URL, sent as the assertion's jku header (must equal the URL registered at the EHR). */
  jwksUrl?: string;
  /** Space-separated scopes, e.g. "system/*.rs". */
  scope: string;
  /** Token endpoint; discovered from the FHIR base when absent. */
  tokenEndpoint?: string;
}

export interface BackendTokenProviderOptions {
  fetch?: typeof fetch;
  /** Seconds before expires_in at which a cached token is no longer handed out (default 60). */
  marginSeconds?: number;
  /** Retries of discovery and token requests after 429/502/503/504 or a network error (default 3). */
  maxRetries?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class BackendAuthError extends Error {
  override readonly name = "BackendAuthError";
  constructor(
    message: string,
    readonly status: number | null,
    /** What a clinic lead or administrator can do about it. */
    readonly hint: string,
    readonly oauthError?: string,
    /** True when the same request may succeed later without anyone changing anything (busy, unreachable). */
    readonly retryable: boolean = false,
  ) {
    super(message);
  }
}

const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const OAUTH_URIS_EXTENSION = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";
/** Assertion lifetime: SMART allows at most five minutes; one less leaves room for clock skew. */
const ASSERTION_LIFETIME_SECONDS = 240;
/** Backend Services tokens SHOULD last at most five minutes; assumed when expires_in is missing. */
const DEFAULT_EXPIRES_IN_SECONDS = 300;
const REQUEST_TIMEOUT_MS = 20_000;
const MAX_RETRY_AFTER_MS = 30_000;
const SUPPORTED_ALGORITHMS = ["RS384", "ES384"] as const;
type AssertionAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((type) => type.toLowerCase() === "bearer", "token_type must be Bearer"),
  expires_in: z.coerce.number().nonnegative().optional(),
  scope: z.string().optional(),
});
const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

/** The JWK's signing algorithm: its alg, else RS384 for RSA and ES384 for P-384 keys. */
function assertionAlgorithm(jwk: JWK): AssertionAlgorithm | null {
  const alg = jwk.alg ?? (jwk.kty === "RSA" ? "RS384" : jwk.kty === "EC" && jwk.crv === "P-384" ? "ES384" : undefined);
  return (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg ?? "") ? (alg as AssertionAlgorithm) : null;
}

/** The public members of each key (kty, crv, x, y / n, e, kid, alg, use): what the EHR registers. */
export function publicJwks(privateJwks: JWK[]): JSONWebKeySet {
  const keys = privateJwks.map((jwk) => {
    if (jwk.kty !== "RSA" && jwk.kty !== "EC" && jwk.kty !== "OKP") {
      throw new Error(`key ${jwk.kid ?? "(no kid)"} of type ${jwk.kty ?? "unknown"} has no public part`);
    }
    const publicKey: JWK = { kty: jwk.kty };
    for (const member of ["crv", "x", "y", "n", "e", "kid", "use"] as const) {
      if (jwk[member] !== undefined) publicKey[member] = jwk[member];
    }
    const alg = jwk.alg ?? assertionAlgorithm(jwk) ?? undefined;
    if (alg) publicKey.alg = alg;
    return publicKey;
  });
  return { keys } as JSONWebKeySet;
}

interface CachedToken {
  token: string;
  usableUntil: number;
}

export class BackendTokenProvider {
  private readonly fhirBase: string;
  private readonly fetchImpl: typeof fetch;
  private readonly marginSeconds: number;
  private readonly maxRetries: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private cached: CachedToken | null = null;
  private inFlight: Promise<string> | null = null;
  private discoveredEndpoint: string | undefined;
  private signingKey: Promise<{ key: CryptoKey | Uint8Array; alg: AssertionAlgorithm; kid: string }> | undefined;

  constructor(
    fhirBase: string,
    private readonly credentials: BackendCredentials,
    options: BackendTokenProviderOptions = {},
  ) {
    this.fhirBase = fhirBase.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? fetch;
    this.marginSeconds = Math.max(0, options.marginSeconds ?? 60);
    this.maxRetries = Math.max(0, options.maxRetries ?? 3);
    this.sleep = options.sleep ?? abortableSleep;
  }

  /** A valid access token: the cached one until the margin before expiry, else a new one (one request at a time). */
  async token(signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    if (this.cached && Date.now() < this.cached.usableUntil) return this.cached.token;
    // Callers share the one request; a caller's abort ends its wait, not the request the others wait for.
    this.inFlight ??= this.requestToken().finally(() => {
      this.inFlight = null;
    });
    return raceAbort(this.inFlight, signal);
  }

  /** The server refused this token (401): the next token() asks for a new one. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = null;
  }

  private async requestToken(): Promise<string> {
    const endpoint = await this.tokenEndpoint();
    const { key, alg, kid } = await this.key();
    const { clientId, scope, jwksUrl } = this.credentials;
    for (let attempt = 0; ; attempt++) {
      const now = Math.floor(Date.now() / 1000);
      // A fresh jti for every attempt: the EHR rejects a replayed assertion.
      const assertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg, kid, typ: "JWT", ...(jwksUrl ? { jku: jwksUrl } : {}) })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(endpoint)
        .setIssuedAt(now)
        .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
        .sign(key);
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        scope,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
      const requestedAt = Date.now();
      let response: Response;
      try {
        response = await this.fetchImpl(endpoint, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
          body: body.toString(),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch {
        if (attempt < this.maxRetries) {
          await this.sleep(backoffMs(attempt, 250, 5000));
          continue;
        }
        throw new BackendAuthError(
          `cannot reach the token endpoint ${endpoint}`,
          null,
          `The EHR's token endpoint ${endpoint} did not answer. Check the source's FHIR base URL and the network path to the EHR; the sync will try again later.`,
          undefined,
          true,
        );
      }
      if (response.ok) return this.accept(response, requestedAt);
      if (TRANSIENT_STATUSES.has(response.status) && attempt < this.maxRetries) {
        await response.body?.cancel();
        await this.sleep(retryAfterMs(response, MAX_RETRY_AFTER_MS) ?? backoffMs(attempt, 250, 5000));
        continue;
      }
      throw await this.tokenError(response, endpoint);
    }
  }

  private async accept(response: Response, requestedAt: number): Promise<string> {
    const parsed = tokenResponseSchema.safeParse(await response.json().catch(() => null));
    if (!parsed.success) {
      throw new BackendAuthError(
        "the token endpoint answered without a usable bearer access_token",
        response.status,
        "The EHR's token endpoint answered 200 but not with an OAuth token response. Check that the configured token endpoint is the EHR's OAuth token URL.",
      );
    }
    const expiresIn = parsed.data.expires_in ?? DEFAULT_EXPIRES_IN_SECONDS;
    // Counted from the request, not the answer, and never longer than half the lifetime for short-lived tokens.
    const usableSeconds = expiresIn > 2 * this.marginSeconds ? expiresIn - this.marginSeconds : expiresIn / 2;
    this.cached = { token: parsed.data.access_token, usableUntil: requestedAt + usableSeconds * 1000 };
    return parsed.data.access_token;
  }

  private async tokenError(response: Response, endpoint: string): Promise<BackendAuthError> {
    const text = await response.text().catch(() => "");
    let oauth: z.infer<typeof oauthErrorSchema> | undefined;
    try {
      const result = oauthErrorSchema.safeParse(JSON.parse(text));
      if (result.success) oauth = result.data;
    } catch {
      // not JSON
    }
    const { clientId, scope } = this.credentials;
    const jwksUrl = this.credentials.jwksUrl ?? "the app's /jwks.json";
    const kid = this.credentials.privateJwk.kid ?? "(none)";
    const description = oauth?.error_description ? `: ${oauth.error_description.slice(0, 300)}` : "";
    const message = `token request refused (HTTP ${response.status}${oauth ? `, ${oauth.error}` : ""})${description}`;
    const error = oauth?.error;
    let hint: string;
    let retryable = false;
    if (error === "invalid_client") {
      hint = `Register the app's public key (its JWKS URL ${jwksUrl}) for client id ${clientId} at the EHR, with key id ${kid}; if it is registered, check this server's clock (the signed assertion is valid for four minutes).`;
    } else if (error === "invalid_scope") {
      hint = `Ask the EHR administrator to allow the scopes "${scope}" for client id ${clientId}, or narrow the source's scope to what is allowed.`;
    } else if (error === "unauthorized_client") {
      hint = `The EHR does not let client id ${clientId} use SMART Backend Services (client_credentials); ask the EHR administrator to enable it.`;
    } else if (error === "unsupported_grant_type") {
      hint = `The token endpoint ${endpoint} does not offer client_credentials (SMART Backend Services); check the token endpoint or ask the EHR vendor.`;
    } else if (error === "invalid_grant") {
      hint = `The EHR rejected the signed assertion for client id ${clientId}; check this server's clock and that the registered key (key id ${kid}) is the one configured here.`;
    } else if (response.status === 404 || response.status === 405) {
      hint = `No token endpoint answers at ${endpoint}; check the source's FHIR base URL or its configured token endpoint.`;
    } else if (TRANSIENT_STATUSES.has(response.status) || response.status >= 500) {
      hint = "The EHR's token endpoint is busy or failing; the sync will try again later. If it persists, contact the EHR administrator.";
      retryable = true;
    } else {
      hint = `The EHR refused the token request for client id ${clientId}; check the app's registration (client id, public key, scopes) with the EHR administrator.`;
    }
    return new BackendAuthError(message, response.status, hint, error, retryable);
  }

  private key(): Promise<{ key: CryptoKey | Uint8Array; alg: AssertionAlgorithm; kid: string }> {
    this.signingKey ??= (async () => {
      const { privateJwk, clientId } = this.credentials;
      const alg = assertionAlgorithm(privateJwk);
      if (!alg) {
        throw new BackendAuthError(
          `the private key's algorithm ${privateJwk.alg ?? privateJwk.kty ?? "unknown"} is not RS384 or ES384`,
          null,
          `Configure an RS384 (RSA) or ES384 (P-384) private key for client id ${clientId}: SMART Backend Services accepts only those.`,
        );
      }
      if (!privateJwk.kid) {
        throw new BackendAuthError("the private key has no kid", null, `Give the private key for client id ${clientId} a kid equal to the one in the JWKS registered at the EHR.`);
      }
      if (!privateJwk.d) {
        throw new BackendAuthError("the configured key is a public key", null, `Configure the private key (with its "d" member) for client id ${clientId}; the EHR holds only the public one.`);
      }
      try {
        return { key: await importJWK(privateJwk, alg), alg, kid: privateJwk.kid };
      } catch {
        throw new BackendAuthError("the private key cannot be imported", null, `The private key for client id ${clientId} is not a valid ${alg} JWK; generate a new key pair and register its public key at the EHR.`);
      }
    })();
    // A bad key stays bad; a caller fixing the configuration builds a new provider.
    return this.signingKey;
  }

  private async tokenEndpoint(): Promise<string> {
    if (this.credentials.tokenEndpoint) return this.credentials.tokenEndpoint;
    if (this.discoveredEndpoint) return this.discoveredEndpoint;
    const smart = await this.getJson(`${this.fhirBase}/.well-known/smart-configuration`, "application/json");
    const fromSmart = typeof smart.body?.token_endpoint === "string" ? smart.body.token_endpoint : undefined;
    const fromMetadata = fromSmart ? undefined : oauthTokenUri((await this.getJson(`${this.fhirBase}/metadata`, "application/fhir+json")).body);
    const endpoint = fromSmart ?? fromMetadata;
    if (!endpoint || !/^https?:\/\//i.test(endpoint)) {
      throw new BackendAuthError(
        `no token endpoint found for ${this.fhirBase}`,
        smart.status,
        `The FHIR server at ${this.fhirBase} names no token endpoint (neither .well-known/smart-configuration nor the CapabilityStatement's oauth-uris). Check the source's FHIR base URL, or configure its token endpoint.`,
        undefined,
        smart.status === null || TRANSIENT_STATUSES.has(smart.status),
      );
    }
    this.discoveredEndpoint = endpoint;
    return endpoint;
  }

  /** GET with the transient retries; a body that is not a JSON object counts as none. */
  private async getJson(url: string, accept: string): Promise<{ status: number | null; body: Record<string, unknown> | null }> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { headers: { accept }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch {
        if (attempt < this.maxRetries) {
          await this.sleep(backoffMs(attempt, 250, 5000));
          continue;
        }
        return { status: null, body: null };
      }
      if (TRANSIENT_STATUSES.has(response.status) && attempt < this.maxRetries) {
        await response.body?.cancel();
        await this.sleep(retryAfterMs(response, MAX_RETRY_AFTER_MS) ?? backoffMs(attempt, 250, 5000));
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        return { status: response.status, body: null };
      }
      const body: unknown = await response.json().catch(() => null);
      return { status: response.status, body: body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null };
    }
  }
}

/** The token URI of the SMART oauth-uris security extension in a CapabilityStatement, if any. */
function oauthTokenUri(capabilityStatement: Record<string, unknown> | null): string | undefined {
  const rests = Array.isArray(capabilityStatement?.rest) ? (capabilityStatement.rest as unknown[]) : [];
  for (const rest of rests) {
    const extensions = (rest as { security?: { extension?: unknown } })?.security?.extension;
    if (!Array.isArray(extensions)) continue;
    for (const extension of extensions as { url?: unknown; extension?: unknown }[]) {
      if (extension?.url !== OAUTH_URIS_EXTENSION || !Array.isArray(extension.extension)) continue;
      const token = (extension.extension as { url?: unknown; valueUri?: unknown }[]).find((inner) => inner?.url === "token");
      if (typeof token?.valueUri === "string") return token.valueUri;
    }
  }
  return undefined;
}

/** Resolves like the promise, or rejects with the signal's reason when it aborts first. */
function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
