// GET /api/reports/[measureId]/export?<filters>&format=csv|xlsx|pdf|fhir&bom=1&shared=1&outcome=: the export file,
// streamed as an attachment and audited. 409 when it is above the background threshold (use POST .../exports).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleExportGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ measureId: string }> }): Promise<Response> {
  const { measureId } = await context.params;
  return handleExportGet(request, measureId, reportRouteDeps());
});
