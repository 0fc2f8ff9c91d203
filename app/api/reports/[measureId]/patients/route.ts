// GET /api/reports/[measureId]/patients?<filters>&outcome=all|numerator|not-met|excluded|denominator&page=&size=:
// one page of the measure's cases (ReportCasesResponse: the page, and whether the caller may open a patient's view).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleCasesGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ measureId: string }> }): Promise<Response> {
  const { measureId } = await context.params;
  return handleCasesGet(request, measureId, reportRouteDeps());
});
