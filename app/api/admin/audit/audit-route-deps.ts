/**
 * The real dependencies of the admin audit routes (lib/audit/audit-handlers.ts): the session's admin check and the
 * process's pg pool.
 */
import "server-only";
import { AUDIT_ROLES, type AuditHandlerDeps } from "@/lib/audit/audit-handlers";
import { pgPool } from "@/lib/db/pool";
import { gateRequest } from "@/lib/smart/role-gate";
import { requestOrigin } from "@/lib/smart/web-adapter";

export function auditRouteDeps(): AuditHandlerDeps {
  return {
    authorize: async (request) => {
      const result = await gateRequest(request, AUDIT_ROLES);
      return "response" in result ? result.response : { practitionerId: result.gate.practitionerId, role: result.gate.role };
    },
    db: pgPool(),
    appUrl: (request) => requestOrigin(request, process.env.APP_BASE_URL || null),
  };
}
