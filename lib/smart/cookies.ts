/**
 * Session cookies: opaque ids only; HttpOnly, SameSite=Lax (the OAuth redirect back is a top-level GET), Secure
 * over https; in the iframe mode (SESSION_COOKIE_MODE=embedded, https only) SameSite=None; Secure; Partitioned.
 *
 * One session per launch, so two tabs with two patients each see their own:
 * - `ejm_launch_<h(state)>` (Path=/callback, 10 min): a launch in progress, found again by the callback's state;
 * - `ejm_sp_<h(patient id)>`: the session of the launch with that patient in context, read for
 *   /patients/<id> and /api/patients/<id>/.. (the server still checks the id against the session's context);
 * - `ejm_session`: the browser's latest completed launch, read everywhere else (panel, reports, the Patient tab)
 *   and for a patient path without its own cookie (which then answers patient-not-in-context).
 */
import { createHash } from "node:crypto";

export const SESSION_COOKIE = "ejm_session";
export const PATIENT_SESSION_COOKIE_PREFIX = "ejm_sp_";
export const LAUNCH_COOKIE_PREFIX = "ejm_launch_";
/** How long a started launch may take at the authorization server (login, consent). */
export const LAUNCH_COOKIE_SECONDS = 600;

export type SessionCookieMode = "lax" | "embedded";

const SESSION_ID = /^[A-Za-z0-9_-]{16,128}$/;
const PATIENT_PATH = /^\/(?:api\/)?patients\/([^/]+)(?:\/|$)/;

/** SESSION_COOKIE_MODE: `embedded` for EHRs that open the app in an iframe on another site; default `lax`. */
export function sessionCookieMode(env: Record<string, string | undefined> = process.env): SessionCookieMode {
  return env.SESSION_COOKIE_MODE?.trim().toLowerCase() === "embedded" ? "embedded" : "lax";
}

/** A short, cookie-name-safe digest (the raw patient id or state never becomes a cookie name). */
function nameDigest(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64url").slice(0, 22);
}

export function patientSessionCookieName(patientId: string): string {
  return PATIENT_SESSION_COOKIE_PREFIX + nameDigest(patientId);
}

export function launchCookieName(state: string): string {
  return LAUNCH_COOKIE_PREFIX + nameDigest(state);
}

/** Cookie name -> value (first occurrence wins, as browsers send the most specific first). */
export function parseCookieHeader(header: string | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    out.set(name, value);
  }
  return out;
}

const validId = (value: string | undefined): string | null => (value && SESSION_ID.test(value) ? value : null);

/** The patient id a request's path names (/patients/<id>, /api/patients/<id>/..), if any. */
export function patientIdOfPath(pathname: string): string | null {
  const m = PATIENT_PATH.exec(pathname);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}

/**
 * The session id for a cookie header and, when the request is about a patient, that patient's launch session;
 * otherwise (or when there is none) the latest launch's.
 */
export function sessionIdFromCookies(cookieHeader: string | null | undefined, patientId?: string | null): string | null {
  const jar = parseCookieHeader(cookieHeader);
  if (patientId) {
    const own = validId(jar.get(patientSessionCookieName(patientId)));
    if (own) return own;
  }
  return validId(jar.get(SESSION_COOKIE));
}

/** The session behind a request: its path's patient's launch session, else the latest launch's. */
export function readSessionId(request: Request): string | null {
  let patientId: string | null = null;
  try {
    patientId = patientIdOfPath(new URL(request.url).pathname);
  } catch {
    patientId = null;
  }
  return sessionIdFromCookies(request.headers.get("cookie"), patientId);
}

/**
 * The launch in progress a callback belongs to: the cookie named by its state; else any launch cookie this
 * browser holds (the state check then refuses it untouched), else null.
 */
export function readLaunchSessionId(request: Request): string | null {
  const jar = parseCookieHeader(request.headers.get("cookie"));
  const state = new URL(request.url).searchParams.get("state");
  if (state) {
    const own = validId(jar.get(launchCookieName(state)));
    if (own) return own;
  }
  for (const [name, value] of jar) if (name.startsWith(LAUNCH_COOKIE_PREFIX) && validId(value)) return value;
  return null;
}

/** Every session id this browser holds (latest, per patient, launches in progress): what sign-out ends. */
export function allSessionCookies(request: Request): Array<{ name: string; id: string }> {
  const out: Array<{ name: string; id: string }> = [];
  for (const [name, value] of parseCookieHeader(request.headers.get("cookie"))) {
    const id = validId(value);
    if (!id) continue;
    if (name === SESSION_COOKIE || name.startsWith(PATIENT_SESSION_COOKIE_PREFIX) || name.startsWith(LAUNCH_COOKIE_PREFIX)) out.push({ name, id });
  }
  return out;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
  /** Default SESSION_COOKIE. */
  name?: string;
  /** Default "/". */
  path?: string;
  /** Default from SESSION_COOKIE_MODE; `embedded` applies only when `secure`. */
  mode?: SessionCookieMode;
}

export function sessionCookie(id: string, opts: CookieOptions): string {
  const embedded = (opts.mode ?? sessionCookieMode()) === "embedded" && opts.secure;
  return [
    `${opts.name ?? SESSION_COOKIE}=${id}`,
    `Path=${opts.path ?? "/"}`,
    "HttpOnly",
    embedded ? "SameSite=None" : "SameSite=Lax",
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
    ...(opts.secure ? ["Secure"] : []),
    ...(embedded ? ["Partitioned"] : []),
  ].join("; ");
}

export function clearSessionCookie(secure: boolean, name: string = SESSION_COOKIE, path = "/"): string {
  return sessionCookie("", { maxAgeSeconds: 0, secure, name, path });
}

/** The cookie of a launch in progress (sent to /callback only). */
export function launchCookie(state: string, id: string, secure: boolean): string {
  return sessionCookie(id, { maxAgeSeconds: LAUNCH_COOKIE_SECONDS, secure, name: launchCookieName(state), path: "/callback" });
}

/** Clears the launch cookie a callback request belongs to (none without a state). */
export function clearLaunchCookie(request: Request, secure: boolean): string[] {
  const state = new URL(request.url).searchParams.get("state");
  return state ? [clearSessionCookie(secure, launchCookieName(state), "/callback")] : [];
}

/** A Cookie header from responses' Set-Cookie lines, later ones replacing earlier (tests and the bench). */
export function cookieHeaderFrom(...responses: Response[]): string {
  const jar = new Map<string, string>();
  for (const res of responses) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const cleared = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (cleared) jar.delete(name);
      else jar.set(name, pair!.slice(eq + 1).trim());
    }
  }
  return [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
}
