// GET /api/panel/charts?source=: response over weeks by drug and lab completeness by month (PanelCharts in lib/panel/types.ts).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { panelCharts } from "@/lib/panel/queries";
import { sourceScopedPanelGet } from "@/lib/panel/source-route";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return sourceScopedPanelGet(request, "charts", panelCharts);
});
