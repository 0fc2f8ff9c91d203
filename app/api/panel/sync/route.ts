// GET /api/panel/sync[?source=]: sources, the latest runs and the active ones (SyncStatusResponse).
// POST /api/panel/sync { sourceId?, full? }: queue a sync now (202 SyncNowResponse). Clinic lead only; audited.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleSyncNowPost, handleSyncStatusGet } from "@/lib/panel/panel-handlers";
import { panelRouteDeps } from "@/lib/panel/route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleSyncStatusGet(request, panelRouteDeps());
});

export const POST = answerDatabaseOutages(function POST(request: Request): Promise<Response> {
  return handleSyncNowPost(request, panelRouteDeps());
});
