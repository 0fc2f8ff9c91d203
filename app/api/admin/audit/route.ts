// GET /api/admin/audit?action=&actor=&role=&outcome=&from=&to=&page=&size=: a page of the audit trail, newest first
// (AuditApiResponse in lib/audit/audit-handlers.ts). Administrators only; the read is audited.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleAdminAuditGet } from "@/lib/audit/audit-handlers";
import { auditRouteDeps } from "./audit-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request): Promise<Response> {
  return handleAdminAuditGet(request, auditRouteDeps());
});
