/** Launch outcomes in the audit log (model AuditEvent). No PHI in `detail`: flags and the issuer's origin only. */
import type { PrismaClient } from "../generated/prisma/client";
import type { LaunchDeps } from "./launch";

export function auditSink(db: PrismaClient): NonNullable<LaunchDeps["audit"]> {
  return async (entry) => {
    await db.auditEvent.create({ data: { actor: entry.actor, role: entry.role, action: entry.action, outcome: entry.outcome, detail: entry.detail as object } });
  };
}
