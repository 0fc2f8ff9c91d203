/**
 * The CDS service's configuration (documented in the README):
 *   CDS_CLIENTS            JSON array of the CDS clients (EHRs) allowed to call: [{ "iss", "jwksUrl"?, "jwks"?,
 *                          "jkuAllow"?, "fhirServerAllow"? }]
 *   CDS_CLIENTS_FILE       a file holding that array (or { "clients": [...] }), read when CDS_CLIENTS is unset
 *   CDS_SERVICE_BASE_URL   the app's public base for the service URLs (the JWT `aud` is
 *                          `${base}/cds-services/${id}`); else APP_BASE_URL, else the request's origin
 *   APP_BASE_URL           also the base of the app's SMART launch URL in cards (`${base}/launch`)
 * Each client needs a way to find its keys: `jwks` (inline public keys), `jwksUrl`, or a `jkuAllow` list of JWKS URLs
 * the client may name in its JWT header; `fhirServerAllow` the FHIR bases the service may read for it (default: the
 * origin of its `iss`). Without any client every hook call is refused (401).
 */
import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { requestOrigin } from "../smart/web-adapter";

export interface CdsClientConfig {
  /** The JWT `iss` the client signs with (usually its origin), matched exactly (a trailing slash ignored). */
  iss: string;
  /** Where the client publishes its public keys. */
  jwksUrl?: string;
  /** The client's public keys, inline. */
  jwks?: JSONWebKeySet;
  /** JWKS URLs the client may name in the JWT's `jku` header; any other `jku` is refused. */
  jkuAllow?: string[];
  /**
   * FHIR base URLs (prefixes) the service may call for this client; absent: only a fhirServer on the origin of the
   * client's `iss` (an EHR whose FHIR server lives elsewhere lists it here).
   */
  fhirServerAllow?: string[];
}

export class CdsConfigError extends Error {
  override readonly name = "CdsConfigError";
}

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const publicJwkSchema = z
  .object({ kty: z.string().min(1) }, { error: "must be a JWK object" })
  .passthrough()
  .refine((jwk) => !("d" in jwk) && !("k" in jwk), "must be a public key (no private or symmetric key material)");

const clientSchema = z
  .object({
    iss: z.string().trim().min(1, "is required"),
    jwksUrl: httpUrl.optional(),
    jwks: z.object({ keys: z.array(publicJwkSchema).min(1, "needs at least one key") }, { error: "must be a JWK Set ({ keys: [...] })" }).optional(),
    jkuAllow: z.array(httpUrl).optional(),
    fhirServerAllow: z.array(httpUrl).optional(),
  })
  .strict()
  .refine((c) => c.jwksUrl !== undefined || c.jwks !== undefined || (c.jkuAllow?.length ?? 0) > 0, "needs jwksUrl, jwks or jkuAllow (where to find the client's keys)");

const stripSlash = (value: string): string => value.replace(/\/+$/, "");

/** Validates a parsed client list; throws CdsConfigError naming the field at fault. */
export function parseCdsClients(value: unknown, field = "CDS_CLIENTS"): CdsClientConfig[] {
  const list = Array.isArray(value) ? value : value && typeof value === "object" && Array.isArray((value as { clients?: unknown }).clients) ? (value as { clients: unknown[] }).clients : null;
  if (!list) throw new CdsConfigError(`${field}: must be a JSON array of clients (or { "clients": [...] })`);
  const seen = new Set<string>();
  return list.map((entry, index) => {
    const parsed = clientSchema.safeParse(entry);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((issue) => [issue.path.join("."), issue.message].filter(Boolean).join(" ")).join("; ");
      throw new CdsConfigError(`${field}[${index}]: ${detail}`);
    }
    const iss = stripSlash(parsed.data.iss);
    if (seen.has(iss)) throw new CdsConfigError(`${field}[${index}].iss: ${iss} is listed twice`);
    seen.add(iss);
    return {
      iss,
      ...(parsed.data.jwksUrl ? { jwksUrl: parsed.data.jwksUrl } : {}),
      ...(parsed.data.jwks ? { jwks: parsed.data.jwks as JSONWebKeySet } : {}),
      ...(parsed.data.jkuAllow ? { jkuAllow: parsed.data.jkuAllow } : {}),
      ...(parsed.data.fhirServerAllow ? { fhirServerAllow: parsed.data.fhirServerAllow.map(stripSlash) } : {}),
    };
  });
}

function parseJsonText(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CdsConfigError(`${field}: is not valid JSON`);
  }
}

const cache = new Map<string, CdsClientConfig[]>();

/** The allowed CDS clients from CDS_CLIENTS or CDS_CLIENTS_FILE (none when neither is set); parsed once per value. */
export function cdsClientsFromEnv(env: Record<string, string | undefined> = process.env): CdsClientConfig[] {
  const inline = env.CDS_CLIENTS?.trim();
  const file = env.CDS_CLIENTS_FILE?.trim();
  const key = inline ? `inline:${inline}` : file ? `file:${file}` : "none";
  const hit = cache.get(key);
  if (hit) return hit;
  let clients: CdsClientConfig[] = [];
  if (inline) clients = parseCdsClients(parseJsonText(inline, "CDS_CLIENTS"), "CDS_CLIENTS");
  else if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw new CdsConfigError(`CDS_CLIENTS_FILE: cannot read ${file}`);
    }
    clients = parseCdsClients(parseJsonText(text, "CDS_CLIENTS_FILE"), "CDS_CLIENTS_FILE");
  }
  cache.set(key, clients);
  return clients;
}

/** The base the service URLs hang from: CDS_SERVICE_BASE_URL, else APP_BASE_URL, else the request's origin. */
export function cdsServiceBase(request: Request, env: Record<string, string | undefined> = process.env): string {
  const configured = env.CDS_SERVICE_BASE_URL?.trim() || env.APP_BASE_URL?.trim();
  if (configured) return stripSlash(configured);
  return requestOrigin(request, null);
}

/** The URL of one service: what the client calls and the JWT's `aud` must equal. */
export function cdsServiceUrl(base: string, serviceId: string): string {
  return `${stripSlash(base)}/cds-services/${serviceId}`;
}

/** The app's SMART launch URL for card links: `${APP_BASE_URL or the request origin}/launch`. */
export function cdsAppLaunchUrl(request: Request, env: Record<string, string | undefined> = process.env): string {
  const base = env.APP_BASE_URL?.trim();
  return `${base ? stripSlash(base) : requestOrigin(request, null)}/launch`;
}

/**
 * Whether the service may call `fhirServer` for this client (with the client's own authorisation): a URL under one of
 * its `fhirServerAllow` prefixes, or without that list one on the origin of its `iss`. Never any URL a signed body
 * names: the service would make requests wherever a client (or a stolen client key) pointed it.
 */
export function fhirServerAllowed(client: CdsClientConfig, fhirServer: string): boolean {
  const target = stripSlash(fhirServer);
  if (client.fhirServerAllow) return client.fhirServerAllow.some((prefix) => target === prefix || target.startsWith(`${prefix}/`));
  const origin = (url: string): string | null => {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.origin : null;
    } catch {
      return null;
    }
  };
  const issOrigin = origin(client.iss);
  return issOrigin !== null && origin(target) === issOrigin;
}
