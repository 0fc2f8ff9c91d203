// GET /api/admin/audit/fhir?<the same filters>: the filtered audit trail as a FHIR R4 Bundle of AuditEvent resources
// (application/fhir+json attachment, streamed). Administrators only; the export is audited.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleAdminAuditFhirGet } from "@/lib/audit/audit-handlers";
import { auditRouteDeps } from "../audit-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request): Promise<Response> {
  return handleAdminAuditFhirGet(request, auditRouteDeps());
});
