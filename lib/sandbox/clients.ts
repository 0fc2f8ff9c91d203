import { readFileSync } from "node:fs";
import { timingSafeEqual, randomUUID } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import { z } from "zod";

/** A client registered with the sandbox's authorization server. */
export interface SandboxClient {
  clientId: string;
  /** Human-readable name shown on pages. */
  name?: string;
  /** Shared secret for client_secret_basic / client_secret_post (confidential symmetric client). */
  clientSecret?: string;
  /** Public keys for private_key_jwt: inline JWKS, an https/http URL, or a file path. */
  jwks?: JSONWebKeySet;
  jwksUrl?: string;
  jwksFile?: string;
  /** Allowed redirect URIs, matched by prefix; empty for backend services clients. */
  redirectUriPrefixes?: string[];
  /** Scopes the client may be granted; a "*" entry allows any well-formed scope. Defaults to all. */
  allowedScopes?: string[];
}

export const APP_CLIENT_ID = "eczema-jak-monitor";
export const BULK_CLIENT_ID = "eczema-jak-monitor-bulk";
export const DEMO_APP_CLIENT_SECRET = "sandbox-app-secret";
const DEFAULT_REDIRECT_PREFIXES = ["http://localhost:", "http://127.0.0.1:"];

/** Algorithms accepted for client assertions (SMART Backend Services requires RS384 and ES384). */
export const CLIENT_ASSERTION_ALGORITHMS = ["RS384", "ES384"];

const jwkSchema = z.object({ kty: z.string() }).passthrough();
const clientSchema = z.object({
  clientId: z.string().min(1),
  name: z.string().optional(),
  clientSecret: z.string().min(1).optional(),
  jwks: z.object({ keys: z.array(jwkSchema) }).optional(),
  jwksUrl: z.string().url().optional(),
  jwksFile: z.string().optional(),
  redirectUriPrefixes: z.array(z.string()).optional(),
  allowedScopes: z.array(z.string()).optional(),
});
const clientsFileSchema = z.union([z.array(clientSchema), z.object({ clients: z.array(clientSchema) })]);

/** Parses a clients file's JSON: either an array of clients or { clients: [...] }. */
export function parseClientsJson(text: string): SandboxClient[] {
  const parsed = clientsFileSchema.parse(JSON.parse(text));
  const list = Array.isArray(parsed) ? parsed : parsed.clients;
  return list.map((client) => ({ ...client, jwks: client.jwks as JSONWebKeySet | undefined }));
}

export interface DefaultClientEnv {
  SANDBOX_APP_CLIENT_SECRET?: string;
  SANDBOX_APP_REDIRECT_PREFIXES?: string;
  SANDBOX_APP_JWKS_URL?: string;
  SANDBOX_BULK_JWKS?: string;
  SANDBOX_BULK_JWKS_URL?: string;
  SANDBOX_BULK_JWKS_FILE?: string;
}

/**
 * The default registrations: the app's confidential client and its Backend Services client.
 * The bulk client has no keys unless configured; tests pass their own from createBackendClientKeys().
 */
export function defaultClients(env: DefaultClientEnv & Record<string, string | undefined> = {}): SandboxClient[] {
  const redirectUriPrefixes = env.SANDBOX_APP_REDIRECT_PREFIXES
    ? env.SANDBOX_APP_REDIRECT_PREFIXES.split(",").map((prefix) => prefix.trim()).filter(Boolean)
    : DEFAULT_REDIRECT_PREFIXES;
  const app: SandboxClient = {
    clientId: APP_CLIENT_ID,
    name: "Eczema JAK Monitor",
    clientSecret: env.SANDBOX_APP_CLIENT_SECRET ?? DEMO_APP_CLIENT_SECRET,
    redirectUriPrefixes,
    ...(env.SANDBOX_APP_JWKS_URL ? { jwksUrl: env.SANDBOX_APP_JWKS_URL } : {}),
  };
  const bulk: SandboxClient = {
    clientId: BULK_CLIENT_ID,
    name: "Eczema JAK Monitor (bulk sync)",
    redirectUriPrefixes: [],
    ...(env.SANDBOX_BULK_JWKS ? { jwks: JSON.parse(env.SANDBOX_BULK_JWKS) as JSONWebKeySet } : {}),
    ...(env.SANDBOX_BULK_JWKS_URL ? { jwksUrl: env.SANDBOX_BULK_JWKS_URL } : {}),
    ...(env.SANDBOX_BULK_JWKS_FILE ? { jwksFile: env.SANDBOX_BULK_JWKS_FILE } : {}),
  };
  return [app, bulk];
}

/** Replaces default clients by id with the given ones, keeping the rest. */
export function mergeClients(base: SandboxClient[], overrides: SandboxClient[]): SandboxClient[] {
  const byId = new Map(base.map((client) => [client.clientId, client]));
  for (const client of overrides) byId.set(client.clientId, client);
  return [...byId.values()];
}

export interface BackendClientKeys {
  /** Private JWK (with kid and alg) to sign client assertions. */
  privateJwk: JWK;
  /** Public JWKS to register with the sandbox. */
  publicJwks: JSONWebKeySet;
  kid: string;
  alg: "RS384" | "ES384";
}

/** Creates a key pair for private_key_jwt client authentication and the matching public JWKS. */
export async function createBackendClientKeys(alg: "RS384" | "ES384" = "ES384"): Promise<BackendClientKeys> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: "sig" };
  return { privateJwk, publicJwks: { keys: [publicJwk] }, kid, alg };
}

/** Registry of clients with their key resolvers, used by the token endpoint. */
export class ClientRegistry {
  private readonly clients = new Map<string, SandboxClient>();
  private readonly keyResolvers = new Map<string, JWTVerifyGetKey>();
  /** jti values seen in client assertions, with their expiry (epoch seconds), to reject replays. */
  private readonly seenAssertionIds = new Map<string, number>();

  constructor(clients: SandboxClient[]) {
    for (const client of clients) this.clients.set(client.clientId, client);
  }

  register(client: SandboxClient): void {
    this.clients.set(client.clientId, client);
    this.keyResolvers.delete(client.clientId);
  }

  get(clientId: string): SandboxClient | undefined {
    return this.clients.get(clientId);
  }

  list(): SandboxClient[] {
    return [...this.clients.values()];
  }

  isRedirectUriAllowed(client: SandboxClient, redirectUri: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(redirectUri);
    } catch {
      return false;
    }
    if (parsed.hash) return false;
    return (client.redirectUriPrefixes ?? []).some((prefix) => redirectUri.startsWith(prefix));
  }

  hasKeys(client: SandboxClient): boolean {
    return Boolean(client.jwks || client.jwksUrl || client.jwksFile);
  }

  checkSecret(client: SandboxClient, secret: string): boolean {
    if (!client.clientSecret) return false;
    const expected = Buffer.from(client.clientSecret);
    const given = Buffer.from(secret);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /**
   * Verifies a private_key_jwt client assertion (SMART Backend Services / RFC 7523):
   * signed by a registered key with RS384 or ES384, iss = sub = client_id, aud = token endpoint,
   * exp present and at most five minutes ahead, jti not seen before.
   */
  async verifyClientAssertion(assertion: string, tokenEndpoint: string): Promise<SandboxClient> {
    const unverifiedClaims = decodeJwtPayload(assertion);
    const clientId = typeof unverifiedClaims.iss === "string" ? unverifiedClaims.iss : "";
    const client = this.clients.get(clientId);
    if (!client || !this.hasKeys(client)) throw new Error("unknown client or client has no registered keys");
    const header = decodeProtectedHeader(assertion);
    if (!header.kid) throw new Error("client assertion header has no kid");
    // SMART: a jku header must be the JWKS URL registered for the client; keys are never fetched from elsewhere.
    if (header.jku !== undefined && header.jku !== client.jwksUrl) throw new Error("client assertion jku is not the registered JWKS URL");
    const { payload } = await jwtVerify(assertion, this.keyResolver(client), {
      algorithms: CLIENT_ASSERTION_ALGORITHMS,
      issuer: client.clientId,
      subject: client.clientId,
      audience: tokenEndpoint,
      requiredClaims: ["exp", "jti"],
    });
    const nowSeconds = Math.floor(Date.now() / 1000);
    if ((payload.exp ?? 0) > nowSeconds + 300) throw new Error("client assertion exp is more than five minutes ahead");
    for (const [jti, expiry] of this.seenAssertionIds) if (expiry < nowSeconds) this.seenAssertionIds.delete(jti);
    const jtiKey = `${client.clientId}:${String(payload.jti)}`;
    if (this.seenAssertionIds.has(jtiKey)) throw new Error("client assertion jti was already used");
    this.seenAssertionIds.set(jtiKey, payload.exp ?? nowSeconds + 300);
    return client;
  }

  private keyResolver(client: SandboxClient): JWTVerifyGetKey {
    const cached = this.keyResolvers.get(client.clientId);
    if (cached) return cached;
    let resolver: JWTVerifyGetKey;
    if (client.jwks) resolver = createLocalJWKSet(client.jwks);
    else if (client.jwksUrl) resolver = createRemoteJWKSet(new URL(client.jwksUrl));
    else if (client.jwksFile) resolver = createLocalJWKSet(JSON.parse(readFileSync(client.jwksFile, "utf8")) as JSONWebKeySet);
    else throw new Error("client has no registered keys");
    this.keyResolvers.set(client.clientId, resolver);
    return resolver;
  }
}

function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const [, payload] = jwt.split(".");
  if (!payload) throw new Error("malformed JWT");
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new Error("malformed JWT");
  }
}
