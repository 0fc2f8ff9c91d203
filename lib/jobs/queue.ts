/**
 * Jobs on the PostgreSQL job queue (pg-boss), as the app asks for them: a sync of a source, its cancellation,
 * a re-evaluation. Any number of app instances may call these at once; a worker (lib/jobs/worker.ts, run by
 * `npm run worker` or inside the app process) does the work, each job once.
 */
import { randomUUID } from "node:crypto";
import type { PgBoss } from "pg-boss";
import { createSyncRun, requestRunCancel } from "../sync/run-sync";
import { closeSendContext, sendContext, type JobContext } from "./context";
import { EVALUATE_QUEUE, SYNC_QUEUE, type EvaluateJobData, type SyncJobData } from "./queues";
import type { StartWorkerOptions, WorkerHandle } from "./worker";

export type SyncTrigger = "manual" | "schedule" | "startup" | "mapping";

export interface SyncRequest {
  sourceId: string;
  /** A full export instead of an incremental one (_since the last success). */
  full?: boolean;
  trigger: SyncTrigger;
  requestedBy?: string | null;
}

/** Run statuses that still have work ahead (sync_runs.status). */
export const ACTIVE_RUN_STATUSES = ["queued", "exporting", "downloading", "evaluating"];
/** Patient ids per evaluation job: keeps job payloads small. */
const EVALUATION_CHUNK = 2000;

/** A sync asked for a source that is not configured, or is disabled: a route handler answers 404 / 409. */
export class SyncSourceError extends Error {
  override readonly name = "SyncSourceError";
  constructor(
    message: string,
    readonly reason: "unknown" | "disabled",
  ) {
    super(message);
  }
}

/** Whether a job is still going to run (queued, waiting to retry, or running). */
async function jobPending(boss: PgBoss, jobId: string | null): Promise<boolean> {
  if (!jobId) return false;
  const [job] = await boss.findJobs(SYNC_QUEUE, { id: jobId });
  return job !== undefined && (job.state === "created" || job.state === "retry" || job.state === "active");
}

/**
 * Records the job's id on the run, then sends the job. The id goes first: once the job exists a worker may be
 * updating the run, and a job whose send never happened is found missing and sent again by the next request.
 */
async function sendSyncJob(context: JobContext, runId: string, sourceId: string): Promise<void> {
  const jobId = randomUUID();
  await context.pool.query("UPDATE sync_runs SET job_id = $2 WHERE id = $1", [runId, jobId]);
  const data: SyncJobData = { runId, sourceId };
  const sent = await context.boss.send(SYNC_QUEUE, data, { id: jobId, singletonKey: sourceId });
  if (!sent) throw new Error(`The job queue refused the sync job of run ${runId}.`);
}

/**
 * Asks for a sync of a source. When the source already has a run queued or in progress, that run is returned
 * (alreadyQueued) instead of a second one; a run whose job was lost (a requester or worker died at the wrong
 * moment) gets a new job, and resumes. Requests for one source are serialised by an advisory lock, so two
 * app instances asking at once get the same run.
 */
export async function requestSync(input: SyncRequest): Promise<{ runId: string; alreadyQueued: boolean }> {
  const context = await sendContext();
  const client = await context.lockPool.connect();
  try {
    await client.query("BEGIN");
    const source = await client.query<{ enabled: boolean }>("SELECT enabled FROM sources WHERE id = $1", [input.sourceId]);
    if (!source.rows[0]) throw new SyncSourceError(`No source "${input.sourceId}" is configured (SYNC_SOURCES).`, "unknown");
    if (!source.rows[0].enabled) throw new SyncSourceError(`Source "${input.sourceId}" is disabled in the configuration.`, "disabled");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('ejm.sync-request'), hashtext($1))", [input.sourceId]);
    const active = await client.query<{ id: string; job_id: string | null }>(
      "SELECT id::text AS id, job_id FROM sync_runs WHERE source = $1 AND status = ANY($2::text[]) ORDER BY id DESC LIMIT 1",
      [input.sourceId, ACTIVE_RUN_STATUSES],
    );
    const existing = active.rows[0];
    if (existing) {
      if (!(await jobPending(context.boss, existing.job_id))) await sendSyncJob(context, existing.id, input.sourceId);
      await client.query("COMMIT");
      return { runId: existing.id, alreadyQueued: true };
    }
    const runId = (
      await createSyncRun(context.pool, { sourceId: input.sourceId, kind: input.full ? "full" : "incremental", trigger: input.trigger, requestedBy: input.requestedBy ?? null })
    ).toString();
    await sendSyncJob(context, runId, input.sourceId);
    await client.query("COMMIT");
    return { runId, alreadyQueued: false };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Asks a run to stop: the job running it cancels the export and ends the run "cancelled". */
export async function requestCancel(runId: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(runId)) return false;
  const context = await sendContext();
  return requestRunCancel(context.pool, BigInt(runId));
}

/** Queues a re-evaluation of a source (or all sources: null), of the given patients or (omitted) everyone. */
export async function requestEvaluation(input: { sourceId: string | null; patientIds?: string[]; reason: string }): Promise<void> {
  const context = await sendContext();
  if (input.patientIds === undefined) {
    const data: EvaluateJobData = { sourceId: input.sourceId, reason: input.reason };
    await context.boss.send(EVALUATE_QUEUE, data);
    return;
  }
  if (input.sourceId === null) throw new Error("requestEvaluation: patient ids need a source.");
  const ids = [...new Set(input.patientIds)];
  for (let i = 0; i < ids.length; i += EVALUATION_CHUNK) {
    const data: EvaluateJobData = { sourceId: input.sourceId, patientIds: ids.slice(i, i + EVALUATION_CHUNK), reason: input.reason };
    await context.boss.send(EVALUATE_QUEUE, data);
  }
}

/**
 * Sends this process's jobs to the database at `url` (a process without DATABASE_URL, e.g. the demo's launcher
 * when the worker runs elsewhere). No effect when the process already has a job context.
 */
export async function useJobDatabase(url: string): Promise<void> {
  await sendContext(url);
}

/** Stops this process's send-only job context (a worker is stopped with the handle startWorker returned). */
export async function closeJobs(): Promise<void> {
  await closeSendContext();
}

/** Starts this process's job worker (handlers and schedules); stop() lets running jobs finish first. */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const { startJobWorker } = await import("./worker");
  return startJobWorker(options);
}

export type { StartWorkerOptions, WorkerHandle };
