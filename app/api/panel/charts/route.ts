// GET /api/panel/charts?source=: response over weeks by drug and lab completeness by month (PanelCharts in lib/panel/types.ts).
import { clinicToday } from "@/lib/fhir/patient-api";
import { pgPool } from "@/lib/db/pool";
import { parseSourceParam } from "@/lib/panel/filters";
import { badRequest, PANEL_API_ROLES, panelJson, serverError } from "@/lib/panel/http";
import { panelCharts } from "@/lib/panel/queries";
import { gateRequest } from "@/lib/smart/role-gate";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const gated = await gateRequest(request, PANEL_API_ROLES);
  if ("response" in gated) return gated.response;
  const parsed = parseSourceParam(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.problems);
  try {
    return panelJson(200, await panelCharts(pgPool(), { source: parsed.source, today: clinicToday() }));
  } catch (error) {
    return serverError("charts", error);
  }
}
