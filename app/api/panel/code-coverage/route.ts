// GET /api/panel/code-coverage[?source=][&job=]: the stored code-coverage view (matched and ignored codes with
// resource counts, site mappings, data-quality counts) with when it was computed, and how computation ?job= is doing;
// when none is stored yet it queues one (CodeCoverageResponse).
// POST { source? }: recompute one source's view, or every view (202, CodeCoverageRefreshResponse). Clinic lead
// only; the POST is audited.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { codeJobs } from "@/lib/jobs/queue";
import { handleCodeCoverageGet, handleCodeCoverageRefreshPost } from "@/lib/panel/panel-handlers";
import { panelRouteDeps } from "@/lib/panel/route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleCodeCoverageGet(request, { ...panelRouteDeps(), codeJobs });
});

export const POST = answerDatabaseOutages(function POST(request: Request): Promise<Response> {
  return handleCodeCoverageRefreshPost(request, { ...panelRouteDeps(), codeJobs });
});
