/**
 * Audit entries of the events recorded from more than one place, built in one place so their shape cannot drift:
 * a panel drill-down (the synced patient's page and its API) and a sync run's start and finish (the worker).
 */
import { patientEntity, type AuditEntry, type AuditOutcome } from "./audit";

/** Background work has no person behind it: the actor names the job, the role is "system". */
export const SYNC_ACTOR = "system:sync";

/** A clinic lead opening a synced patient (`via`: the page's server render or the API). */
export function syncedPatientViewEntry(input: {
  actor: { practitionerId: string | null; role: string | null };
  source: string;
  patientId: string;
  status: number;
  via: "page" | "api";
  origin: string | null;
  reason?: string;
}): AuditEntry {
  const outcome: AuditOutcome = input.status === 200 ? "success" : input.status === 401 || input.status === 403 ? "refused" : "failure";
  return {
    actor: input.actor.practitionerId ?? "unknown",
    role: input.actor.role,
    action: "panel.patient-view",
    entity: patientEntity(input.patientId),
    outcome,
    detail: { source: input.source, status: input.status, via: input.via, ...(input.reason ? { reason: input.reason } : {}) },
    origin: input.origin,
  };
}

/** A sync run picked up by a worker (a resumed run says so). */
export function syncStartEntry(input: { source: string; runId: string; kind: string; trigger: string | null; requestedBy: string | null; resumed: boolean }): AuditEntry {
  return {
    actor: SYNC_ACTOR,
    role: "system",
    action: "sync.start",
    entity: `sync-run:${input.runId}`,
    outcome: "success",
    detail: { source: input.source, runId: input.runId, kind: input.kind, trigger: input.trigger, requestedBy: input.requestedBy, resumed: input.resumed },
    origin: null,
  };
}

/** A sync run's end: succeeded (with its counts), cancelled, or failed (with the error's kind, never its text). */
export function syncFinishEntry(input: { source: string; runId: string; status: "succeeded" | "cancelled" | "failed"; counts?: Record<string, unknown>; error?: string; totalMs?: number }): AuditEntry {
  const counts: Record<string, number> = {};
  for (const [key, value] of Object.entries(input.counts ?? {})) if (typeof value === "number") counts[key] = value;
  return {
    actor: SYNC_ACTOR,
    role: "system",
    action: "sync.finish",
    entity: `sync-run:${input.runId}`,
    outcome: input.status === "failed" ? "failure" : "success",
    detail: { source: input.source, runId: input.runId, status: input.status, ...counts, ...(input.totalMs !== undefined ? { totalMs: input.totalMs } : {}), ...(input.error ? { error: input.error } : {}) },
    origin: null,
  };
}
