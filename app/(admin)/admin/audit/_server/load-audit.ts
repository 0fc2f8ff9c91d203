/**
 * The admin audit page's data: the session's admin check, then one page of the filtered trail read with the same
 * function as GET /api/admin/audit, the read itself audited (audit.read, via page).
 */
import "server-only";
import { cookies, headers } from "next/headers";
import { auditOrigin, readAudit, tryRecordAudit, type AuditPage } from "@/lib/audit/audit";
import { AUDIT_ROLES } from "@/lib/audit/audit-handlers";
import { auditFiltersDetail, type AuditQuery } from "@/lib/audit/audit-query";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import { eventLogger } from "@/lib/app/log";
import { pgPool } from "@/lib/db/pool";
import { gateSession, type RoleGate } from "@/lib/smart/role-gate";
import { SESSION_COOKIE } from "@/lib/smart/status";

const log = eventLogger("audit");

/** The admin check, or DATABASE_OUTAGE while the session cannot be read (the page then retries by itself). */
export async function adminAuditGate(): Promise<RoleGate | typeof DATABASE_OUTAGE> {
  return orDatabaseOutage(gateSession((await cookies()).get(SESSION_COOKIE)?.value, AUDIT_ROLES));
}

/** The page of rows, or null when the database could not answer (the page says so). */
export async function loadAuditPage(actor: { practitionerId: string | null; role: string }, query: AuditQuery): Promise<AuditPage | null> {
  const { page, size, ...filters } = query;
  const pool = pgPool();
  let result: AuditPage;
  try {
    result = await readAudit(pool, { ...filters, page, pageSize: size });
  } catch (error) {
    log("audit-read-failed", { error: error instanceof Error ? error.name : "unknown", via: "page" });
    return null;
  }
  await tryRecordAudit(pool, {
    actor: actor.practitionerId ?? "unknown",
    role: actor.role,
    action: "audit.read",
    outcome: "success",
    detail: { ...auditFiltersDetail(filters), page, rows: result.rows.length, via: "page" },
    origin: auditOrigin(await headers()),
  });
  return result;
}
