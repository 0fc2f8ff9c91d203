/**
 * SMART App Launch, server side: GET /launch (EHR launch with iss and launch; standalone with iss only) and
 * GET /callback (the redirect_uri). fhirclient's core does the protocol (discovery, state, PKCE S256, code
 * exchange) through WebRequestAdapter; this module adds the issuer allow-list, the Postgres session and its
 * cookie, the launch context (patient, fhirUser, role) and the redirect to the user's landing page.
 */
import { authorize, ready } from "fhirclient/lib/smart";
import type { fhirclient } from "fhirclient/lib/types";
import { z } from "zod";
import { buildScopes, isIssuerAllowed, type SmartClientConfig } from "./config";
import { clearSessionCookie, readSessionId, sessionCookie } from "./cookies";
import { landingPath, parseRole, roleFromPractitionerRole, type AppRole } from "./roles";
import { SessionSmartStorage, type SessionStore } from "./session-store";
import { requestOrigin, WebRequestAdapter } from "./web-adapter";

export const SMART_KEY = "SMART_KEY";

export interface LaunchDeps {
  store: SessionStore;
  config: SmartClientConfig;
  /** PHI-free event log (counts, timings, outcomes). */
  log?: (event: string, fields: Record<string, string | number | boolean | null>) => void;
  /** Audit sink (launch outcomes); optional. */
  audit?: (entry: { actor: string; role: string | null; action: string; outcome: string; detail: Record<string, unknown> }) => Promise<void>;
  fetch?: typeof fetch;
}

export type RelaunchReason =
  | "missing-iss"
  | "issuer-not-allowed"
  | "discovery-failed"
  | "no-session"
  | "session-expired"
  | "auth-denied"
  | "auth-failed"
  | "no-patient";

/** Secrets handed to fhirclient from configuration (never persisted: session-store strips and re-injects them). */
export function configSecrets(config: SmartClientConfig): Record<string, unknown> {
  return {
    ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
    ...(config.privateJwk && !config.clientSecret ? { clientPrivateJwk: config.privateJwk } : {}),
  };
}

function appBase(request: Request, config: SmartClientConfig): string {
  return requestOrigin(request, config.appBaseUrl);
}

function redirectTo(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const c of cookies) headers.append("set-cookie", c);
  return new Response(null, { status: 302, headers });
}

export function relaunchRedirect(request: Request, config: SmartClientConfig, reason: RelaunchReason, cookies: string[] = []): Response {
  return redirectTo(`${appBase(request, config)}/relaunch?reason=${reason}`, cookies);
}

const launchQuery = z.object({
  iss: z.string().url().max(2048),
  launch: z.string().min(1).max(4096).optional(),
});

interface SmartConfiguration {
  scopes_supported?: string[];
  capabilities?: string[];
  code_challenge_methods_supported?: string[];
  authorization_endpoint?: string;
  token_endpoint?: string;
}

async function discover(iss: string, fetchImpl: typeof fetch): Promise<SmartConfiguration> {
  const res = await fetchImpl(`${iss.replace(/\/+$/, "")}/.well-known/smart-configuration`, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`smart-configuration: HTTP ${res.status}`);
  return (await res.json()) as SmartConfiguration;
}

/** GET /launch?iss=..[&launch=..] */
export async function handleLaunch(request: Request, deps: LaunchDeps): Promise<Response> {
  const started = performance.now();
  const { config, store } = deps;
  const url = new URL(request.url);
  const parsed = launchQuery.safeParse({ iss: url.searchParams.get("iss") ?? undefined, launch: url.searchParams.get("launch") ?? undefined });
  if (!parsed.success) return relaunchRedirect(request, config, "missing-iss");
  const { iss, launch } = parsed.data;
  if (!isIssuerAllowed(iss, config.allowedIssuers)) {
    deps.log?.("launch-refused", { reason: "issuer-not-allowed" });
    return relaunchRedirect(request, config, "issuer-not-allowed");
  }

  // A new launch replaces the browser's previous session (another patient, another user).
  const previous = readSessionId(request);
  if (previous) await store.delete(previous);
  void store.deleteExpired().catch(() => undefined);

  // smart-configuration gives scopes_supported for the scope list; without it fhirclient still finds the
  // endpoints in the CapabilityStatement (older servers), and fails the launch if neither exists.
  const discovery: SmartConfiguration = await discover(iss, deps.fetch ?? fetch).catch(() => ({}));

  const session = await store.create(config.sessionTtlSeconds, iss);
  const secure = new URL(appBase(request, config)).protocol === "https:";
  const cookie = sessionCookie(session.id, { maxAgeSeconds: config.sessionTtlSeconds, secure });
  const storage = new SessionSmartStorage(store, session, configSecrets(config));
  const adapter = new WebRequestAdapter({ request, storage, baseUrl: config.appBaseUrl });
  const scope = buildScopes({
    ehrLaunch: Boolean(launch),
    scopesSupported: discovery.scopes_supported,
    capabilities: discovery.capabilities,
    override: config.scopes,
  });
  try {
    await authorize(adapter as unknown as fhirclient.Adapter, {
      clientId: config.clientId,
      scope,
      redirectUri: `${appBase(request, config)}/callback`,
      pkceMode: config.pkceMode,
      ...configSecrets(config),
      ...(config.jwksUrl ? { clientPublicKeySetUrl: config.jwksUrl } : {}),
    } as fhirclient.AuthorizeParams);
  } catch {
    await store.delete(session.id);
    deps.log?.("launch-failed", { reason: "authorize-failed" });
    return relaunchRedirect(request, config, "discovery-failed", [clearSessionCookie(secure)]);
  }
  if (!adapter.redirectLocation) {
    await store.delete(session.id);
    return relaunchRedirect(request, config, "discovery-failed", [clearSessionCookie(secure)]);
  }
  deps.log?.("launch-redirect", { kind: launch ? "ehr" : "standalone", ms: Math.round(performance.now() - started) });
  return redirectTo(adapter.redirectLocation, [cookie]);
}

interface TokenResponseShape {
  access_token?: string;
  refresh_token?: string;
  scope?: string;
  patient?: string;
  id_token?: string;
  sandbox_role?: string;
  [key: string]: unknown;
}

interface ClientStateShape {
  serverUrl: string;
  tokenUri?: string;
  expiresAt?: number;
  tokenResponse?: TokenResponseShape;
  [key: string]: unknown;
}

/** The fhirUser claim as a relative reference ("Practitioner/123"), from the id_token (signature not checked here). */
export function fhirUserFromIdToken(idToken: string | undefined): string | null {
  if (!idToken) return null;
  const payload = idToken.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { fhirUser?: unknown; profile?: unknown };
    const ref = typeof claims.fhirUser === "string" ? claims.fhirUser : typeof claims.profile === "string" ? claims.profile : null;
    if (!ref) return null;
    return ref.split("/").slice(-2).join("/");
  } catch {
    return null;
  }
}

async function roleFromServer(state: ClientStateShape, practitioner: string | null, fetchImpl: typeof fetch): Promise<AppRole | null> {
  if (!practitioner?.startsWith("Practitioner/") || !state.tokenResponse?.access_token) return null;
  try {
    const base = state.serverUrl.replace(/\/+$/, "");
    const res = await fetchImpl(`${base}/PractitionerRole?practitioner=${encodeURIComponent(practitioner)}`, {
      headers: { accept: "application/fhir+json", authorization: `Bearer ${state.tokenResponse.access_token}` },
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) return null;
    const bundle = (await res.json()) as { entry?: Array<{ resource?: unknown }> };
    for (const e of bundle.entry ?? []) {
      const role = roleFromPractitionerRole(e.resource);
      if (role) return role;
    }
  } catch {
    // no role from the server: the caller falls back
  }
  return null;
}

/** GET /callback?code=..&state=.. (or ?error=..) */
export async function handleCallback(request: Request, deps: LaunchDeps): Promise<Response> {
  const started = performance.now();
  const { config, store } = deps;
  const secure = new URL(appBase(request, config)).protocol === "https:";
  const id = readSessionId(request);
  const session = id ? await store.load(id) : null;
  if (!session) return relaunchRedirect(request, config, "no-session", [clearSessionCookie(secure)]);
  if (session.expired) {
    await store.delete(session.id);
    return relaunchRedirect(request, config, "session-expired", [clearSessionCookie(secure)]);
  }
  const url = new URL(request.url);
  if (url.searchParams.get("error")) {
    await store.delete(session.id);
    deps.log?.("launch-failed", { reason: "auth-denied" });
    return relaunchRedirect(request, config, "auth-denied", [clearSessionCookie(secure)]);
  }
  // The state must be the one this session started; fhirclient looks it up in this session's storage only.
  const stateKey = url.searchParams.get("state");
  if (!stateKey || !url.searchParams.get("code") || session.data[SMART_KEY] !== stateKey) {
    deps.log?.("launch-failed", { reason: "state-mismatch" });
    return relaunchRedirect(request, config, "auth-failed");
  }

  const storage = new SessionSmartStorage(store, session, configSecrets(config));
  const adapter = new WebRequestAdapter({ request, storage, baseUrl: config.appBaseUrl });
  let state: ClientStateShape;
  try {
    const client = await ready(adapter as unknown as fhirclient.Adapter);
    state = client.state as unknown as ClientStateShape;
  } catch {
    await store.delete(session.id);
    deps.log?.("launch-failed", { reason: "token-exchange-failed" });
    return relaunchRedirect(request, config, "auth-failed", [clearSessionCookie(secure)]);
  }
  const tokens = state.tokenResponse ?? {};
  if (!tokens.access_token) {
    await store.delete(session.id);
    return relaunchRedirect(request, config, "auth-failed", [clearSessionCookie(secure)]);
  }

  const patientId = typeof tokens.patient === "string" && tokens.patient ? tokens.patient : null;
  const practitioner = fhirUserFromIdToken(tokens.id_token);
  let role = parseRole(tokens.sandbox_role);
  if (!role) role = await roleFromServer(state, practitioner, deps.fetch ?? fetch);
  if (!role && patientId) role = "dermatologist";
  await store.setContext(session.id, { patientId, practitionerId: practitioner, role, issuer: state.serverUrl });

  const location = landingPath(patientId, role);
  deps.log?.("launch-complete", { role, patientContext: Boolean(patientId), refresh: Boolean(tokens.refresh_token), ms: Math.round(performance.now() - started) });
  await deps.audit?.({ actor: practitioner ?? "unknown", role, action: "launch", outcome: "success", detail: { patientContext: Boolean(patientId), issuer: new URL(state.serverUrl).origin } }).catch(() => undefined);
  return redirectTo(location.startsWith("/") ? `${appBase(request, config)}${location}` : location);
}
