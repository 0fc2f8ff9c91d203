// GET /api/panel/code-coverage[?source=]: matched and ignored codes with resource counts, site mappings and
// data-quality counts (CodeCoverageResponse). Clinic lead only.
import { handleCodeCoverageGet } from "@/lib/panel/panel-handlers";
import { panelRouteDeps } from "@/lib/panel/route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(request: Request): Promise<Response> {
  return handleCodeCoverageGet(request, panelRouteDeps());
}
