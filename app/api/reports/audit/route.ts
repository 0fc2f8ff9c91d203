// GET /api/reports/audit?page=&size=: the export audit trail, newest first (ExportAuditPage). Quality role only.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleAuditGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleAuditGet(request, reportRouteDeps());
});
