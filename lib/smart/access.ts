/**
 * Token access for API requests: the session from the cookie, its access token refreshed before expiry
 * (refresh_token grant with the client's secret, private_key_jwt assertion, or client_id for a public
 * client), or a typed reason why there is none (the UI then shows /relaunch).
 */
import { randomBytes } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import type { SmartClientConfig } from "./config";
import { accessTokenExpiry } from "./code-exchange";
import { readSessionId } from "./cookies";
import { SMART_KEY } from "./launch";
import { takeRequestSession, type LoadedSession, type SessionStore } from "./session-store";

export interface SessionAccessOk {
  ok: true;
  session: LoadedSession;
  accessToken: string;
  serverUrl: string;
  scope: string;
  /** Unix seconds. */
  tokenExpiresAt: number;
  refreshed: boolean;
}
export interface SessionAccessError {
  ok: false;
  error: "no-session" | "session-expired";
}
export type SessionAccess = SessionAccessOk | SessionAccessError;

interface StoredClientState {
  serverUrl: string;
  clientId?: string;
  tokenUri?: string;
  expiresAt?: number;
  tokenResponse?: { access_token?: string; refresh_token?: string; scope?: string; expires_in?: number; [k: string]: unknown };
  [k: string]: unknown;
}

export interface AccessDeps {
  store: SessionStore;
  config: SmartClientConfig;
  fetch?: typeof fetch;
  /** Seconds; injectable for tests. */
  nowSeconds?: () => number;
}

/** Refresh when the access token has less than this many seconds left. */
export const REFRESH_MARGIN_SECONDS = 60;

function clientState(session: LoadedSession): { key: string; state: StoredClientState } | null {
  const key = session.data[SMART_KEY];
  if (typeof key !== "string") return null;
  const state = session.data[key] as StoredClientState | undefined;
  if (!state || typeof state !== "object" || !state.tokenResponse?.access_token) return null;
  return { key, state };
}

async function tokenRequestAuth(config: SmartClientConfig, tokenUri: string): Promise<{ headers: Record<string, string>; body: URLSearchParams }> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  const body = new URLSearchParams();
  if (config.clientSecret) {
    headers.authorization = "Basic " + Buffer.from(`${config.clientId}:${config.clientSecret}`).toString("base64");
  } else if (config.privateJwk) {
    const key = await importJWK(config.privateJwk, config.privateJwk.alg);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: config.privateJwk.alg, typ: "JWT", ...(config.privateJwk.kid ? { kid: config.privateJwk.kid } : {}), ...(config.jwksUrl ? { jku: config.jwksUrl } : {}) })
      .setIssuer(config.clientId)
      .setSubject(config.clientId)
      .setAudience(tokenUri)
      .setJti(randomBytes(32).toString("base64url"))
      .setExpirationTime("2m")
      .sign(key);
    body.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    body.set("client_assertion", assertion);
  } else {
    body.set("client_id", config.clientId);
  }
  return { headers, body };
}

/** The token endpoint's answer to a refresh: new state, a refused (spent) refresh token, or no answer. */
async function requestRefresh(deps: AccessDeps, state: StoredClientState, now: number): Promise<{ next: StoredClientState; ok: boolean } | null> {
  const refreshToken = state.tokenResponse?.refresh_token;
  if (!refreshToken || !state.tokenUri) return null;
  const { headers, body } = await tokenRequestAuth(deps.config, state.tokenUri);
  body.set("grant_type", "refresh_token");
  body.set("refresh_token", refreshToken);
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(state.tokenUri, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
  } catch {
    return null; // network: keep the refresh token, try again next request
  }
  if (!res.ok) {
    // invalid_grant and the like: the refresh token is spent; forget it
    const next: StoredClientState = { ...state, tokenResponse: { ...state.tokenResponse } };
    delete next.tokenResponse!.refresh_token;
    return { next, ok: false };
  }
  const data = (await res.json().catch(() => ({}))) as StoredClientState["tokenResponse"] & object;
  if (!data.access_token) return null;
  // A rotated refresh token (single use at many servers) replaces the old one here.
  return { next: { ...state, tokenResponse: { ...state.tokenResponse, ...data }, expiresAt: accessTokenExpiry(data, now) }, ok: true };
}

/**
 * Refreshes under the session's PostgreSQL advisory lock (every instance shares it). Once the lock is held the
 * session is read again: when its access token is no longer `seenToken` and still fresh, another instance or
 * request refreshed meanwhile and its token is used, so one refresh token is never spent twice.
 */
async function refreshLocked(deps: AccessDeps, session: LoadedSession, seenToken: string | undefined, now: number): Promise<StoredClientState | null> {
  return deps.store.withRefreshLock(session.id, async (current) => {
    const cs = current && !current.expired ? clientState(current) : null;
    if (!current || !cs) return { result: null };
    const token = cs.state.tokenResponse?.access_token;
    const expiresAt = cs.state.expiresAt ?? accessTokenExpiry(cs.state.tokenResponse ?? {}, now);
    if (token !== seenToken && expiresAt - REFRESH_MARGIN_SECONDS > now) {
      session.data = current.data;
      return { result: cs.state };
    }
    const answer = await requestRefresh(deps, cs.state, now);
    if (!answer) return { result: null };
    current.data[cs.key] = answer.next;
    session.data = current.data;
    return { result: answer.ok ? answer.next : null, data: current.data };
  });
}

/**
 * The session behind this request and a usable access token, refreshing it when it is about to expire, or
 * when `rejectedToken` is the stored token (the FHIR server answered 401 to it before its advertised expiry).
 */
export async function getSessionAccess(request: Request, deps: AccessDeps, opts: { rejectedToken?: string } = {}): Promise<SessionAccess> {
  const id = readSessionId(request);
  if (!id) return { ok: false, error: "no-session" };
  const session = (opts.rejectedToken === undefined ? takeRequestSession(request, id) : null) ?? (await deps.store.load(id));
  if (!session) return { ok: false, error: "no-session" };
  if (session.expired) {
    await deps.store.delete(session.id);
    return { ok: false, error: "session-expired" };
  }
  const cs = clientState(session);
  if (!cs) return { ok: false, error: "no-session" };
  const now = (deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)))();
  let state = cs.state;
  let refreshed = false;
  const expiresAt = state.expiresAt ?? accessTokenExpiry(state.tokenResponse ?? {}, now);
  const rejected = opts.rejectedToken !== undefined && opts.rejectedToken === state.tokenResponse?.access_token;
  if (rejected || expiresAt - REFRESH_MARGIN_SECONDS <= now) {
    const next = await refreshLocked(deps, session, state.tokenResponse?.access_token, now);
    if (next) {
      state = next;
      refreshed = true;
    } else if (rejected || expiresAt <= now) {
      return { ok: false, error: "session-expired" };
    }
  }
  return {
    ok: true,
    session,
    accessToken: state.tokenResponse!.access_token!,
    serverUrl: state.serverUrl,
    scope: state.tokenResponse?.scope ?? "",
    tokenExpiresAt: state.expiresAt ?? expiresAt,
    refreshed,
  };
}
