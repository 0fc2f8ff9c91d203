/** Launch outcomes and score writes in the audit log, through lib/audit's one writer (its PHI guard included). */
import { tryRecordAudit, type AuditOutcome } from "../audit/audit";
import type { PrismaClient } from "../generated/prisma/client";
import type { LaunchDeps } from "./launch";

export function auditSink(db: PrismaClient): NonNullable<LaunchDeps["audit"]> {
  return async (entry) => {
    await tryRecordAudit(db, {
      actor: entry.actor,
      role: entry.role,
      action: entry.action,
      outcome: entry.outcome as AuditOutcome,
      detail: entry.detail,
      origin: entry.origin ?? null,
    });
  };
}
