/**
 * Jobs on the PostgreSQL job queue (pg-boss), as the app asks for them: a sync of a source, its cancellation,
 * a re-evaluation, the re-evaluation after a code mapping changed, a computation of the code-coverage views, and
 * how those last two are doing. Any number of app instances may call these at once; a worker (lib/jobs/worker.ts, run by
 * `npm run worker` or inside the app process) does the work, each job once.
 */
import { randomUUID } from "node:crypto";
import type { PgBoss } from "pg-boss";
import { z } from "zod";
import type { CodeReevaluationResult } from "../panel/code-mappings";
import { createSyncRun, requestRunCancel } from "../sync/run-sync";
import { closeSendContext, sendContext, type JobContext } from "./context";
import { CODE_COVERAGE_QUEUE, codeCoverageJobKey, EVALUATE_QUEUE, REPORT_EXPORT_QUEUE, SYNC_QUEUE, type CodeCoverageJobData, type EvaluateJobData, type ReportExportJobData, type SyncJobData } from "./queues";
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

/** Queues the background writing of a report export (its report_exports row exists). */
export async function requestReportExport(exportId: string): Promise<void> {
  const context = await sendContext();
  const data: ReportExportJobData = { exportId };
  const id = await context.boss.send(REPORT_EXPORT_QUEUE, data);
  if (!id) throw new Error("The job queue refused the report export job.");
}

/** Where a job is: waiting (or waiting to retry), running, done, or failed for good. */
export type JobProgress = "queued" | "running" | "done" | "failed";

export interface JobStatus {
  jobId: string;
  state: JobProgress;
}

function progressOf(state: string): JobProgress {
  if (state === "active") return "running";
  if (state === "completed") return "done";
  if (state === "failed" || state === "cancelled") return "failed";
  return "queued";
}

/**
 * Queues a computation of the code-coverage views (lib/panel/code-coverage.ts): one source's, or (null) every
 * source's and the all-sources one. Returns the job that will do it: a new one, or the one already queued for
 * the same target (which has not started, so it reads data at least as new as this request's).
 */
export async function sendCodeCoverageJob(boss: PgBoss, data: CodeCoverageJobData): Promise<string> {
  const key = codeCoverageJobKey(data.sourceId);
  // Twice: the queued job may start between a refused send and the look-up, leaving room for a new one.
  for (let attempt = 0; attempt < 2; attempt++) {
    const id = await boss.send(CODE_COVERAGE_QUEUE, data, { singletonKey: key });
    if (id) return id;
    const [queued] = await boss.findJobs(CODE_COVERAGE_QUEUE, { key, queued: true, limit: 1 });
    if (queued) return queued.id;
  }
  throw new Error("The job queue refused the code-coverage job.");
}

export async function requestCodeCoverage(input: CodeCoverageJobData): Promise<string> {
  const context = await sendContext();
  return sendCodeCoverageJob(context.boss, input);
}

/** A code-coverage job's progress, or null when there is no such job (or it has been purged). */
export async function codeCoverageJob(jobId: string): Promise<JobStatus | null> {
  const context = await sendContext();
  const [job] = await context.boss.findJobs(CODE_COVERAGE_QUEUE, { id: jobId });
  return job ? { jobId: job.id, state: progressOf(job.state) } : null;
}

/**
 * Queues the re-evaluation a changed site mapping of system|code needs: the job finds the synced patients whose
 * resources carry the code (a scan of every source), re-evaluates them, and then queues the code-coverage views.
 */
export async function requestCodeReevaluation(input: { system: string; code: string; reason: string }): Promise<string> {
  const context = await sendContext();
  const data: EvaluateJobData = { sourceId: null, reason: input.reason, code: { system: input.system, code: input.code } };
  const id = await context.boss.send(EVALUATE_QUEUE, data);
  if (!id) throw new Error("The job queue refused the re-evaluation job.");
  return id;
}

/** What a code re-evaluation job returns (lib/jobs/worker.ts), checked when read back. */
export interface CodeReevaluationOutput extends CodeReevaluationResult {
  /** The code-coverage computation queued after the re-evaluation; null when it could not be queued. */
  coverageJobId: string | null;
}

const codeReevaluationOutputSchema = z.object({
  patients: z.number().int().min(0),
  evaluated: z.number().int().min(0),
  sources: z.array(z.object({ source: z.string(), patients: z.number().int().min(0), evaluated: z.number().int().min(0), wholeSource: z.boolean() })),
  coverageJobId: z.string().nullable(),
});

/**
 * A code re-evaluation job's progress, with its result once done (null while it runs, and when the stored output
 * is not one: it is reported as such rather than guessed). Null when there is no such job, or the id names an
 * evaluation job of another kind.
 */
export async function codeReevaluationJob(jobId: string): Promise<(JobStatus & { result: CodeReevaluationOutput | null }) | null> {
  const context = await sendContext();
  const [job] = await context.boss.findJobs<EvaluateJobData>(EVALUATE_QUEUE, { id: jobId });
  if (!job || !job.data?.code) return null;
  const state = progressOf(job.state);
  const output = state === "done" ? codeReevaluationOutputSchema.safeParse(job.output) : null;
  return { jobId: job.id, state, result: output?.success ? output.data : null };
}

/** The code-coverage and code-mapping jobs, as the panel's route handlers take them (CodeJobs in lib/panel/panel-handlers.ts). */
export const codeJobs = { requestCodeCoverage, codeCoverageJob, requestCodeReevaluation, codeReevaluationJob };

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
