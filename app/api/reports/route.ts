// GET /api/reports: the catalogue (every measure's definition with its cases on record) and the filters' choices
// (ReportCatalogueResponse). Quality analysts and clinic leads.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleCatalogueGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "./report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleCatalogueGet(request, reportRouteDeps());
});
