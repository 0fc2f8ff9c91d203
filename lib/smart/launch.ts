/**
 * SMART App Launch, server side: GET /launch (EHR launch with iss and launch; standalone with iss only) and
 * GET /callback (the redirect_uri). fhirclient's core does the protocol (discovery, state, PKCE S256, code
 * exchange) through WebRequestAdapter; this module adds the issuer allow-list, the Postgres session and its
 * cookie, the launch context (patient, fhirUser, role) and the redirect to the user's landing page.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { authorize, ready } from "fhirclient/lib/smart";
import type { fhirclient } from "fhirclient/lib/types";
import { z } from "zod";
import { auditOrigin } from "../audit/audit";
import { buildScopes, isIssuerAllowed, type SmartClientConfig } from "./config";
import { clearLaunchCookie, launchCookie, patientSessionCookieName, readLaunchSessionId, readSessionId, sessionCookie } from "./cookies";
import { fhirUserReference, verifyIdToken } from "./id-token";
import { decideLaunchRole, type AssignedRoleReader, type LaunchRoleProblem } from "./role-lookup";
import { landingPath, roleMappingFromEnv, type RoleMapping } from "./roles";
import { SessionSmartStorage, type SessionStore } from "./session-store";
import { requestOrigin, WebRequestAdapter } from "./web-adapter";

export const SMART_KEY = "SMART_KEY";
/** Session data key of the OpenID Connect nonce sent with the authorize request (checked in the id_token). */
export const ID_TOKEN_NONCE_KEY = "EJM_ID_TOKEN_NONCE";

export interface LaunchDeps {
  store: SessionStore;
  config: SmartClientConfig;
  /** PHI-free event log (counts, timings, outcomes). */
  log?: (event: string, fields: Record<string, string | number | boolean | null>) => void;
  /** Audit sink (launch outcomes); optional. */
  audit?: (entry: { actor: string; role: string | null; action: string; outcome: string; detail: Record<string, unknown>; origin?: string | null }) => Promise<void>;
  fetch?: typeof fetch;
  /** Role assignments made in the app (role_assignments), which override the EHR's role; none when absent. */
  assignedRole?: AssignedRoleReader;
  /** The site's PractitionerRole code mapping; default ROLE_MAPPING from the environment (read at each callback). */
  roleMapping?: () => RoleMapping;
}

export type RelaunchReason =
  | "missing-iss"
  | "issuer-not-allowed"
  | "discovery-failed"
  | "no-session"
  | "session-expired"
  | "auth-denied"
  | "auth-failed"
  | "no-patient"
  | "role-unavailable";

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

/** `extra` adds query parameters the relaunch page explains (e.g. detail, status); values are the app's own codes. */
export function relaunchRedirect(
  request: Request,
  config: SmartClientConfig,
  reason: RelaunchReason,
  cookies: string[] = [],
  extra: Record<string, string> = {},
): Response {
  const query = new URLSearchParams({ reason, ...extra });
  return redirectTo(`${appBase(request, config)}/relaunch?${query}`, cookies);
}

/**
 * The OAuth `state` of a launch: 256 bits from the CSPRNG, base64url (SMART App Launch 2 asks for at least 122
 * bits; fhirclient's default is 16 characters from Math.random).
 */
export function newLaunchState(): string {
  return randomBytes(32).toString("base64url");
}

/** Constant-time equality of the callback's state and the one this session started. */
function stateMatches(received: string | null, expected: unknown): boolean {
  if (!received || typeof expected !== "string" || !expected) return false;
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** An OAuth error code from the authorization server, kept only when it has the RFC 6749 shape (logs, page). */
function oauthErrorCode(value: string | null): string {
  return value && /^[a-z_]{1,64}$/.test(value) ? value : "unknown";
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

  // One session per launch: other tabs' launches live on (their cookies are keyed by state or patient).
  void store.deleteExpired().catch(() => undefined);

  // smart-configuration gives scopes_supported for the scope list; without it fhirclient still finds the
  // endpoints in the CapabilityStatement (older servers), and fails the launch if neither exists.
  const discovery: SmartConfiguration = await discover(iss, deps.fetch ?? fetch).catch(() => ({}));

  const session = await store.create(config.sessionTtlSeconds, iss);
  const secure = new URL(appBase(request, config)).protocol === "https:";
  const state = newLaunchState();
  const cookie = launchCookie(state, session.id, secure);
  const storage = new SessionSmartStorage(store, session, configSecrets(config));
  const adapter = new WebRequestAdapter({ request, storage, baseUrl: config.appBaseUrl });
  const scope = buildScopes({
    ehrLaunch: Boolean(launch),
    scopesSupported: discovery.scopes_supported,
    capabilities: discovery.capabilities,
    override: config.scopes,
    requestWriteScope: config.requestWriteScope,
  });
  try {
    await authorize(adapter as unknown as fhirclient.Adapter, {
      clientId: config.clientId,
      scope,
      redirectUri: `${appBase(request, config)}/callback`,
      pkceMode: config.pkceMode,
      stateKey: state,
      ...configSecrets(config),
      ...(config.jwksUrl ? { clientPublicKeySetUrl: config.jwksUrl } : {}),
    } as fhirclient.AuthorizeParams);
  } catch {
    await store.delete(session.id);
    deps.log?.("launch-failed", { reason: "authorize-failed" });
    return relaunchRedirect(request, config, "discovery-failed");
  }
  if (!adapter.redirectLocation) {
    await store.delete(session.id);
    return relaunchRedirect(request, config, "discovery-failed");
  }
  // An OpenID Connect nonce binds the id_token to this launch (fhirclient sends none).
  const nonce = randomBytes(32).toString("base64url");
  await storage.set(ID_TOKEN_NONCE_KEY, nonce);
  const authorizeUrl = new URL(adapter.redirectLocation);
  authorizeUrl.searchParams.set("nonce", nonce);
  deps.log?.("launch-redirect", { kind: launch ? "ehr" : "standalone", ms: Math.round(performance.now() - started) });
  return redirectTo(authorizeUrl.toString(), [cookie]);
}

interface TokenResponseShape {
  access_token?: string;
  refresh_token?: string;
  scope?: string;
  patient?: string;
  id_token?: string;
  [key: string]: unknown;
}

interface ClientStateShape {
  serverUrl: string;
  tokenUri?: string;
  expiresAt?: number;
  tokenResponse?: TokenResponseShape;
  [key: string]: unknown;
}

/**
 * The fhirUser claim as a relative reference ("Practitioner/123"), decoded WITHOUT checking the signature: for
 * diagnostics only; the callback trusts fhirUser only from verifyIdToken (id-token.ts).
 */
export function fhirUserFromIdToken(idToken: string | undefined): string | null {
  if (!idToken) return null;
  const payload = idToken.split(".")[1];
  if (!payload) return null;
  try {
    return fhirUserReference(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>);
  } catch {
    return null;
  }
}

/**
 * GET /callback?code=..&state=.. (or ?error=..&state=..). The state is checked first, for every callback: a
 * callback whose state this browser's session did not start (a forged error callback from any site, say)
 * changes nothing (RFC 6749 10.12). Only then does an error end this launch with the refusal page.
 */
export async function handleCallback(request: Request, deps: LaunchDeps): Promise<Response> {
  const started = performance.now();
  const { config, store } = deps;
  const secure = new URL(appBase(request, config)).protocol === "https:";
  const id = readLaunchSessionId(request);
  const session = id ? await store.load(id) : null;
  if (!session) return relaunchRedirect(request, config, "no-session");
  const url = new URL(request.url);
  const refused = async (reason: string, extra: Record<string, string> = {}): Promise<void> => {
    deps.log?.("launch-failed", { reason, ...extra });
    await deps.audit?.({ actor: "unknown", role: null, action: "launch", outcome: "refused", detail: { reason, ...extra }, origin: auditOrigin(request) }).catch(() => undefined);
  };
  // fhirclient looks the state up in this session's storage only; a state it did not start is refused untouched.
  if (!stateMatches(url.searchParams.get("state"), session.data[SMART_KEY])) {
    await refused("state-mismatch");
    return relaunchRedirect(request, config, "auth-failed");
  }
  if (session.expired) {
    await store.delete(session.id);
    return relaunchRedirect(request, config, "session-expired", clearLaunchCookie(request, secure));
  }
  if (url.searchParams.has("error")) {
    const error = oauthErrorCode(url.searchParams.get("error"));
    // The state is this launch's: the authorization server declined it, so this launch (only) ends.
    await store.delete(session.id);
    await refused("auth-denied", { error });
    return relaunchRedirect(request, config, "auth-denied", clearLaunchCookie(request, secure), { error });
  }
  if (!url.searchParams.get("code")) {
    await store.delete(session.id);
    await refused("no-code");
    return relaunchRedirect(request, config, "auth-failed", clearLaunchCookie(request, secure));
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
    return relaunchRedirect(request, config, "auth-failed", clearLaunchCookie(request, secure));
  }
  const tokens = state.tokenResponse ?? {};
  if (!tokens.access_token) {
    await store.delete(session.id);
    return relaunchRedirect(request, config, "auth-failed", clearLaunchCookie(request, secure));
  }

  const patientId = typeof tokens.patient === "string" && tokens.patient ? tokens.patient : null;
  // fhirUser is trusted only from an id_token verified against the issuer's keys (no id_token: no fhirUser).
  let practitioner: string | null = null;
  if (typeof tokens.id_token === "string" && tokens.id_token) {
    const nonce = session.data[ID_TOKEN_NONCE_KEY];
    const identity = await verifyIdToken({
      idToken: tokens.id_token,
      fhirBase: state.serverUrl,
      clientId: config.clientId,
      nonce: typeof nonce === "string" ? nonce : null,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (!identity.ok) {
      await store.delete(session.id);
      await refused("id-token-invalid", { problem: identity.problem });
      return relaunchRedirect(request, config, "auth-failed", clearLaunchCookie(request, secure));
    }
    practitioner = identity.fhirUser;
  }
  // The role: an assignment made in the app, else the EHR's (the fhirUser's PractitionerRole through the site's
  // mapping), never a guess: a role that cannot be read ends the launch with a page saying so.
  const decision = await decideLaunchRole({
    serverUrl: state.serverUrl,
    accessToken: tokens.access_token,
    fhirUser: practitioner,
    patientId,
    mapping: deps.roleMapping ?? (() => roleMappingFromEnv()),
    ...(deps.assignedRole ? { assignedRole: deps.assignedRole } : {}),
    fetch: deps.fetch ?? fetch,
  });
  if (!decision.ok) return roleUnavailable(request, deps, session.id, secure, practitioner, decision.problem, decision.status);
  const { role, source: roleSource } = decision;
  await store.setContext(session.id, { patientId, practitionerId: practitioner, role, issuer: state.serverUrl });
  const sessionCookies = await completeSessionCookies(request, store, session.id, patientId, secure, config.sessionTtlSeconds);

  const location = landingPath(patientId, role);
  deps.log?.("launch-complete", { role, roleSource, patientContext: Boolean(patientId), refresh: Boolean(tokens.refresh_token), ms: Math.round(performance.now() - started) });
  await deps.audit?.({ actor: practitioner ?? "unknown", role, action: "launch", outcome: "success", detail: { patientContext: Boolean(patientId), roleSource, issuer: new URL(state.serverUrl).origin }, origin: auditOrigin(request) }).catch(() => undefined);
  return redirectTo(location.startsWith("/") ? `${appBase(request, config)}${location}` : location, sessionCookies);
}

/**
 * The authenticated session gets a new id (rotation), set as the browser's latest launch and, with a patient in
 * context, as that patient's launch; the launch cookie is cleared. The session that cookie replaces (the same
 * patient launched again, or the previous user-level launch) is deleted; other patients' launches live on.
 */
async function completeSessionCookies(request: Request, store: SessionStore, launchId: string, patientId: string | null, secure: boolean, ttlSeconds: number): Promise<string[]> {
  const replaced = readSessionId(new Request(new URL(patientId ? `/patients/${encodeURIComponent(patientId)}` : "/", request.url), { headers: request.headers }));
  const id = await store.rotate(launchId);
  if (replaced && replaced !== launchId) {
    const previous = await store.load(replaced);
    if (previous && (patientId ? previous.patientId === patientId : !previous.patientId)) await store.delete(replaced);
  }
  const cookies = [sessionCookie(id, { maxAgeSeconds: ttlSeconds, secure })];
  if (patientId) cookies.push(sessionCookie(id, { maxAgeSeconds: ttlSeconds, secure, name: patientSessionCookieName(patientId) }));
  return [...cookies, ...clearLaunchCookie(request, secure)];
}

async function roleUnavailable(
  request: Request,
  deps: LaunchDeps,
  sessionId: string,
  secure: boolean,
  practitioner: string | null,
  problem: LaunchRoleProblem,
  status: number | undefined,
): Promise<Response> {
  await deps.store.delete(sessionId);
  deps.log?.("launch-failed", { reason: "role-unavailable", problem, status: status ?? null });
  await deps
    .audit?.({ actor: practitioner ?? "unknown", role: null, action: "launch", outcome: "refused", detail: { reason: "role-unavailable", problem, ...(status ? { status } : {}) }, origin: auditOrigin(request) })
    .catch(() => undefined);
  return relaunchRedirect(request, deps.config, "role-unavailable", clearLaunchCookie(request, secure), { detail: problem, ...(status ? { status: String(status) } : {}) });
}
