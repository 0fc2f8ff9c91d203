// GET /api/panel/worklist?<filters>: one page of the filtered, sorted worklist (WorklistPage in lib/panel/types.ts;
// the parameters are those of lib/panel/filters.ts, the same the /panel/worklist page keeps in its URL).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { clinicToday } from "@/lib/app/clinic-today";
import { pgPool } from "@/lib/db/pool";
import { parsePanelFilters } from "@/lib/panel/filters";
import { badRequest, PANEL_API_ROLES, panelJson, serverError } from "@/lib/panel/http";
import { worklistPage } from "@/lib/panel/queries";
import { gateRequest } from "@/lib/smart/role-gate";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request): Promise<Response> {
  const gated = await gateRequest(request, PANEL_API_ROLES);
  if ("response" in gated) return gated.response;
  const parsed = parsePanelFilters(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.problems);
  try {
    return panelJson(200, await worklistPage(pgPool(), parsed.filters, { today: clinicToday() }));
  } catch (error) {
    return serverError("worklist", error);
  }
});
