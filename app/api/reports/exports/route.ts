// GET /api/reports/exports: the caller's recent background exports (ReportExportsResponse).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleExportsListGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleExportsListGet(request, reportRouteDeps());
});
