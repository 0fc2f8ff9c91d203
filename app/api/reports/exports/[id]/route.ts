// GET /api/reports/exports/[id]: one background export's state and progress (ReportExportView); the owner's only.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleExportStateGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return handleExportStateGet(request, id, reportRouteDeps());
});
