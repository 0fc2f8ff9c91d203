import type { Metadata } from "next";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import { RoleRefusal } from "@/app/role-refusal";
import { AUDIT_ROLES } from "@/lib/reports/report-requests";
import { AuditView } from "../_components/audit-view";
import { reportsGate } from "../_server/gate";

export const metadata: Metadata = { title: "Export audit" };
export const dynamic = "force-dynamic";

/** Every report export (who, role, report, filters, format, rows, when; no PHI), for quality analysts. */
export default async function ExportAuditPage() {
  const gate = await reportsGate(AUDIT_ROLES);
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="export audit trail" allowed={AUDIT_ROLES} />;
  return <AuditView />;
}
