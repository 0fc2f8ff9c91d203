/**
 * The job worker: runs sync jobs (runSync, resuming a run when its job is retried, then queueing the code-coverage
 * views), evaluation jobs (including the re-evaluation a changed code mapping needs), code-coverage jobs and the
 * schedules (every source re-evaluated at its clinic's midnight; incremental syncs on SYNC_CRON). Any number of
 * workers may share one database: pg-boss hands each job to one of them, and a job whose worker died is retried
 * elsewhere once its heartbeat goes stale.
 */
import type { Job } from "pg-boss";
import { z } from "zod";
import { eventLogger, lineLogger } from "../app/log";
import { todayIn } from "../fhir/patient-view";
import { computeCodeCoverageViews } from "../panel/code-coverage";
import { reevaluatePatientsWithCode } from "../panel/code-mappings";
import { evaluateAllPatients, evaluateDirtyPatients, evaluatePatientsById, tuneHeapForEvaluation } from "../sync/evaluate-patients";
import { runSync } from "../sync/run-sync";
import { runBackgroundExport } from "../reports/export-service";
import { loadSourceConfigs, type SourceConfig } from "../sync/sources";
import { clearContext, startWorkContext, type JobContext } from "./context";
import { requestSync, sendCodeCoverageJob, type CodeReevaluationOutput } from "./queue";
import {
  CODE_COVERAGE_QUEUE,
  EVALUATE_QUEUE,
  REPORT_EXPORT_QUEUE,
  SYNC_QUEUE,
  SYNC_SCHEDULE_QUEUE,
  type CodeCoverageJobData,
  type EvaluateJobData,
  type ReportExportJobData,
  type SyncJobData,
  type SyncScheduleJobData,
} from "./queues";

type Env = Record<string, string | undefined>;

export interface StartWorkerOptions {
  databaseUrl: string;
  log?: (line: string) => void;
  /** Where SYNC_SOURCES, SYNC_CRON, EVALUATE_CRON, CLINIC_AS_OF and CLINIC_TIMEZONE are read; default process.env. */
  env?: Env;
  /** The sources to sync; default loadSourceConfigs(env). */
  sources?: SourceConfig[];
  /** fetch for the FHIR servers (tests). */
  fetch?: typeof fetch;
  /** How long stop() waits for running jobs before handing them back to the queue (default 20 s). */
  stopGraceMs?: number;
}

export interface WorkerHandle {
  stop(): Promise<void>;
}

export const DEFAULT_SYNC_CRON = "0 * * * *";
export const DEFAULT_EVALUATE_CRON = "0 0 * * *";
const NIGHTLY_PREFIX = "nightly/";
const SYNC_PREFIX = "sync/";

const pinnedDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** The evaluation date for a clinic: CLINIC_AS_OF when pinned, else today in the clinic's time zone. */
export function clinicDate(env: Env, timezone: string | null | undefined): string {
  const pinned = pinnedDate.safeParse(env.CLINIC_AS_OF);
  return pinned.success ? pinned.data : todayIn(timezone || env.CLINIC_TIMEZONE || "UTC");
}

/**
 * EJM_JOB_HEARTBEAT_SECONDS (default 30, at least 10) and EJM_JOB_SUPERVISE_SECONDS (default 60): how soon a job
 * whose worker died is noticed and retried. Tests shorten them.
 */
function tuningOf(env: Env): { heartbeatSeconds?: number; superviseIntervalSeconds?: number } {
  const heartbeat = Number(env.EJM_JOB_HEARTBEAT_SECONDS);
  const supervise = Number(env.EJM_JOB_SUPERVISE_SECONDS);
  return {
    ...(Number.isFinite(heartbeat) && heartbeat >= 10 ? { heartbeatSeconds: Math.floor(heartbeat) } : {}),
    ...(Number.isFinite(supervise) && supervise >= 1 ? { superviseIntervalSeconds: Math.floor(supervise) } : {}),
  };
}

/** A cron setting: "off" (or "none", "false") disables it; unset gives the default. */
function cronSetting(value: string | undefined, fallback: string): string | null {
  const text = value?.trim();
  if (!text) return fallback;
  return /^(off|none|false|0)$/i.test(text) ? null : text;
}

/** The nightly re-evaluation and the incremental sync of every enabled source; stale schedules are removed. */
async function applySchedules(context: JobContext, sources: SourceConfig[], env: Env, log: (line: string) => void): Promise<void> {
  const { boss } = context;
  const evaluateCron = cronSetting(env.EVALUATE_CRON, DEFAULT_EVALUATE_CRON);
  const syncCron = cronSetting(env.SYNC_CRON, DEFAULT_SYNC_CRON);
  const enabled = sources.filter((s) => s.enabled);
  const wanted = new Map<string, Set<string>>([
    [EVALUATE_QUEUE, new Set()],
    [SYNC_SCHEDULE_QUEUE, new Set()],
  ]);
  for (const source of enabled) {
    if (evaluateCron) {
      const key = `${NIGHTLY_PREFIX}${source.id}`;
      const data: EvaluateJobData = { sourceId: source.id, reason: "nightly" };
      await boss.schedule(EVALUATE_QUEUE, evaluateCron, data, { tz: source.timezone, key });
      wanted.get(EVALUATE_QUEUE)!.add(key);
    }
    if (syncCron) {
      const key = `${SYNC_PREFIX}${source.id}`;
      const data: SyncScheduleJobData = { sourceId: source.id };
      await boss.schedule(SYNC_SCHEDULE_QUEUE, syncCron, data, { tz: source.timezone, key });
      wanted.get(SYNC_SCHEDULE_QUEUE)!.add(key);
    }
  }
  for (const [queue, keys] of wanted) {
    for (const schedule of await boss.getSchedules(queue)) {
      if (!keys.has(schedule.key)) await boss.unschedule(queue, schedule.key);
    }
  }
  log(
    `schedules: ${enabled.length} source(s); re-evaluation ${evaluateCron ? `"${evaluateCron}" at each clinic's time zone` : "off"}; incremental sync ${syncCron ? `"${syncCron}"` : "off"}`,
  );
}

export async function startJobWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const env = options.env ?? process.env;
  const log = options.log ?? lineLogger("worker");
  const sources = options.sources ?? loadSourceConfigs(env);
  tuneHeapForEvaluation();
  const context = await startWorkContext({ databaseUrl: options.databaseUrl, log, tuning: tuningOf(env) });
  const { boss, pool } = context;

  const timezones = new Map(sources.map((s) => [s.id, s.timezone]));
  const timezoneOf = async (sourceId: string): Promise<string | null> => {
    const known = timezones.get(sourceId);
    if (known) return known;
    const { rows } = await pool.query<{ timezone: string }>("SELECT timezone FROM sources WHERE id = $1", [sourceId]);
    return rows[0]?.timezone ?? null;
  };
  const asOfFor = async (sourceId: string) => clinicDate(env, await timezoneOf(sourceId));
  /** Queues the code-coverage views after their data changed; a failure is logged, never fails the job that changed it. */
  const queueCodeCoverage = async (reason: string): Promise<string | null> => {
    try {
      return await sendCodeCoverageJob(boss, { sourceId: null, reason });
    } catch (error) {
      log(`code coverage not queued after ${reason}: ${error instanceof Error ? error.message : "unknown error"}`);
      return null;
    }
  };

  const syncDeps = {
    pool,
    sources,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    // Structured (JSON lines with the run's counts and error kinds), whatever `log` the caller gave for progress lines.
    log: eventLogger("sync"),
    evaluateChanged: async (sourceId: string) => evaluateDirtyPatients(pool, sourceId, { asOf: await asOfFor(sourceId) }),
    asOf: () => clinicDate(env, null),
  };

  try {
    await boss.work<SyncJobData>(SYNC_QUEUE, { localConcurrency: 2, pollingIntervalSeconds: 1 }, async (jobs: Job<SyncJobData>[]) => {
      for (const job of jobs) {
        const summary = await runSync(BigInt(job.data.runId), syncDeps, job.signal);
        log(`sync run ${job.data.runId} of ${job.data.sourceId}: ${summary.status}${summary.error ? ` (${summary.error})` : ""}`);
        if (summary.status === "succeeded") await queueCodeCoverage(`sync:${job.data.runId}`);
      }
    });
    await boss.work<SyncScheduleJobData>(SYNC_SCHEDULE_QUEUE, { pollingIntervalSeconds: 5 }, async (jobs: Job<SyncScheduleJobData>[]) => {
      for (const job of jobs) {
        const { runId, alreadyQueued } = await requestSync({ sourceId: job.data.sourceId, trigger: "schedule" });
        log(`scheduled sync of ${job.data.sourceId}: run ${runId}${alreadyQueued ? " (already queued)" : ""}`);
      }
    });
    // Jobs come one at a time (batchSize 1), so what the handler returns is stored as that job's output.
    await boss.work<EvaluateJobData>(EVALUATE_QUEUE, { pollingIntervalSeconds: 1 }, async (jobs: Job<EvaluateJobData>[]) => {
      let output: CodeReevaluationOutput | undefined;
      for (const job of jobs) {
        const { sourceId, patientIds, reason, code } = job.data;
        const started = Date.now();
        let count = 0;
        if (code) {
          const result = await reevaluatePatientsWithCode(pool, code, async (source, ids) => {
            const options = { asOf: await asOfFor(source), signal: job.signal };
            return ids ? evaluatePatientsById(pool, source, ids, options) : evaluateAllPatients(pool, source, options);
          });
          output = { ...result, coverageJobId: await queueCodeCoverage(reason) };
          count = result.evaluated;
        } else if (sourceId === null) {
          const { rows } = await pool.query<{ source: string }>("SELECT DISTINCT source FROM patients ORDER BY source");
          for (const { source } of rows) count += await evaluateAllPatients(pool, source, { asOf: await asOfFor(source), signal: job.signal });
        } else if (patientIds) {
          count = await evaluatePatientsById(pool, sourceId, patientIds, { asOf: await asOfFor(sourceId), signal: job.signal });
        } else {
          count = await evaluateAllPatients(pool, sourceId, { asOf: await asOfFor(sourceId), signal: job.signal });
        }
        log(`evaluation (${reason}) of ${sourceId ?? "all sources"}: ${count} patient(s) in ${Date.now() - started} ms`);
      }
      return output;
    });
    await boss.work<CodeCoverageJobData>(CODE_COVERAGE_QUEUE, { pollingIntervalSeconds: 1 }, async (jobs: Job<CodeCoverageJobData>[]) => {
      for (const job of jobs) {
        const computed = await computeCodeCoverageViews(pool, { sourceId: job.data.sourceId });
        log(`code coverage (${job.data.reason}) of ${job.data.sourceId ?? "all sources"}: ${computed.views.length} view(s), scan ${computed.scanMs} ms`);
      }
    });
    await boss.work<ReportExportJobData>(REPORT_EXPORT_QUEUE, { pollingIntervalSeconds: 1 }, async (jobs: Job<ReportExportJobData>[]) => {
      for (const job of jobs) {
        const result = await runBackgroundExport(pool, job.data.exportId, { env });
        log(`report export ${job.data.exportId}: ${result?.status ?? "missing"}${result ? `, ${result.rowsWritten} row(s), ${result.bytes} bytes` : ""}`);
      }
    });
    await applySchedules(context, sources, env, log);
  } catch (error) {
    await context.close(0);
    clearContext(context);
    throw error;
  }
  log(`started: ${sources.length} source(s) configured`);

  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        await context.close(options.stopGraceMs ?? 20_000);
        clearContext(context);
        log("stopped");
      })()),
  };
}
