// GET /api/panel/summary?source=: the clinic lead's headline figures (PanelSummary in lib/panel/types.ts).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { panelSummary } from "@/lib/panel/queries";
import { sourceScopedPanelGet } from "@/lib/panel/source-route";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return sourceScopedPanelGet(request, "summary", panelSummary);
});
