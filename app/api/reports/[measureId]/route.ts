// GET /api/reports/[measureId]?from=&to=&source=&drug=&route=&prescriber=: the measure's definition and figures
// (ReportResponse); the period defaults to the 12 months ending on the clinic's today. Bad parameters: 400.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleReportGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ measureId: string }> }): Promise<Response> {
  const { measureId } = await context.params;
  return handleReportGet(request, measureId, reportRouteDeps());
});
