/**
 * For server components and route handlers that need the session's launch context without FHIR access
 * (e.g. a page deciding between the patient view and /relaunch): reads the session row only, never
 * refreshes tokens, never returns them.
 */
import "server-only";
import { prisma } from "../db/client";
import { SESSION_COOKIE } from "./cookies";
import { sessionKey } from "./crypto";
import { SessionStore } from "./session-store";

export type SessionStatus =
  | { status: "ok"; patientId: string | null; practitionerId: string | null; role: string | null; issuer: string | null; expiresAt: string }
  | { status: "no-session" | "session-expired" };

/** Pass the cookie value, e.g. `(await cookies()).get(SESSION_COOKIE)?.value` from next/headers. */
export async function sessionStatus(cookieValue: string | undefined | null, store?: SessionStore): Promise<SessionStatus> {
  if (!cookieValue || !/^[A-Za-z0-9_-]{16,128}$/.test(cookieValue)) return { status: "no-session" };
  const s = store ?? new SessionStore(prisma(), sessionKey());
  const session = await s.load(cookieValue);
  if (!session) return { status: "no-session" };
  if (session.expired) return { status: "session-expired" };
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
