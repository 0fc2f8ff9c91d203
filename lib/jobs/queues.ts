/** The job queues, their data and their retry policies. */
import type { PgBoss } from "pg-boss";

export const SYNC_QUEUE = "sync";
export const SYNC_SCHEDULE_QUEUE = "sync-schedule";
export const EVALUATE_QUEUE = "evaluate";
export const CODE_COVERAGE_QUEUE = "code-coverage";
export const REPORT_EXPORT_QUEUE = "report-export";

/** A report export above the background threshold: the report_exports row holds its request and progress. */
export interface ReportExportJobData {
  exportId: string;
}

/** One sync run of one source: `runId` is the sync_runs row, which the job resumes when retried. */
export interface SyncJobData {
  runId: string;
  sourceId: string;
}

/** A scheduled incremental sync: the handler requests a run (or finds one already queued). */
export interface SyncScheduleJobData {
  sourceId: string;
}

/**
 * Re-evaluation: of one source or all (sourceId null); of the given patients, or everyone. With `code` (a site
 * mapping of that code was added or removed): of the patients whose resources carry it, in every source, found
 * by the job; the code-coverage views are recomputed after.
 */
export interface EvaluateJobData {
  sourceId: string | null;
  patientIds?: string[];
  reason: string;
  code?: { system: string; code: string };
}

/** The code-coverage views to recompute: one source's, or (null) every source's and the all-sources one. */
export interface CodeCoverageJobData {
  sourceId: string | null;
  reason: string;
}

/** The code-coverage job's singleton key: one queued and one running computation per target. */
export function codeCoverageJobKey(sourceId: string | null): string {
  return sourceId ?? "*";
}

export interface QueueTuning {
  /** How often a running job's worker proves it is alive; a job silent for longer is retried elsewhere (>= 10). */
  heartbeatSeconds?: number;
}

/**
 * sync: one active job per source (singleton policy, singletonKey = source). Heartbeats let a supervisor
 * see a worker that died and retry its job, and runSync resumes the run; a long export may run for hours.
 * evaluate: idempotent writes, so a retry after a crash simply evaluates again.
 * report-export: a retry after a crash writes the file again from the start.
 * code-coverage: stately per target (singletonKey): requests while one computation is queued join it, and one
 * asked for while another runs waits for it, so it reads the newer data; a retry simply computes again.
 */
function queueOptions(tuning: QueueTuning) {
  const heartbeatSeconds = Math.max(10, Math.floor(tuning.heartbeatSeconds ?? 30));
  return {
    [SYNC_QUEUE]: { retryLimit: 5, retryDelay: 5, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 4 * 3600, heartbeatSeconds },
    [SYNC_SCHEDULE_QUEUE]: { retryLimit: 2, retryDelay: 30, expireInSeconds: 300 },
    [EVALUATE_QUEUE]: { retryLimit: 3, retryDelay: 10, retryBackoff: true, expireInSeconds: 3600, heartbeatSeconds },
    [CODE_COVERAGE_QUEUE]: { retryLimit: 2, retryDelay: 30, retryBackoff: true, expireInSeconds: 3600, heartbeatSeconds },
    [REPORT_EXPORT_QUEUE]: { retryLimit: 2, retryDelay: 10, expireInSeconds: 3600, heartbeatSeconds },
  };
}

/**
 * Creates the queues when missing. A worker (`update`) also brings existing queues to these options, so a new
 * release's retry policy applies; app instances leave them as they are.
 */
export async function ensureQueues(boss: PgBoss, options: { update?: boolean; tuning?: QueueTuning } = {}): Promise<void> {
  const settings = queueOptions(options.tuning ?? {});
  await boss.createQueue(SYNC_QUEUE, { policy: "singleton", ...settings[SYNC_QUEUE] });
  await boss.createQueue(SYNC_SCHEDULE_QUEUE, settings[SYNC_SCHEDULE_QUEUE]);
  await boss.createQueue(EVALUATE_QUEUE, settings[EVALUATE_QUEUE]);
  await boss.createQueue(CODE_COVERAGE_QUEUE, { policy: "stately", ...settings[CODE_COVERAGE_QUEUE] });
  await boss.createQueue(REPORT_EXPORT_QUEUE, settings[REPORT_EXPORT_QUEUE]);
  if (!options.update) return;
  for (const [name, queueSettings] of Object.entries(settings)) await boss.updateQueue(name, queueSettings);
}
