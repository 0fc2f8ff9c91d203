// POST /api/reports/[measureId]/exports { from, to, source?, drug?, route?, prescriber?, format, bom?, shared?, outcome? }:
// a small export answers { mode: "direct", url } (GET it to download); a large one is queued as a job and answers
// 202 { mode: "background", exportId, rows } (ExportPlanResponse). Same-origin only.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleExportPost } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = answerDatabaseOutages(async function POST(request: Request, context: { params: Promise<{ measureId: string }> }): Promise<Response> {
  const { measureId } = await context.params;
  return handleExportPost(request, measureId, reportRouteDeps());
});
