/**
 * SMART client configuration from the environment (documented in the README):
 *   SMART_CLIENT_ID            client id registered at the EHR (default "eczema-jak-monitor", the sandbox's)
 *   SMART_CLIENT_SECRET        confidential client secret (HTTP Basic at the token endpoint)
 *   SMART_CLIENT_PRIVATE_JWK   JSON private JWK (alg RS384 or ES384, with kid) for private_key_jwt instead of a secret
 *   SMART_CLIENT_JWKS_URL      optional jku sent with private_key_jwt assertions
 *   SMART_PUBLIC_CLIENT=1      public client (no secret, no key; PKCE only)
 *   SMART_ALLOWED_ISSUERS      comma-separated FHIR base URLs (exact, trailing slash ignored) or origins
 *                              ("https://fhir.example.org"); "*" allows any. Default: loopback only.
 *   SMART_SCOPES               overrides the requested scopes (space separated)
 *   SMART_REQUEST_WRITE_SCOPE  "0" (or false/off/no): an EHR launch does not ask for patient/Observation.c
 *                              (score capture off); default on
 *   SMART_PKCE                 "required" (default) | "ifSupported"
 *   APP_BASE_URL               public origin of the app when behind a proxy (redirect_uri = APP_BASE_URL/callback)
 *   SESSION_SECRET             32+ bytes for the token encryption key (see crypto.ts)
 *   SESSION_TTL_SECONDS        absolute session lifetime (default 28800 = 8 h)
 *   CLINIC_TIMEZONE            IANA zone for "today" (asOf), default UTC
 * Without SMART_CLIENT_SECRET, SMART_CLIENT_PRIVATE_JWK or SMART_PUBLIC_CLIENT, the sandbox's demo secret is used.
 */
export const SANDBOX_DEMO_SECRET = "sandbox-app-secret";

/**
 * Secrets come only from the environment in production: with NODE_ENV=production (and not the demo, EJM_DEMO=1)
 * a missing SESSION_SECRET or SMART client credential (SMART_CLIENT_SECRET, SMART_CLIENT_PRIVATE_JWK, or
 * SMART_PUBLIC_CLIENT=1) stops the app at startup with this error instead of a generated or demo secret, and so do
 * CDS clients without a configured public base (CDS_SERVICE_BASE_URL or APP_BASE_URL).
 */
export function productionSecretProblems(env: Record<string, string | undefined> = process.env): string[] {
  if (env.NODE_ENV !== "production" || env.EJM_DEMO === "1") return [];
  const problems: string[] = [];
  if (!env.SESSION_SECRET) problems.push("SESSION_SECRET is not set (32+ random bytes, the same on every instance)");
  else if (Buffer.byteLength(env.SESSION_SECRET, "utf8") < 32) problems.push("SESSION_SECRET is shorter than 32 bytes");
  const publicClient = env.SMART_PUBLIC_CLIENT === "1" || env.SMART_PUBLIC_CLIENT === "true";
  if (!publicClient && !env.SMART_CLIENT_SECRET && !env.SMART_CLIENT_PRIVATE_JWK) {
    problems.push("no SMART client credential: set SMART_CLIENT_SECRET or SMART_CLIENT_PRIVATE_JWK (or SMART_PUBLIC_CLIENT=1)");
  }
  // The CDS JWT's aud must equal the service URL: from configuration, never from the request's Host header.
  const cdsClients = Boolean(env.CDS_CLIENTS?.trim() || env.CDS_CLIENTS_FILE?.trim());
  if (cdsClients && !env.CDS_SERVICE_BASE_URL?.trim() && !env.APP_BASE_URL?.trim()) {
    problems.push("CDS_CLIENTS is set without CDS_SERVICE_BASE_URL or APP_BASE_URL (the public base the CDS JWT's aud is checked against)");
  }
  return problems;
}

export function assertProductionSecrets(env: Record<string, string | undefined> = process.env): void {
  const problems = productionSecretProblems(env);
  if (problems.length) throw new Error(`Refusing to start in production (NODE_ENV=production): ${problems.join("; ")}. Secrets are never generated outside the demo.`);
}

export const PATIENT_SCOPES = [
  "patient/Patient.rs",
  "patient/Observation.rs",
  "patient/MedicationStatement.rs",
  "patient/MedicationRequest.rs",
  "patient/MedicationDispense.rs",
  "patient/Medication.rs",
  "patient/Condition.rs",
  "patient/Immunization.rs",
  "patient/Procedure.rs",
] as const;

/** What the app reads to learn the user's role: the PractitionerRole(s) of the fhirUser (role-lookup.ts). */
export const ROLE_SCOPES = ["user/PractitionerRole.rs"] as const;

export interface SmartClientConfig {
  clientId: string;
  clientSecret?: string;
  privateJwk?: Record<string, unknown> & { alg: string; kid?: string };
  jwksUrl?: string;
  allowedIssuers: string[] | "*";
  /** Scope override; null: build from the server's scopes_supported. */
  scopes: string | null;
  /** EHR launch asks for patient/Observation.c (v1: .write) so scores can be recorded; SMART_REQUEST_WRITE_SCOPE=0 turns it off. */
  requestWriteScope: boolean;
  pkceMode: "required" | "ifSupported";
  appBaseUrl: string | null;
  sessionTtlSeconds: number;
}

export function smartConfig(env: Record<string, string | undefined> = process.env): SmartClientConfig {
  assertProductionSecrets(env);
  const publicClient = env.SMART_PUBLIC_CLIENT === "1" || env.SMART_PUBLIC_CLIENT === "true";
  let privateJwk: SmartClientConfig["privateJwk"];
  if (env.SMART_CLIENT_PRIVATE_JWK) {
    const parsed = JSON.parse(env.SMART_CLIENT_PRIVATE_JWK) as Record<string, unknown>;
    if (typeof parsed.alg !== "string") throw new Error("SMART_CLIENT_PRIVATE_JWK must carry alg (RS384 or ES384)");
    privateJwk = parsed as SmartClientConfig["privateJwk"];
  }
  const secret = env.SMART_CLIENT_SECRET || (publicClient || privateJwk ? undefined : SANDBOX_DEMO_SECRET);
  const issuers = (env.SMART_ALLOWED_ISSUERS ?? "").trim();
  return {
    clientId: env.SMART_CLIENT_ID || "eczema-jak-monitor",
    ...(secret ? { clientSecret: secret } : {}),
    ...(privateJwk ? { privateJwk } : {}),
    ...(env.SMART_CLIENT_JWKS_URL ? { jwksUrl: env.SMART_CLIENT_JWKS_URL } : {}),
    allowedIssuers: issuers === "*" ? "*" : issuers.split(",").map((s) => s.trim()).filter(Boolean),
    scopes: env.SMART_SCOPES?.trim() || null,
    requestWriteScope: !/^(0|false|off|no)$/i.test(env.SMART_REQUEST_WRITE_SCOPE?.trim() ?? ""),
    pkceMode: env.SMART_PKCE === "ifSupported" ? "ifSupported" : "required",
    appBaseUrl: env.APP_BASE_URL ? env.APP_BASE_URL.replace(/\/+$/, "") : null,
    sessionTtlSeconds: Number(env.SESSION_TTL_SECONDS) > 0 ? Number(env.SESSION_TTL_SECONDS) : 8 * 3600,
  };
}

const stripSlash = (s: string): string => s.replace(/\/+$/, "");

/**
 * Whether the app may launch against `iss`. Loopback issuers (the local sandbox) are allowed unless a list is
 * configured; a configured entry matches the exact base URL or, when it is a bare origin, any base on it.
 */
export function isIssuerAllowed(iss: string, allowed: SmartClientConfig["allowedIssuers"]): boolean {
  let url: URL;
  try {
    url = new URL(iss);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  if (url.username || url.password) return false;
  if (allowed === "*") return true;
  if (allowed.length === 0) return ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  const target = stripSlash(url.href);
  return allowed.some((entry) => {
    let e: URL;
    try {
      e = new URL(entry);
    } catch {
      return false;
    }
    if (e.pathname === "/" && !entry.replace(/^[a-z]+:\/\/[^/]+/i, "").replace(/\/$/, "")) return e.origin === url.origin;
    return stripSlash(e.href) === target;
  });
}

/**
 * The scopes asked for. EHR launch: `launch openid fhirUser`, patient-level read/search scopes (SMART v2 `.rs`;
 * v1-only servers get `.read`), `user/PractitionerRole.rs` (the role is read from the fhirUser's
 * PractitionerRole) and, unless turned off, `patient/Observation.c` (v1: `patient/Observation.write`) to record
 * scores: scopes_supported is not exhaustive (SMART App Launch 2), so the app asks and decides from the scope
 * the token response grants. Standalone launch is user level (clinic lead, quality analyst: no patient picker):
 * `openid fhirUser user/PractitionerRole.rs`. Both add offline_access or online_access when the server lists it.
 */
export function buildScopes(opts: {
  ehrLaunch: boolean;
  scopesSupported?: string[];
  capabilities?: string[];
  override?: string | null;
  /** Default true. */
  requestWriteScope?: boolean;
}): string {
  if (opts.override) return opts.override;
  const supported = opts.scopesSupported ?? [];
  const caps = opts.capabilities ?? [];
  const v1Only = caps.includes("permission-v1") && !caps.includes("permission-v2");
  const fmt = (s: string): string => (v1Only ? s.replace(/\.rs$/, ".read") : s);
  const scopes: string[] = opts.ehrLaunch
    ? ["launch", "openid", "fhirUser", ...PATIENT_SCOPES.map(fmt), ...ROLE_SCOPES.map(fmt)]
    : ["openid", "fhirUser", ...ROLE_SCOPES.map(fmt)];
  if (opts.ehrLaunch && opts.requestWriteScope !== false) scopes.push(v1Only ? "patient/Observation.write" : "patient/Observation.c");
  if (supported.includes("offline_access")) scopes.push("offline_access");
  else if (supported.includes("online_access") || supported.length === 0) scopes.push("online_access");
  return scopes.join(" ");
}
