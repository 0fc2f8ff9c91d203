// GET /api/panel/code-mappings: the site's code mappings.
// POST { system, code, concept, display? }: add one (201); DELETE { id }: remove one (200). Both queue the
// re-evaluation of the synced patients carrying that code (CodeMappingChangeResponse). Clinic lead only; audited.
import { handleCodeMappingDelete, handleCodeMappingPost, handleCodeMappingsGet } from "@/lib/panel/panel-handlers";
import { panelRouteDeps } from "@/lib/panel/route-deps";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(request: Request): Promise<Response> {
  return handleCodeMappingsGet(request, panelRouteDeps());
}

export function POST(request: Request): Promise<Response> {
  return handleCodeMappingPost(request, panelRouteDeps());
}

export function DELETE(request: Request): Promise<Response> {
  return handleCodeMappingDelete(request, panelRouteDeps());
}
