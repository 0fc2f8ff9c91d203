// GET /api/reports/[measureId]/notes?<filters>: what the measure could not count (ReportNotesResponse, first 200).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleNotesGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ measureId: string }> }): Promise<Response> {
  const { measureId } = await context.params;
  return handleNotesGet(request, measureId, reportRouteDeps());
});
