// GET /api/reports/[measureId]/notes?<filters>: what the measure could not count (ReportNotesResponse, first 200).
import { handleNotesGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request, context: { params: Promise<{ measureId: string }> }): Promise<Response> {
  const { measureId } = await context.params;
  return handleNotesGet(request, measureId, reportRouteDeps());
}
