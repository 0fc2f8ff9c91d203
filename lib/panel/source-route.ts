/**
 * The panel's GET endpoints that take only `?source=` (summary, charts): clinic-lead session, the source checked,
 * the query run at the clinic's today, and errors answered the panel's way.
 */
import "server-only";
import { clinicToday } from "../app/clinic-today";
import { pgPool } from "../db/pool";
import { gateRequest } from "../smart/role-gate";
import { parseSourceParam } from "./filters";
import { badRequest, PANEL_API_ROLES, panelJson, serverError } from "./http";
import type { Queryable } from "./queries";

export async function sourceScopedPanelGet(
  request: Request,
  endpoint: string,
  read: (db: Queryable, options: { source: string | null; today: string }) => Promise<unknown>,
): Promise<Response> {
  const gated = await gateRequest(request, PANEL_API_ROLES);
  if ("response" in gated) return gated.response;
  const parsed = parseSourceParam(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.problems);
  try {
    return panelJson(200, await read(pgPool(), { source: parsed.source, today: clinicToday() }));
  } catch (error) {
    return serverError(endpoint, error);
  }
}
