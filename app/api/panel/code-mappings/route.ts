// GET /api/panel/code-mappings: the site's code mappings; ?job=: how one change's re-evaluation is doing
// (CodeReevaluationStatusResponse).
// POST { system, code, concept, display? }: add one (201); DELETE { id }: remove one (200). Both answer at once and
// queue a job that finds the synced patients carrying that code, re-evaluates them and then recomputes the code
// coverage (CodeMappingChangeResponse). Clinic lead only; audited.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { codeJobs } from "@/lib/jobs/queue";
import { handleCodeMappingDelete, handleCodeMappingPost, handleCodeMappingsGet } from "@/lib/panel/panel-handlers";
import { panelRouteDeps } from "@/lib/panel/route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleCodeMappingsGet(request, { ...panelRouteDeps(), codeJobs });
});

export const POST = answerDatabaseOutages(function POST(request: Request): Promise<Response> {
  return handleCodeMappingPost(request, { ...panelRouteDeps(), codeJobs });
});

export const DELETE = answerDatabaseOutages(function DELETE(request: Request): Promise<Response> {
  return handleCodeMappingDelete(request, { ...panelRouteDeps(), codeJobs });
});
