// GET /api/reports/exports: the caller's recent background exports (ReportExportsResponse).
import { handleExportsListGet } from "@/lib/reports/report-handlers";
import { reportRouteDeps } from "../report-route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(request: Request): Promise<Response> {
  return handleExportsListGet(request, reportRouteDeps());
}
