/**
 * SMART App Launch, server side: GET /launch (EHR launch with iss and launch; standalone with iss only) and
 * GET /callback (the redirect_uri). The app discovers the EHR's endpoints (smart-discovery.ts, retried), starts the
 * authorization request with its own 256-bit state, PKCE S256 and an OpenID nonce, and keeps fhirclient's client
 * state in the Postgres session; at the callback it checks the state first, then the PKCE verifier, claims the code
 * (spent-codes.ts) and exchanges it (code-exchange.ts: fhirclient's token request, the app's fetch and timeout).
 * This module adds the issuer allow-list, the session and its cookie, the launch context (patient, fhirUser, role)
 * and the redirect to the user's landing page or to a refusal page that says why.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { fhirclient } from "fhirclient/lib/types";
import { z } from "zod";
import { auditOrigin } from "../audit/audit";
import { exchangeAuthorizationCode, oauthErrorCode, type TokenResponseShape } from "./code-exchange";
import { buildScopes, isIssuerAllowed, type SmartClientConfig } from "./config";
import { clearLaunchCookie, launchCookie, patientSessionCookieName, readLaunchSessionId, readSessionId, sessionCookie } from "./cookies";
import { fhirUserReference, verifyIdToken } from "./id-token";
import { LAUNCH_HTTP_DEFAULTS, type LaunchHttpOptions } from "./launch-http";
import { decideLaunchRole, type AssignedRoleReader, type LaunchRoleProblem } from "./role-lookup";
import { landingPath, roleMappingFromEnv, type RoleMapping } from "./roles";
import { SessionSmartStorage, type SessionStore } from "./session-store";
import { discoverSmartEndpoints } from "./smart-discovery";
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
  /** Retries and timeouts of the launch's EHR requests (launch-http.ts defaults). */
  http?: LaunchHttpOptions;
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
  | "role-unavailable"
  /** The callback's code was already sent to the token endpoint by this app (a replayed or double-submitted callback). */
  | "code-replayed"
  /** The token endpoint refused the code (400 invalid_grant: expired, spent elsewhere, PKCE check failed). */
  | "code-refused"
  /** The launch used PKCE but its stored code verifier is gone: the code is not sent anywhere. */
  | "pkce-verifier-missing"
  /** The EHR did not answer usefully at a callback step (timeout, 429, 5xx); `step` says which. */
  | "ehr-unavailable";

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

const launchQuery = z.object({
  iss: z.string().url().max(2048),
  launch: z.string().min(1).max(4096).optional(),
});

/** RFC 7636's code_verifier: 43 to 128 unreserved characters. */
const PKCE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A PKCE S256 pair: a 128-character verifier (96 random bytes) and its challenge. */
function pkcePair(): { codeVerifier: string; codeChallenge: string } {
  const codeVerifier = randomBytes(96).toString("base64url");
  return { codeVerifier, codeChallenge: createHash("sha256").update(codeVerifier).digest("base64url") };
}

/** One refusal in the audit trail (reason codes, no PHI) and the event log. */
async function auditRefusal(request: Request, deps: LaunchDeps, detail: Record<string, string | number>): Promise<void> {
  deps.log?.("launch-failed", detail);
  await deps.audit?.({ actor: "unknown", role: null, action: "launch", outcome: "refused", detail, origin: auditOrigin(request) }).catch(() => undefined);
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

  // The endpoints first, retried: a launch the EHR cannot serve creates no session.
  const discovery = await discoverSmartEndpoints(iss, { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.http ? { http: deps.http } : {}) });
  if (!discovery.ok) {
    await auditRefusal(request, deps, { reason: "discovery-failed", problem: discovery.problem, ...(discovery.status ? { status: discovery.status } : {}) });
    return relaunchRedirect(request, config, "discovery-failed");
  }
  const endpoints = discovery.endpoints;
  const s256 = endpoints.codeChallengeMethods.includes("S256");
  if (config.pkceMode === "required" && !s256) {
    await auditRefusal(request, deps, { reason: "discovery-failed", problem: "pkce-unsupported" });
    return relaunchRedirect(request, config, "discovery-failed");
  }

  const appOrigin = appBase(request, config);
  const secure = new URL(appOrigin).protocol === "https:";
  const state = newLaunchState();
  const redirectUri = `${appOrigin}/callback`;
  const scope = buildScopes({
    ehrLaunch: Boolean(launch),
    scopesSupported: endpoints.scopesSupported,
    capabilities: endpoints.capabilities,
    override: config.scopes,
    requestWriteScope: config.requestWriteScope,
  });
  const pkce = s256 ? pkcePair() : null;
  // fhirclient's client state (ClientState): what the callback's token request and later refreshes read.
  const clientState: ClientStateShape = {
    clientId: config.clientId,
    scope: launch && !/\blaunch\b/.test(scope) ? `${scope} launch` : scope,
    redirectUri,
    serverUrl: iss,
    tokenResponse: {},
    key: state,
    ...(config.jwksUrl ? { clientPublicKeySetUrl: config.jwksUrl } : {}),
    registrationUri: endpoints.registrationUri,
    authorizeUri: endpoints.authorizeUri,
    tokenUri: endpoints.tokenUri,
    codeChallengeMethods: endpoints.codeChallengeMethods,
    ...(pkce ?? {}),
  };
  // An OpenID Connect nonce binds the id_token to this launch.
  const nonce = randomBytes(32).toString("base64url");
  const session = await store.create(config.sessionTtlSeconds, iss, { [SMART_KEY]: state, [state]: clientState, [ID_TOKEN_NONCE_KEY]: nonce });

  const authorizeUrl = new URL(endpoints.authorizeUri);
  const query: Record<string, string> = {
    response_type: "code",
    client_id: config.clientId,
    scope: clientState.scope as string,
    redirect_uri: redirectUri,
    aud: iss,
    state,
    ...(launch ? { launch } : {}),
    ...(pkce ? { code_challenge: pkce.codeChallenge, code_challenge_method: "S256" } : {}),
    nonce,
  };
  for (const [name, value] of Object.entries(query)) authorizeUrl.searchParams.set(name, value);
  deps.log?.("launch-redirect", { kind: launch ? "ehr" : "standalone", ms: Math.round(performance.now() - started) });
  return redirectTo(authorizeUrl.toString(), [launchCookie(state, session.id, secure)]);
}

interface ClientStateShape {
  serverUrl: string;
  tokenUri?: string;
  scope?: string;
  codeVerifier?: string;
  codeChallenge?: string;
  codeChallengeMethods?: string[];
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

/** Whether this launch used PKCE or had to: a challenge was sent, PKCE is required, or the server offers S256. */
export function launchUsedPkce(state: { codeChallenge?: unknown; codeChallengeMethods?: unknown }, pkceMode: SmartClientConfig["pkceMode"]): boolean {
  return Boolean(state.codeChallenge) || pkceMode === "required" || (Array.isArray(state.codeChallengeMethods) && state.codeChallengeMethods.includes("S256"));
}

/**
 * What the refusal page offers to relaunch with (the new refusals only): an EHR launch is started again from the EHR;
 * a standalone one from the app, with its issuer.
 */
function relaunchAction(state: ClientStateShape): Record<string, string> {
  const ehr = typeof state.scope === "string" && state.scope.split(/\s+/).includes("launch");
  return ehr ? { launch: "ehr" } : { launch: "standalone", iss: state.serverUrl };
}

/**
 * GET /callback?code=..&state=.. (or ?error=..&state=..). The state is checked first, for every callback: a
 * callback whose state this browser's session did not start (a forged error callback from any site, say)
 * changes nothing (RFC 6749 10.12). Only then does an error end this launch with the refusal page. Then the PKCE
 * verifier must be there (else the code is sent nowhere), the code is claimed as spent (a code this app already
 * sent is refused without a second token request, changing nothing), and exchanged.
 */
export async function handleCallback(request: Request, deps: LaunchDeps): Promise<Response> {
  const started = performance.now();
  const { config, store } = deps;
  const http = { ...LAUNCH_HTTP_DEFAULTS, ...deps.http };
  const secure = new URL(appBase(request, config)).protocol === "https:";
  const id = readLaunchSessionId(request);
  const session = id ? await store.load(id) : null;
  if (!session) return relaunchRedirect(request, config, "no-session");
  const url = new URL(request.url);
  const refused = (reason: string, extra: Record<string, string | number> = {}): Promise<void> => auditRefusal(request, deps, { reason, ...extra });
  /** This launch ends: its session row goes, the refusal is audited, the launch cookie is cleared. */
  const end = async (page: RelaunchReason, audit: Record<string, string | number> & { reason: string }, query: Record<string, string> = {}): Promise<Response> => {
    await store.delete(session.id);
    const { reason, ...extra } = audit;
    await refused(reason, extra);
    return relaunchRedirect(request, config, page, clearLaunchCookie(request, secure), query);
  };
  // Only the state this session started is accepted; any other is refused untouched.
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
    return end("auth-denied", { reason: "auth-denied", error }, { error });
  }
  const code = url.searchParams.get("code");
  if (!code || code.length > 4096) return end("auth-failed", { reason: "no-code" });

  const storage = new SessionSmartStorage(store, session, configSecrets(config));
  const stateKey = session.data[SMART_KEY] as string;
  const clientState = (await storage.get(stateKey)) as ClientStateShape | undefined;
  if (!clientState || typeof clientState !== "object" || typeof clientState.serverUrl !== "string" || typeof clientState.tokenUri !== "string") {
    return end("auth-failed", { reason: "no-client-state" });
  }
  const action = relaunchAction(clientState);
  // Without its verifier the code is useless to this app and must not travel anywhere (RFC 7636).
  if (launchUsedPkce(clientState, config.pkceMode) && !(typeof clientState.codeVerifier === "string" && PKCE_VERIFIER.test(clientState.codeVerifier))) {
    return end("pkce-verifier-missing", { reason: "pkce-verifier-missing" }, action);
  }
  // The claim sits after the state check, so a callback this browser did not start can neither spend a code nor
  // learn whether one was spent; it changes nothing (the first callback may still be completing this launch).
  if (!(await store.claimAuthorizationCode(clientState.serverUrl, code))) {
    await refused("code-replayed");
    return relaunchRedirect(request, config, "code-replayed", [], action);
  }

  const adapter = new WebRequestAdapter({ request, storage, baseUrl: config.appBaseUrl });
  const exchange = await exchangeAuthorizationCode({
    env: adapter as unknown as fhirclient.Adapter,
    state: clientState as unknown as fhirclient.ClientState,
    code,
    ...(config.jwksUrl ? { clientPublicKeySetUrl: config.jwksUrl } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    timeoutMs: http.timeoutMs,
  }).catch(() => ({ ok: false as const, problem: "malformed" as const, status: 0 }));
  if (!exchange.ok) {
    const status: Record<string, number> = exchange.status ? { status: exchange.status } : {};
    if (exchange.problem === "unavailable") {
      return end("ehr-unavailable", { reason: "ehr-unavailable", step: "token", ...status }, { step: "token", ...action });
    }
    if (exchange.problem === "refused" && exchange.error === "invalid_grant") {
      return end("code-refused", { reason: "code-refused", error: exchange.error, ...status }, { error: exchange.error, ...action });
    }
    const error: Record<string, string> = exchange.problem === "refused" ? { error: exchange.error } : {};
    return end("auth-failed", { reason: "token-exchange-failed", ...error, ...status });
  }
  const tokens = exchange.tokenResponse;
  await storage.set(stateKey, { ...clientState, tokenResponse: tokens, expiresAt: exchange.expiresAt });

  const patientId = typeof tokens.patient === "string" && tokens.patient ? tokens.patient : null;
  // fhirUser is trusted only from an id_token verified against the issuer's keys (no id_token: no fhirUser).
  let practitioner: string | null = null;
  if (typeof tokens.id_token === "string" && tokens.id_token) {
    const nonce = session.data[ID_TOKEN_NONCE_KEY];
    const identity = await verifyIdToken({
      idToken: tokens.id_token,
      fhirBase: clientState.serverUrl,
      clientId: config.clientId,
      nonce: typeof nonce === "string" ? nonce : null,
      http,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (!identity.ok) {
      // Keys the EHR could not serve are an outage, not a bad token.
      if (identity.problem === "keys-unreachable") return end("ehr-unavailable", { reason: "ehr-unavailable", step: "keys" }, { step: "keys", ...action });
      return end("auth-failed", { reason: "id-token-invalid", problem: identity.problem });
    }
    practitioner = identity.fhirUser;
  }
  // The role: an assignment made in the app, else the EHR's (the fhirUser's PractitionerRole through the site's
  // mapping), never a guess: a role that cannot be read ends the launch with a page saying so.
  const decision = await decideLaunchRole({
    serverUrl: clientState.serverUrl,
    accessToken: tokens.access_token,
    fhirUser: practitioner,
    patientId,
    mapping: deps.roleMapping ?? (() => roleMappingFromEnv()),
    ...(deps.assignedRole ? { assignedRole: deps.assignedRole } : {}),
    fetch: deps.fetch ?? fetch,
    http,
  });
  if (!decision.ok) return roleUnavailable(request, deps, session.id, secure, practitioner, decision.problem, decision.status);
  const { role, source: roleSource } = decision;
  await store.setContext(session.id, { patientId, practitionerId: practitioner, role, issuer: clientState.serverUrl });
  const sessionCookies = await completeSessionCookies(request, store, session.id, patientId, secure, config.sessionTtlSeconds);

  const location = landingPath(patientId, role);
  deps.log?.("launch-complete", { role, roleSource, patientContext: Boolean(patientId), refresh: Boolean(tokens.refresh_token), ms: Math.round(performance.now() - started) });
  await deps.audit?.({ actor: practitioner ?? "unknown", role, action: "launch", outcome: "success", detail: { patientContext: Boolean(patientId), roleSource, issuer: new URL(clientState.serverUrl).origin }, origin: auditOrigin(request) }).catch(() => undefined);
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
