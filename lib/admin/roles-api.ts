/**
 * GET/POST/DELETE /api/admin/roles, framework-free: a state-changing request from another site is refused first (no
 * database work), then the admin role is checked (through `authorize`, built from the server-side session), the input
 * validated with zod, and the change delegated to role-assignments.ts (audited there, with the client address).
 */
import { z } from "zod";
import type { PrismaClient } from "../generated/prisma/client";
import { crossSiteRefusal, errorResponse, jsonResponse, queryObject, readJsonBody, validate } from "../panel/panel-requests";
import { APP_ROLES, canonicalIssuer, type AppRole } from "../smart/roles";
import { grantRole, listRoleAssignments, revokeRole, RoleChangeError, seenIssuers, type AdminActor } from "./role-assignments";
import type { GrantRoleResponse, RevokeRoleResponse, RoleAssignmentsResponse } from "./types";
import { auditOrigin } from "../audit/audit";
import { isDatabaseUnavailable } from "../db/outage";

export interface RolesApiDeps {
  db: PrismaClient;
  /** The admin from the session, or the 401/403 response to return. */
  authorize: (request: Request) => Promise<AdminActor | Response>;
  /** The app's own origin for this request (APP_BASE_URL, else the Host the browser used). */
  appOrigin: (request: Request) => string;
  /** Issuers configured for launches (SMART_ALLOWED_ISSUERS), offered in the grant form. */
  configuredIssuers?: () => string[];
}

const ISSUER = z
  .string()
  .trim()
  .max(2048, "is too long")
  // new URL() drops control characters the raw text keeps, and PostgreSQL cannot store NUL.
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "holds control characters")
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password && !url.search && !url.hash;
    } catch {
      return false;
    }
  }, "is not a FHIR base URL (http or https, no query)");

const PRACTITIONER = z
  .string()
  .trim()
  .regex(/^Practitioner\/[A-Za-z0-9\-.]{1,64}$/, 'is not "Practitioner/<id>" (the id_token\'s fhirUser, as the EHR names the user)');

export const listQuerySchema = z.strictObject({ issuer: z.union([ISSUER, z.literal("")]).optional() });

export const grantSchema = z.strictObject({
  issuer: ISSUER.optional(),
  practitioner: PRACTITIONER,
  role: z.enum(APP_ROLES as unknown as [AppRole, ...AppRole[]], { error: `is not one of ${APP_ROLES.join(", ")}` }),
});

export const revokeSchema = z.strictObject({
  issuer: ISSUER.optional(),
  practitioner: PRACTITIONER,
});

/** 503 (try again) when the database did not answer; any other failure is a 500, not a promise that a retry helps. */
function serviceUnavailable(endpoint: string, error: unknown): Response {
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "-";
  console.error(`[admin] roles-${endpoint}-failed error=${error instanceof Error ? error.name : "unknown"} sqlstate=${code}`);
  if (!isDatabaseUnavailable(error)) return errorResponse(500, "server-error", "The role assignments could not be read or changed (an error in the app; it is logged).");
  return errorResponse(503, "database-unavailable", "The role assignments could not be read or changed (the database did not answer). Try again in a minute.");
}

function issuerOf(requested: string | undefined, actor: AdminActor): string | Response {
  const issuer = requested || actor.issuer;
  if (!issuer) return errorResponse(400, "invalid-request", "Say which EHR (issuer) the practitioner signs in through: your session names none.");
  return canonicalIssuer(issuer);
}

function problemResponse(error: RoleChangeError): Response {
  return error.problem === "not-assigned" ? errorResponse(404, "not-assigned", error.message) : errorResponse(409, error.problem, error.message);
}

/** What the roles page and GET show: the assignments (one issuer's, when given), the issuers to offer, who asks. */
export async function rolesOverview(deps: Pick<RolesApiDeps, "db" | "configuredIssuers">, actor: AdminActor, issuer?: string): Promise<RoleAssignmentsResponse> {
  const [assignments, seen] = await Promise.all([listRoleAssignments(deps.db, issuer ? { issuer } : {}), seenIssuers(deps.db)]);
  const own = actor.issuer ? canonicalIssuer(actor.issuer) : null;
  const configured = (deps.configuredIssuers?.() ?? []).map(canonicalIssuer);
  const issuers = [...new Set([...(own ? [own] : []), ...configured, ...seen])];
  return { assignments, issuers, roles: APP_ROLES, you: { issuer: own, practitioner: actor.practitionerId } };
}

/** GET: every assignment (or one issuer's), the issuers to offer, the roles, and who is asking. */
export async function handleRolesGet(request: Request, deps: RolesApiDeps): Promise<Response> {
  const actor = await deps.authorize(request);
  if (actor instanceof Response) return actor;
  const query = validate(listQuerySchema, queryObject(request));
  if (!query.ok) return query.response;
  try {
    return jsonResponse(200, await rolesOverview(deps, actor, query.value.issuer || undefined));
  } catch (error) {
    return serviceUnavailable("list", error);
  }
}

/** POST { issuer?, practitioner, role }: 201 for a new assignment, 200 for a changed or unchanged one. */
export async function handleRolesPost(request: Request, deps: RolesApiDeps): Promise<Response> {
  const actor = crossSiteRefusal(request, deps.appOrigin(request)) ?? (await deps.authorize(request));
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, grantSchema);
  if (!body.ok) return body.response;
  const issuer = issuerOf(body.value.issuer, actor);
  if (issuer instanceof Response) return issuer;
  const { role } = body.value;
  try {
    const result = await grantRole(deps.db, { issuer, practitioner: body.value.practitioner, role }, { actor, origin: auditOrigin(request) });
    const message =
      result.outcome === "unchanged"
        ? `${body.value.practitioner} already has the ${role} role.`
        : `${body.value.practitioner} has the ${role} role from their next launch${result.sessionsEnded > 0 ? ` (${result.sessionsEnded} open session${result.sessionsEnded === 1 ? "" : "s"} ended)` : ""}.`;
    return jsonResponse(result.outcome === "granted" ? 201 : 200, { ...result, message } satisfies GrantRoleResponse);
  } catch (error) {
    if (error instanceof RoleChangeError) return problemResponse(error);
    return serviceUnavailable("grant", error);
  }
}

/** DELETE { issuer?, practitioner }: 200 with what was revoked; 404 when nothing was assigned. */
export async function handleRolesDelete(request: Request, deps: RolesApiDeps): Promise<Response> {
  const actor = crossSiteRefusal(request, deps.appOrigin(request)) ?? (await deps.authorize(request));
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, revokeSchema);
  if (!body.ok) return body.response;
  const issuer = issuerOf(body.value.issuer, actor);
  if (issuer instanceof Response) return issuer;
  try {
    const result = await revokeRole(deps.db, { issuer, practitioner: body.value.practitioner }, { actor, origin: auditOrigin(request) });
    const message = `${body.value.practitioner} no longer has a role assigned in the app; from their next launch the EHR's role applies.`;
    return jsonResponse(200, { ...result, message } satisfies RevokeRoleResponse);
  } catch (error) {
    if (error instanceof RoleChangeError) return problemResponse(error);
    return serviceUnavailable("revoke", error);
  }
}
