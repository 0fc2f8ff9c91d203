import "server-only";
import { cookies } from "next/headers";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import { gateSession, type RoleGate } from "@/lib/smart/role-gate";
import { SESSION_COOKIE } from "@/lib/smart/status";

/** Roles that may open the panel and its sub-pages. */
export const PANEL_ROLES = ["clinic-lead"] as const;

/**
 * Every panel page calls this first: <DatabaseUnavailable> while the session cannot be read (the database is not
 * answering: retry, not "signed out"), <RoleRefusal> when it is not ok.
 */
export async function panelGate(): Promise<RoleGate | typeof DATABASE_OUTAGE> {
  return orDatabaseOutage(gateSession((await cookies()).get(SESSION_COOKIE)?.value, PANEL_ROLES));
}
