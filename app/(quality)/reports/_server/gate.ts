import "server-only";
import { cookies } from "next/headers";
import type { AppRole } from "@/lib/smart/roles";
import { gateSession, type RoleGate } from "@/lib/smart/role-gate";
import { SESSION_COOKIE } from "@/lib/smart/status";
import { REPORT_ROLES } from "@/lib/reports/report-requests";

/** Every report page calls this first (the audit page with AUDIT_ROLES) and renders <RoleRefusal> when it is not ok. */
export async function reportsGate(roles: readonly AppRole[] = REPORT_ROLES): Promise<RoleGate> {
  return gateSession((await cookies()).get(SESSION_COOKIE)?.value, roles);
}
