/**
 * The real dependencies of the admin route handlers and pages: the process's Prisma client, the session's role
 * check (admin only), the app's own origin and the configured issuers.
 */
import "server-only";
import { cookies } from "next/headers";
import { prisma } from "../db/client";
import { smartConfig } from "../smart/config";
import { gateRequest, gateSession, type RoleGate } from "../smart/role-gate";
import { ADMIN_ROLES } from "../smart/roles";
import { SESSION_COOKIE } from "../smart/status";
import { requestOrigin } from "../smart/web-adapter";
import type { RolesApiDeps } from "./roles-api";

/** Full base URLs of SMART_ALLOWED_ISSUERS (bare origins and "*" name no single issuer). */
export function configuredIssuers(): string[] {
  try {
    const allowed = smartConfig().allowedIssuers;
    return allowed === "*" ? [] : allowed.filter((entry) => /^https?:\/\/[^/]+\/.+/.test(entry));
  } catch {
    return [];
  }
}

export function rolesRouteDeps(): RolesApiDeps {
  return {
    db: prisma(),
    authorize: async (request) => {
      const result = await gateRequest(request, ADMIN_ROLES);
      return "response" in result ? result.response : { practitionerId: result.gate.practitionerId, issuer: result.gate.issuer, role: result.gate.role };
    },
    appOrigin: (request) => requestOrigin(request, process.env.APP_BASE_URL || null),
    configuredIssuers,
  };
}

/** Every admin page calls this first and renders <RoleRefusal> when it is not ok. */
export async function adminGate(): Promise<RoleGate> {
  return gateSession((await cookies()).get(SESSION_COOKIE)?.value, ADMIN_ROLES);
}
