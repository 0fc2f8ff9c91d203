// GET /api/panel/sync/[runId]: one run's progress, counts and issues (SyncRunView).
// DELETE /api/panel/sync/[runId]: cancel an active run (202 CancelRunResponse). Clinic lead only; audited.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleSyncRunDelete, handleSyncRunGet } from "@/lib/panel/panel-handlers";
import { panelRouteDeps } from "@/lib/panel/route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ runId: string }> }): Promise<Response> {
  const { runId } = await context.params;
  return handleSyncRunGet(request, runId, panelRouteDeps());
});

export const DELETE = answerDatabaseOutages(async function DELETE(request: Request, context: { params: Promise<{ runId: string }> }): Promise<Response> {
  const { runId } = await context.params;
  return handleSyncRunDelete(request, runId, panelRouteDeps());
});
