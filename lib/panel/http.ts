/**
 * What the panel's route handlers share: the role they require, JSON responses that are never cached, a
 * 400 that lists each rejected parameter with its reason, and a 500 that logs the error's kind (no PHI, no ids).
 */
import { eventLogger } from "../app/log";
import type { AppRole } from "../smart/roles";
import type { FilterProblem } from "./filters";
import type { PanelErrorBody } from "./types";

const log = eventLogger("panel");

/** The panel API is for clinic leads only. */
export const PANEL_API_ROLES: readonly AppRole[] = ["clinic-lead"];

export function panelJson(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

export function badRequest(problems: FilterProblem[]): Response {
  const body: PanelErrorBody = { error: "bad-request", message: problems.map((p) => p.reason).join("; "), problems };
  return panelJson(400, body);
}

export function notFound(message: string): Response {
  return panelJson(404, { error: "not-found", message } satisfies PanelErrorBody);
}

/** A failed query: logged by error class and SQLSTATE only, answered with a message a person can act on. */
export function serverError(endpoint: string, error: unknown): Response {
  const kind = error instanceof Error ? error.name : "unknown";
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null;
  log(`${endpoint}-failed`, { error: kind, sqlstate: code });
  return panelJson(500, { error: "server-error", message: "The panel's data could not be read. Try again; if it keeps failing, check the database (GET /api/health)." } satisfies PanelErrorBody);
}
