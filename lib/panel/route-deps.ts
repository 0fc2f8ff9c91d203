/**
 * The real dependencies of the sync and code-coverage route handlers: the process's pg pool, the session's role
 * check (clinic-lead only), the app's own origin and the job queue.
 */
import "server-only";
import { pgPool } from "../db/pool";
import { requestCancel, requestEvaluation, requestSync } from "../jobs/queue";
import { gateRequest } from "../smart/role-gate";
import { requestOrigin } from "../smart/web-adapter";
import type { PanelHandlerDeps } from "./panel-handlers";

const PANEL_ROLES = ["clinic-lead"] as const;

export function panelRouteDeps(): PanelHandlerDeps {
  return {
    pool: pgPool(),
    authorize: async (request) => {
      const result = await gateRequest(request, PANEL_ROLES);
      return "response" in result ? result.response : { practitionerId: result.gate.practitionerId, role: result.gate.role };
    },
    appOrigin: (request) => requestOrigin(request, process.env.APP_BASE_URL || null),
    queue: { requestSync, requestCancel, requestEvaluation },
  };
}
