/**
 * Role checks for pages and route handlers (panel, reports, admin, and the patient view before its launch-context
 * check): the role comes from the server-side session row, never from the request. Deny by default: no session, an
 * expired one, a session without a role, or a role not in the allowed list is refused.
 */
import "server-only";
import { readSessionId } from "./cookies";
import type { AppRole } from "./roles";
import { sessionStatus, type SessionStatus } from "./status";

export type RoleGate =
  | { ok: true; role: AppRole; practitionerId: string | null; issuer: string | null; patientId: string | null }
  | { ok: false; reason: "no-session" | "session-expired" | "forbidden"; role: string | null };

export function gateFromStatus(status: SessionStatus, allowed: readonly AppRole[]): RoleGate {
  if (status.status !== "ok") return { ok: false, reason: status.status, role: null };
  if (!status.role || !(allowed as readonly string[]).includes(status.role)) return { ok: false, reason: "forbidden", role: status.role };
  return { ok: true, role: status.role as AppRole, practitionerId: status.practitionerId, issuer: status.issuer, patientId: status.patientId };
}

/** For server components: pass `(await cookies()).get(SESSION_COOKIE)?.value`. */
export async function gateSession(cookieValue: string | undefined | null, allowed: readonly AppRole[], request?: Request): Promise<RoleGate> {
  return gateFromStatus(await sessionStatus(cookieValue, undefined, request), allowed);
}

/** For route handlers: the gate, or the JSON error Response to return (401 without a session, 403 for a wrong role). */
export async function gateRequest(request: Request, allowed: readonly AppRole[]): Promise<{ gate: Extract<RoleGate, { ok: true }> } | { response: Response }> {
  const gate = await gateSession(readSessionId(request), allowed, request);
  if (gate.ok) return { gate };
  const status = gate.reason === "forbidden" ? 403 : 401;
  const body =
    gate.reason === "forbidden"
      ? { error: "forbidden", message: `This needs the ${allowed.join(" or ")} role.` }
      : { error: gate.reason, message: "Launch the app again from the EHR.", relaunch: `/relaunch?reason=${gate.reason}` };
  return { response: new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } }) };
}
