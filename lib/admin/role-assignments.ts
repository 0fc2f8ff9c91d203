/**
 * Role assignments made in the app (model RoleAssignment, table role_assignments): an admin gives a practitioner of
 * an issuer an app role that overrides the one the EHR's PractitionerRole gives at launch (lib/smart/role-lookup.ts,
 * decideLaunchRole). Every grant and revoke writes its audit_events row in the same transaction (who, role, what,
 * from where; no PHI: practitioner references and role names only), and ends that practitioner's open sessions so
 * the change holds from their next launch.
 */
import { recordAudit } from "../audit/audit";
import type { PrismaClient } from "../generated/prisma/client";
import type { AssignedRoleReader } from "../smart/role-lookup";
import { canonicalIssuer, isAppRole, type AppRole } from "../smart/roles";
import type { RoleAssignmentView } from "./types";

/** Prisma's client, or the client of one interactive transaction. */
type Db = Pick<PrismaClient, "roleAssignment" | "session" | "$executeRawUnsafe">;

/** The admin making a change, from the server-side session. */
export interface AdminActor {
  practitionerId: string | null;
  issuer: string | null;
  role: AppRole;
}

export interface ChangeContext {
  actor: AdminActor;
  /** The client address (auditOrigin), recorded as the audit row's origin. */
  origin: string | null;
}

export type RoleChangeProblem = "self-change" | "not-assigned";

export class RoleChangeError extends Error {
  override readonly name = "RoleChangeError";
  constructor(
    readonly problem: RoleChangeProblem,
    message: string,
  ) {
    super(message);
  }
}

export const ROLE_ASSIGN_ACTION = "role.assign";
export const ROLE_REVOKE_ACTION = "role.revoke";

function view(row: { issuer: string; practitioner: string; role: string; grantedBy: string; grantedAt: Date }): RoleAssignmentView {
  return { issuer: row.issuer, practitioner: row.practitioner, role: row.role, grantedBy: row.grantedBy, grantedAt: row.grantedAt.toISOString() };
}

/** Every assignment (an issuer's only, when given), by issuer then practitioner. */
export async function listRoleAssignments(db: Pick<PrismaClient, "roleAssignment">, filter: { issuer?: string } = {}): Promise<RoleAssignmentView[]> {
  const rows = await db.roleAssignment.findMany({
    ...(filter.issuer ? { where: { issuer: canonicalIssuer(filter.issuer) } } : {}),
    orderBy: [{ issuer: "asc" }, { practitioner: "asc" }],
  });
  return rows.map(view);
}

/** The app role assigned to (issuer, "Practitioner/<id>"), or null; a stored value that is not an app role grants nothing. */
export async function assignedRole(db: Pick<PrismaClient, "roleAssignment">, issuer: string, practitioner: string): Promise<AppRole | null> {
  const row = await db.roleAssignment.findUnique({ where: { issuer_practitioner: { issuer: canonicalIssuer(issuer), practitioner } } });
  return row && isAppRole(row.role) ? row.role : null;
}

/** For LaunchDeps.assignedRole: the launch's override lookup on this database. */
export function roleAssignmentReader(db: Pick<PrismaClient, "roleAssignment">): AssignedRoleReader {
  return (issuer, practitioner) => assignedRole(db, issuer, practitioner);
}

/** Issuers seen in assignments and in sessions (for the grant form's choices). */
export async function seenIssuers(db: Pick<PrismaClient, "roleAssignment" | "session">): Promise<string[]> {
  const [assigned, sessions] = await Promise.all([
    db.roleAssignment.findMany({ distinct: ["issuer"], select: { issuer: true } }),
    db.session.findMany({ where: { issuer: { not: null } }, distinct: ["issuer"], select: { issuer: true }, take: 100 }),
  ]);
  return [...assigned.map((r) => r.issuer), ...sessions.map((s) => s.issuer ?? "")].filter(Boolean).map(canonicalIssuer);
}

/** An admin who demoted themselves could leave the clinic without one: another admin makes such a change (refusal audited). */
async function refuseSelfChange(db: Db, action: string, key: { issuer: string; practitioner: string }, ctx: ChangeContext): Promise<void> {
  const { actor } = ctx;
  if (actor.practitionerId !== key.practitioner || actor.issuer === null || canonicalIssuer(actor.issuer) !== key.issuer) return;
  await recordRoleAudit(db, ctx, { action, outcome: "refused", practitioner: key.practitioner, detail: { issuer: key.issuer, practitioner: key.practitioner, reason: "self-change" } });
  throw new RoleChangeError("self-change", "You cannot change your own role here; ask another administrator.");
}

/** Ends the practitioner's open sessions at that issuer (the session row keeps the issuer as launched, slash or not). */
async function endSessions(tx: Db, issuer: string, practitioner: string): Promise<number> {
  const ended = await tx.session.deleteMany({ where: { practitionerId: practitioner, issuer: { in: [issuer, `${issuer}/`] } } });
  return ended.count;
}

/** Through the one audit writer (its PHI guard), inside the change's transaction so both commit or neither. */
async function recordRoleAudit(
  tx: Db,
  ctx: ChangeContext,
  entry: { action: string; outcome: "success" | "refused"; practitioner: string; detail: Record<string, string | number | boolean | null> },
): Promise<void> {
  await recordAudit(tx, {
    actor: ctx.actor.practitionerId ?? "unknown",
    role: ctx.actor.role,
    action: entry.action,
    entity: entry.practitioner,
    outcome: entry.outcome,
    detail: entry.detail,
    origin: ctx.origin,
  });
}

export interface GrantResult {
  outcome: "granted" | "changed" | "unchanged";
  assignment: RoleAssignmentView;
  previousRole: string | null;
  sessionsEnded: number;
}

/** Gives (issuer, practitioner) the role, replacing an earlier assignment; audited in the same transaction. */
export async function grantRole(db: PrismaClient, input: { issuer: string; practitioner: string; role: AppRole }, ctx: ChangeContext): Promise<GrantResult> {
  const issuer = canonicalIssuer(input.issuer);
  const key = { issuer, practitioner: input.practitioner };
  await refuseSelfChange(db, ROLE_ASSIGN_ACTION, key, ctx);
  return db.$transaction(async (tx) => {
    const before = await tx.roleAssignment.findUnique({ where: { issuer_practitioner: key } });
    const previousRole = before?.role ?? null;
    const outcome: GrantResult["outcome"] = !before ? "granted" : before.role === input.role ? "unchanged" : "changed";
    const grantedBy = ctx.actor.practitionerId ?? "unknown";
    const row =
      outcome === "unchanged"
        ? before!
        : await tx.roleAssignment.upsert({
            where: { issuer_practitioner: key },
            create: { ...key, role: input.role, grantedBy },
            update: { role: input.role, grantedBy, grantedAt: new Date() },
          });
    const sessionsEnded = outcome === "unchanged" ? 0 : await endSessions(tx, issuer, input.practitioner);
    await recordRoleAudit(tx, ctx, {
      action: ROLE_ASSIGN_ACTION,
      outcome: "success",
      practitioner: input.practitioner,
      detail: { issuer, practitioner: input.practitioner, role: input.role, previousRole, change: outcome, sessionsEnded },
    });
    return { outcome, assignment: view(row), previousRole, sessionsEnded };
  });
}

/**
 * Removes (issuer, practitioner)'s assignment: from their next launch the EHR's role applies again. A practitioner
 * with none is a RoleChangeError("not-assigned"), audited as refused.
 */
export async function revokeRole(db: PrismaClient, input: { issuer: string; practitioner: string }, ctx: ChangeContext): Promise<{ revoked: RoleAssignmentView; sessionsEnded: number }> {
  const issuer = canonicalIssuer(input.issuer);
  const key = { issuer, practitioner: input.practitioner };
  await refuseSelfChange(db, ROLE_REVOKE_ACTION, key, ctx);
  const result = await db.$transaction(async (tx) => {
    const before = await tx.roleAssignment.findUnique({ where: { issuer_practitioner: key } });
    if (!before) {
      await recordRoleAudit(tx, ctx, { action: ROLE_REVOKE_ACTION, outcome: "refused", practitioner: input.practitioner, detail: { issuer, practitioner: input.practitioner, reason: "not-assigned" } });
      return null;
    }
    await tx.roleAssignment.delete({ where: { issuer_practitioner: key } });
    const sessionsEnded = await endSessions(tx, issuer, input.practitioner);
    await recordRoleAudit(tx, ctx, {
      action: ROLE_REVOKE_ACTION,
      outcome: "success",
      practitioner: input.practitioner,
      detail: { issuer, practitioner: input.practitioner, previousRole: before.role, sessionsEnded },
    });
    return { revoked: view(before), sessionsEnded };
  });
  if (!result) throw new RoleChangeError("not-assigned", `${input.practitioner} has no role assigned in the app at ${issuer}.`);
  return result;
}
