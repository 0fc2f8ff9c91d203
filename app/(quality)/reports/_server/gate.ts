import "server-only";
import { cookies } from "next/headers";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import type { AppRole } from "@/lib/smart/roles";
import { gateSession, type RoleGate } from "@/lib/smart/role-gate";
import { SESSION_COOKIE } from "@/lib/smart/status";
import { REPORT_ROLES } from "@/lib/reports/report-requests";

/**
 * Every report page calls this first (the audit page with AUDIT_ROLES): <DatabaseUnavailable> while the session cannot
 * be read (the database is not answering), <RoleRefusal> when it is not ok.
 */
export async function reportsGate(roles: readonly AppRole[] = REPORT_ROLES): Promise<RoleGate | typeof DATABASE_OUTAGE> {
  return orDatabaseOutage(gateSession((await cookies()).get(SESSION_COOKIE)?.value, roles));
}
