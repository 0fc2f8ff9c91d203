import "server-only";
import { cookies } from "next/headers";
import { gateSession, type RoleGate } from "@/lib/smart/role-gate";
import { SESSION_COOKIE } from "@/lib/smart/status";

/** Roles that may open the panel and its sub-pages. */
export const PANEL_ROLES = ["clinic-lead"] as const;

/** Every panel page calls this first and renders <RoleRefusal> when it is not ok. */
export async function panelGate(): Promise<RoleGate> {
  return gateSession((await cookies()).get(SESSION_COOKIE)?.value, PANEL_ROLES);
}
