// GET /api/reports/exports/[id]/file: a finished background export's file (404 when not ready or not the caller's).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleExportFileGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../../../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return handleExportFileGet(request, id, reportRouteDeps());
});
