/**
 * For server components and route handlers that need the session's launch context without FHIR access
 * (e.g. a page deciding between the patient view and /relaunch): reads the session row only, never
 * refreshes tokens, never returns them.
 */
import "server-only";
import { SESSION_COOKIE } from "./cookies";
import { appSessionStore } from "./server";
import { rememberRequestSession, type SessionStore } from "./session-store";

export type SessionStatus =
  | { status: "ok"; patientId: string | null; practitionerId: string | null; role: string | null; issuer: string | null; expiresAt: string }
  | { status: "no-session" | "session-expired" };

/**
 * Pass the cookie value, e.g. `(await cookies()).get(SESSION_COOKIE)?.value` from next/headers. With `request`, a
 * live session read is kept for that request's handler (takeRequestSession), which then need not read it again.
 */
export async function sessionStatus(cookieValue: string | undefined | null, store?: SessionStore, request?: Request): Promise<SessionStatus> {
  if (!cookieValue || !/^[A-Za-z0-9_-]{16,128}$/.test(cookieValue)) return { status: "no-session" };
  const s = store ?? appSessionStore();
  const session = await s.load(cookieValue);
  if (!session) return { status: "no-session" };
  if (session.expired) return { status: "session-expired" };
  if (request) rememberRequestSession(request, session);
  return {
    status: "ok",
    patientId: session.patientId,
    practitionerId: session.practitionerId,
    role: session.role,
    issuer: session.issuer,
    expiresAt: session.expiresAt.toISOString(),
  };
}

export { SESSION_COOKIE };
export { pinnedDateWarning } from "./session-warnings";
