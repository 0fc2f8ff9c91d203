/**
 * One sync of one source, as a resumable state machine whose state lives in sync_runs and sync_files:
 *
 *   queued -> exporting (kick-off with _since = the source's last transactionTime unless "full"; the status URL is
 *   stored at once) -> downloading (manifest saved: transactionTime and one sync_files row per file; files ingested
 *   2 at a time, each in ONE transaction that also marks it done; then the deleted files) -> evaluating (the patients
 *   whose data changed) -> succeeded (only now the source's last_transaction_time moves on).
 *
 * runSync(runId) picks a run up wherever it stopped: an export in progress is polled again (or kicked off again if
 * the server forgot it), files already done are skipped, a failed file is retried with back-off (a database restart
 * or truncated download included). One process runs a run at a time (a session advisory lock, released when the
 * process dies). Servers without $export go through lib/sync/search-fallback.ts with the same ingest.
 * Cancel: sync_runs.cancel_requested, read while polling and between (and during) files, DELETEs the export.
 */
import type pg from "pg";
import { tryRecordAudit } from "../audit/audit";
import { syncFinishEntry, syncStartEntry } from "../audit/events";
import { ingestDeletedLines, ingestLines, ingestOutcomeLines, sourceIsEmpty, type IngestResult } from "../db/resource-store";
import { BackendAuthError, BackendTokenProvider } from "../fhir/backend-auth";
import { BulkClient, BulkExportError, TruncatedNdjsonError, type BulkManifest, type ExportLevel, type ExportProgress } from "../fhir/bulk-client";
import { readCapabilities } from "../fhir/capabilities";
import { abortableSleep } from "../fhir/http-retry";
import { evaluateDirtyPatients } from "./evaluate-patients";
import { fetchPatientLines, listPatientIds, SearchFallbackError } from "./search-fallback";
import { loadSourceConfigs, type SourceConfig } from "./sources";

export interface SyncDeps {
  pool: pg.Pool;
  /** The configured sources; default loadSourceConfigs(). */
  sources?: SourceConfig[];
  fetch?: typeof fetch;
  /** Events without PHI: counts, phases, file names, error kinds. */
  log?: (event: string, fields: Record<string, string | number | boolean | null>) => void;
  /** Re-evaluates the source's dirty patients; returns how many. Default evaluateDirtyPatients at deps.asOf(). */
  evaluateChanged?: (sourceId: string, runId: bigint) => Promise<number>;
  /** The evaluation date for the default evaluateChanged. */
  asOf?: () => string;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Files (or patients, in search mode) ingested at once; default 2. */
  concurrency?: number;
  /** Attempts per file before the run fails; default 6 (back-off 1, 2, 4, 8, 16 s). */
  maxFileAttempts?: number;
  /** First back-off step between file attempts, ms; default 1000. */
  retryBaseMs?: number;
  /** How often progress and the heartbeat are written and cancel_requested is read, ms; default 1000. */
  watchIntervalMs?: number;
}

export interface SyncRunSummary {
  runId: bigint;
  status: "succeeded" | "failed" | "cancelled";
  counts: Record<string, unknown>;
  error?: string;
}

type RunKind = "incremental" | "full" | "search";
type Phase = "queued" | "exporting" | "downloading" | "evaluating";
type FileKind = "output" | "deleted" | "error" | "patient";

/** sync_runs.counts: the figures shown on the sync page, plus what a resumed run needs to know. */
interface RunCounts {
  filesTotal?: number;
  filesDone?: number;
  resources?: Record<string, number>;
  inserted?: number;
  updated?: number;
  unchanged?: number;
  deleted?: number;
  malformed?: number;
  exportErrors?: number;
  patientsChanged?: number;
  evaluated?: number;
  /** Resume state: the phase reached, bulk or search, whether this run began on an empty source. */
  phase?: Phase;
  method?: "bulk" | "search";
  initialLoad?: boolean;
  requiresAccessToken?: boolean;
  /** Exports kicked off by this run (a vanished export is started again, twice at most). */
  exports?: number;
}

interface RunRow {
  id: string;
  source: string;
  kind: RunKind;
  status: string;
  status_url: string | null;
  transaction_time: Date | null;
  counts: RunCounts;
  timings: Record<string, number>;
  cancel_requested: boolean;
  started_at: Date;
  error: string | null;
  trigger: string | null;
  requested_by: string | null;
}

interface FileRow {
  url: string;
  type: string;
  status: string;
  /** While pending: the line count the manifest announced (0 unknown); once done: the lines read. */
  lines: number;
}

const ACTIVE = new Set(["queued", "exporting", "downloading", "evaluating", "failed"]);
/** Advisory lock namespace of sync runs ("EJMS"). */
const RUN_LOCK_CLASS = 0x454a4d53;
const MAX_EXPORTS = 3;
/** Progress bands: the export at the EHR, the downloads, the evaluation. */
const EXPORT_END = 0.3;
const DOWNLOAD_END = 0.9;
const PATIENT_PREFIX = "Patient/";
/** SQLSTATEs worth another attempt: connection lost, server shutting down or starting, deadlock, serialization. */
const RETRYABLE_SQLSTATE = /^(08|57P0|40001|40P01|53)/;

export class SyncRunBusyError extends Error {
  override readonly name = "SyncRunBusyError";
  constructor(readonly runId: bigint) {
    super(`sync run ${runId} is being run by another process`);
  }
}

/** A failure whose message and hint are ready for the sync page. */
class SyncFailure extends Error {
  override readonly name = "SyncFailure";
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

class CancelledError extends Error {
  override readonly name = "CancelledError";
}

/** The export disappeared at the server (expired or deleted): start it again. */
class ExportGoneError extends Error {
  override readonly name = "ExportGoneError";
}

class IncompleteFileError extends Error {
  override readonly name = "IncompleteFileError";
}

/** Creates a run in status "queued"; runSync does the work. */
export async function createSyncRun(pool: pg.Pool, input: { sourceId: string; kind?: RunKind; trigger: string; requestedBy?: string | null }): Promise<bigint> {
  const { rows } = await pool.query<{ id: string }>(
    "INSERT INTO sync_runs (source, kind, trigger, status, requested_by) VALUES ($1, $2, $3, 'queued', $4) RETURNING id::text AS id",
    [input.sourceId, input.kind ?? "incremental", input.trigger, input.requestedBy ?? null],
  );
  return BigInt(rows[0]!.id);
}

/**
 * Asks a run to stop. A run in progress notices within a second, DELETEs its export and ends "cancelled"; a run
 * nobody is running (queued, or its process died) ends "cancelled" here. False when the run has already ended.
 */
export async function requestRunCancel(pool: pg.Pool, runId: bigint): Promise<boolean> {
  const { rows } = await pool.query<{ id: string }>(
    "UPDATE sync_runs SET cancel_requested = true WHERE id = $1 AND status = ANY($2::text[]) RETURNING id::text AS id",
    [runId.toString(), [...ACTIVE].filter((status) => status !== "failed")],
  );
  if (rows.length === 0) return false;
  const lock = await tryRunLock(pool, runId);
  if (lock) {
    try {
      await pool.query(
        `UPDATE sync_runs SET status = 'cancelled', finished_at = now(), progress_text = 'Cancelled before it ran further'
         WHERE id = $1 AND status = ANY($2::text[])`,
        [runId.toString(), [...ACTIVE]],
      );
    } finally {
      await lock.release();
    }
  }
  return true;
}

async function tryRunLock(pool: pg.Pool, runId: bigint): Promise<{ release(): Promise<void> } | null> {
  const client = await pool.connect();
  const onError = (): void => undefined;
  client.on("error", onError);
  const key = Number(runId % 2_147_483_647n);
  try {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS locked", [RUN_LOCK_CLASS, key]);
    if (!rows[0]?.locked) {
      client.off("error", onError);
      client.release();
      return null;
    }
  } catch (error) {
    client.off("error", onError);
    client.release(true);
    throw error;
  }
  return {
    async release() {
      let broken = false;
      await client.query("SELECT pg_advisory_unlock($1, $2)", [RUN_LOCK_CLASS, key]).catch(() => {
        broken = true;
      });
      client.off("error", onError);
      // A connection that lost the server cannot go back to the pool (and its lock went with it).
      client.release(broken ? true : undefined);
    },
  };
}

async function loadRun(pool: pg.Pool, runId: bigint): Promise<RunRow | null> {
  const { rows } = await pool.query<RunRow>(
    `SELECT id::text AS id, source, kind, status, status_url, transaction_time, counts, timings, cancel_requested, started_at, error, trigger, requested_by
     FROM sync_runs WHERE id = $1`,
    [runId.toString()],
  );
  return rows[0] ?? null;
}

function summaryOf(run: RunRow): SyncRunSummary {
  const status = run.status === "succeeded" || run.status === "cancelled" ? run.status : "failed";
  return { runId: BigInt(run.id), status, counts: publicCounts(run.counts), ...(run.error ? { error: run.error } : {}) };
}

function publicCounts(counts: RunCounts): Record<string, unknown> {
  const { phase: _phase, method: _method, initialLoad: _initialLoad, requiresAccessToken: _requiresAccessToken, exports: _exports, ...rest } = counts;
  return rest;
}

/**
 * Runs (or resumes) a sync run to its end: "succeeded", "failed" (with error and error_hint) or "cancelled".
 * Aborting `signal` stops the work and leaves the run where it is, to be resumed by another runSync(runId).
 * Throws SyncRunBusyError when another process is running it.
 */
export async function runSync(runId: bigint, deps: SyncDeps, signal?: AbortSignal): Promise<SyncRunSummary> {
  const lock = await tryRunLock(deps.pool, runId);
  if (!lock) throw new SyncRunBusyError(runId);
  try {
    const run = await loadRun(deps.pool, runId);
    if (!run) throw new Error(`sync run ${runId} does not exist`);
    if (!ACTIVE.has(run.status)) return summaryOf(run);
    return await new SyncRunner(run, deps, signal).run();
  } finally {
    await lock.release();
  }
}

class SyncRunner {
  private readonly pool: pg.Pool;
  private readonly runId: bigint;
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly log: NonNullable<SyncDeps["log"]>;
  private cancelled = false;
  private source!: SourceConfig;
  private bulkClient?: BulkClient;
  private auth?: BackendTokenProvider;
  private watcher?: NodeJS.Timeout;
  private watching = false;
  private progress = 0;
  private progressText: string | null = null;
  /** The site's mapped score codes (search fallback). */
  private extraCodes?: string[];

  constructor(
    private row: RunRow,
    private readonly deps: SyncDeps,
    private readonly outerSignal: AbortSignal | undefined,
  ) {
    this.pool = deps.pool;
    this.runId = BigInt(row.id);
    this.signal = outerSignal ? AbortSignal.any([this.controller.signal, outerSignal]) : this.controller.signal;
    this.sleep = deps.sleep ?? abortableSleep;
    this.log = deps.log ?? (() => undefined);
  }

  async run(): Promise<SyncRunSummary> {
    this.startWatcher();
    try {
      // Audited in its own statement, outside any transaction of the run (a rolled-back file never hides it).
      await tryRecordAudit(
        this.pool,
        syncStartEntry({ source: this.row.source, runId: this.row.id, kind: this.row.kind, trigger: this.row.trigger, requestedBy: this.row.requested_by, resumed: this.row.status !== "queued" }),
      );
      this.source = this.resolveSource();
      if (this.row.cancel_requested) throw new CancelledError("cancel requested");
      let phase: Phase = this.row.counts.phase ?? (this.row.status === "failed" || this.row.status === "queued" ? "queued" : (this.row.status as Phase));
      this.log("sync.run", { runId: this.row.id, source: this.source.id, kind: this.row.kind, phase, resumed: phase !== "queued" });
      if (this.row.status === "failed") {
        // Resuming a failed run: it is in progress again.
        await this.pool.query("UPDATE sync_runs SET status = $2, error = NULL, error_hint = NULL, finished_at = NULL, heartbeat_at = now() WHERE id = $1", [this.row.id, phase]);
        this.row.status = phase;
      }
      if (phase === "queued") phase = await this.begin();
      for (;;) {
        this.throwIfStopped();
        if (phase === "exporting") {
          await this.export();
          phase = "downloading";
        } else if (phase === "downloading") {
          const next = this.row.counts.method === "search" ? await this.searchDownload() : await this.download();
          phase = next;
        } else {
          await this.evaluate();
          return await this.finishSucceeded();
        }
      }
    } catch (error) {
      if (this.cancelled || error instanceof CancelledError) return await this.finishCancelled();
      // Stopped from outside (shutdown, job timeout): the run stays where it is and resumes later.
      if (this.outerSignal?.aborted) throw error;
      return await this.finishFailed(error);
    } finally {
      this.stopWatcher();
    }
  }

  private resolveSource(): SourceConfig {
    let sources: SourceConfig[];
    try {
      sources = this.deps.sources ?? loadSourceConfigs();
    } catch (error) {
      throw new SyncFailure(error instanceof Error ? error.message : "invalid sync configuration", "Fix the sync source configuration (SYNC_SOURCES or SYNC_SOURCES_FILE) and run the sync again.");
    }
    const source = sources.find((candidate) => candidate.id === this.row.source);
    if (!source) {
      throw new SyncFailure(`source ${this.row.source} is not configured`, `Add a source with id "${this.row.source}" to SYNC_SOURCES (or SYNC_SOURCES_FILE), or sync a configured source.`);
    }
    if (!source.enabled) throw new SyncFailure(`source ${source.id} is disabled`, `Enable source "${source.id}" in the sync configuration to sync it.`);
    return source;
  }

  private tokens(): BackendTokenProvider {
    this.auth ??= new BackendTokenProvider(
      this.source.fhirBase,
      { clientId: this.source.clientId, privateJwk: this.source.privateJwk, scope: this.source.scope, ...(this.source.jwksUrl ? { jwksUrl: this.source.jwksUrl } : {}) },
      { ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}), ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}) },
    );
    return this.auth;
  }

  private bulk(): BulkClient {
    this.bulkClient ??= new BulkClient({
      fhirBase: this.source.fhirBase,
      auth: this.tokens(),
      ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
      ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
    });
    return this.bulkClient;
  }

  private throwIfStopped(): void {
    if (this.cancelled) throw new CancelledError("cancel requested");
    this.signal.throwIfAborted();
  }

  // --- state in sync_runs -------------------------------------------------------------------------------

  /** Merges counts (and optionally sets columns) on the run row. */
  private async updateRun(fields: { status?: string; counts?: RunCounts; timings?: Record<string, number>; statusUrl?: string | null; since?: Date | null; transactionTime?: string; kind?: RunKind }, client: pg.Pool | pg.PoolClient = this.pool): Promise<void> {
    const sets = ["heartbeat_at = now()"];
    const values: unknown[] = [this.row.id];
    const add = (column: string, value: unknown, cast = ""): void => {
      values.push(value);
      sets.push(`${column} = ${cast ? `$${values.length}::${cast}` : `$${values.length}`}`);
    };
    if (fields.status !== undefined) add("status", fields.status);
    if (fields.kind !== undefined) add("kind", fields.kind);
    if (fields.statusUrl !== undefined) add("status_url", fields.statusUrl);
    if (fields.since !== undefined) add("since", fields.since);
    if (fields.transactionTime !== undefined) add("transaction_time", fields.transactionTime, "timestamptz");
    if (fields.counts) {
      values.push(JSON.stringify(fields.counts));
      sets.push(`counts = counts || $${values.length}::jsonb`);
      this.row.counts = { ...this.row.counts, ...fields.counts };
    }
    if (fields.timings) {
      values.push(JSON.stringify(fields.timings));
      sets.push(`timings = timings || $${values.length}::jsonb`);
      this.row.timings = { ...this.row.timings, ...fields.timings };
    }
    if (fields.status !== undefined) this.row.status = fields.status;
    await client.query(`UPDATE sync_runs SET ${sets.join(", ")} WHERE id = $1`, values);
  }

  private setProgress(progress: number, text: string): void {
    this.progress = Math.max(0, Math.min(1, progress));
    this.progressText = text;
  }

  /** Every watchIntervalMs: heartbeat and progress written, cancel_requested read. */
  private startWatcher(): void {
    const interval = this.deps.watchIntervalMs ?? 1000;
    const tick = async (): Promise<void> => {
      if (this.watching) return;
      this.watching = true;
      try {
        const { rows } = await this.pool.query<{ cancel_requested: boolean }>(
          "UPDATE sync_runs SET heartbeat_at = now(), progress = $2, progress_text = $3 WHERE id = $1 RETURNING cancel_requested",
          [this.row.id, this.progress, this.progressText],
        );
        if (rows[0]?.cancel_requested && !this.cancelled) {
          this.cancelled = true;
          this.controller.abort(new CancelledError("cancel requested"));
        }
      } catch {
        // The database is away: the file transactions notice and retry; the next tick tries again.
      } finally {
        this.watching = false;
      }
    };
    this.watcher = setInterval(() => void tick(), interval);
    this.watcher.unref();
  }

  private stopWatcher(): void {
    if (this.watcher) clearInterval(this.watcher);
  }

  private async withTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const onError = (): void => undefined;
    // A connection lost mid-transaction must fail this attempt, not crash the process.
    client.on("error", onError);
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.off("error", onError);
      client.release(broken ? true : undefined);
    }
  }

  // --- phases -------------------------------------------------------------------------------------------

  /** Decides bulk or search, notes whether the source is empty (a first load), and enters the first phase. */
  private async begin(): Promise<Phase> {
    this.setProgress(0, "Starting");
    await this.pool.query(
      `INSERT INTO sources (id, name, fhir_base, client_id, group_id, export_level, timezone, enabled, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) ON CONFLICT (id) DO NOTHING`,
      [this.source.id, this.source.name, this.source.fhirBase, this.source.clientId, this.source.groupId, this.source.exportLevel, this.source.timezone, this.source.enabled],
    );
    const initialLoad = this.row.counts.initialLoad ?? (await sourceIsEmpty(this.pool, this.source.id));
    let method: "bulk" | "search" = this.row.kind === "search" ? "search" : "bulk";
    if (method === "bulk") {
      const capabilities = await readCapabilities(this.source.fhirBase, this.deps.fetch ? { fetch: this.deps.fetch } : {});
      if (!capabilities.exportLevels.includes(this.source.exportLevel)) method = "search";
      this.log("sync.capabilities", { runId: this.row.id, exportLevels: capabilities.exportLevels.join(",") || "none", method });
    }
    const phase: Phase = method === "bulk" ? "exporting" : "downloading";
    await this.updateRun({ status: phase, counts: { phase, method, initialLoad }, ...(method === "search" ? { kind: "search" as const } : {}) });
    this.row.kind = method === "search" ? "search" : this.row.kind;
    return phase;
  }

  private exportLevel(): ExportLevel {
    if (this.source.exportLevel === "group") return { kind: "group", groupId: this.source.groupId ?? "" };
    return { kind: this.source.exportLevel };
  }

  private async export(): Promise<void> {
    const bulk = this.bulk();
    const started = performance.now();
    let statusUrl = this.row.status_url;
    for (;;) {
      this.throwIfStopped();
      if (!statusUrl) {
        if ((this.row.counts.exports ?? 0) >= MAX_EXPORTS) {
          throw new SyncFailure("the export kept disappearing at the EHR", "The EHR dropped the export before it could be downloaded, several times; try again later or ask the EHR administrator how long exports are kept.");
        }
        const since = this.row.kind === "full" ? null : await this.lastTransactionTime();
        this.setProgress(0.01, "Asking the EHR for an export");
        const kickoffStarted = performance.now();
        ({ statusUrl } = await bulk.kickOff({ level: this.exportLevel(), types: this.source.types, ...(since ? { since: since.toISOString() } : {}) }, this.signal));
        await this.updateRun({
          statusUrl,
          since,
          counts: { exports: (this.row.counts.exports ?? 0) + 1 },
          timings: { kickoffMs: Math.round(performance.now() - kickoffStarted) },
        });
        this.row.status_url = statusUrl;
        this.log("sync.exporting", { runId: this.row.id, since: since?.toISOString() ?? null });
      }
      this.setProgress(0.02, "The EHR is preparing the export");
      try {
        const manifest = await bulk.waitForManifest(statusUrl, { signal: this.signal, onProgress: (progress) => this.onExportProgress(progress) });
        await this.saveManifest(manifest, Math.round(performance.now() - started));
        return;
      } catch (error) {
        if (!(error instanceof BulkExportError && (error.status === 404 || error.status === 410))) throw error;
        // The server forgot the export (restart, expiry): kick it off again.
        this.log("sync.export-gone", { runId: this.row.id, status: error.status });
        statusUrl = null;
        await this.updateRun({ statusUrl: null });
        this.row.status_url = null;
      }
    }
  }

  private onExportProgress(progress: ExportProgress): void {
    const fraction = progress.percent === null ? 0.05 : progress.percent / 100;
    this.setProgress(0.02 + (EXPORT_END - 0.02) * fraction, `The EHR is preparing the export${progress.text ? `: ${progress.text}` : ""}`);
  }

  private async lastTransactionTime(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ last_transaction_time: Date | null }>("SELECT last_transaction_time FROM sources WHERE id = $1", [this.source.id]);
    return rows[0]?.last_transaction_time ?? null;
  }

  private async saveManifest(manifest: BulkManifest, exportMs: number): Promise<void> {
    const files: { url: string; type: string; expected: number }[] = [
      ...manifest.output.map((file) => ({ url: file.url, type: file.type, expected: file.count ?? 0 })),
      ...(manifest.deleted ?? []).map((file) => ({ url: file.url, type: `deleted:${file.type}`, expected: 0 })),
      ...manifest.error.map((file) => ({ url: file.url, type: `error:${file.type}`, expected: 0 })),
    ];
    await this.withTransaction(async (client) => {
      await client.query(
        `INSERT INTO sync_files (run_id, url, type, lines) SELECT $1, f.url, f.type, f.lines FROM unnest($2::text[], $3::text[], $4::int[]) AS f(url, type, lines)
         ON CONFLICT (run_id, url) DO NOTHING`,
        [this.row.id, files.map((file) => file.url), files.map((file) => file.type), files.map((file) => file.expected)],
      );
      await this.updateRun(
        {
          status: "downloading",
          transactionTime: manifest.transactionTime,
          counts: { phase: "downloading", filesTotal: files.length, filesDone: 0, requiresAccessToken: manifest.requiresAccessToken },
          timings: { exportMs },
        },
        client,
      );
    });
    this.row.transaction_time = new Date(manifest.transactionTime);
    this.setProgress(EXPORT_END, `Export ready: ${files.length} file(s)`);
    this.log("sync.manifest", { runId: this.row.id, files: files.length, deleted: manifest.deleted?.length ?? 0, errors: manifest.error.length });
  }

  private async files(): Promise<FileRow[]> {
    const { rows } = await this.pool.query<FileRow>("SELECT url, type, status, lines FROM sync_files WHERE run_id = $1 ORDER BY type, url", [this.row.id]);
    return rows;
  }

  private async download(): Promise<Phase> {
    const started = performance.now();
    const files = await this.files();
    const kindOf = (file: FileRow): FileKind => (file.type.startsWith("deleted:") ? "deleted" : file.type.startsWith("error:") ? "error" : "output");
    const progress = new DownloadProgress(files, (fraction, text) => this.setProgress(EXPORT_END + (DOWNLOAD_END - EXPORT_END) * fraction, text));
    const ingestMs = { value: 0 };
    try {
      // Deletions after the resources (a resource deleted and re-created must end up deleted only if that came last).
      for (const kind of ["output", "deleted", "error"] as const) {
        const pending = files.filter((file) => file.status !== "done" && kindOf(file) === kind);
        await forEachLimit(pending, this.deps.concurrency ?? 2, () => this.throwIfStopped(), (file) => this.ingestFile(file, kind, progress, ingestMs));
      }
    } catch (error) {
      if (!(error instanceof ExportGoneError)) throw error;
      // A file vanished (the export expired): export again; the files already ingested stay done.
      this.log("sync.export-gone", { runId: this.row.id, during: "download" });
      await this.withTransaction(async (client) => {
        await client.query("DELETE FROM sync_files WHERE run_id = $1 AND status <> 'done'", [this.row.id]);
        await this.updateRun({ status: "exporting", statusUrl: null, counts: { phase: "exporting" } }, client);
      });
      this.row.status_url = null;
      return "exporting";
    }
    await this.updateRun({
      status: "evaluating",
      counts: { phase: "evaluating" },
      timings: { downloadMs: Math.round(performance.now() - started), ingestMs: Math.round((this.row.timings.ingestMs ?? 0) + ingestMs.value) },
    });
    return "evaluating";
  }

  /** One file in one transaction: stream, ingest, mark done, add the counts; retried with back-off. */
  private async ingestFile(file: FileRow, kind: FileKind, progress: DownloadProgress, ingestMs: { value: number }): Promise<void> {
    const maxAttempts = this.deps.maxFileAttempts ?? 6;
    const name = kind === "patient" ? "patient record" : fileName(file.url);
    for (let attempt = 1; ; attempt++) {
      this.throwIfStopped();
      const started = performance.now();
      const waited = { value: 0 };
      let bytes = 0;
      progress.start(file.url, name);
      try {
        // A patient's record is fetched before the transaction opens (a file has to stream inside it).
        const record = kind === "patient" ? countBytes(await this.patientLines(file.url.slice(PATIENT_PREFIX.length)), (count) => (bytes += count)) : null;
        if (record) waited.value += performance.now() - started;
        await this.withTransaction(async (client) => {
          const lines =
            record ??
            this.bulk().lines(file.url, { requiresAccessToken: this.row.counts.requiresAccessToken ?? true, signal: this.signal, onBytes: (count) => (bytes += count) });
          const measured = measure(lines, waited, () => progress.line(file.url));
          const options = { file: kind === "patient" ? undefined : name };
          let result: IngestResult & { outcomes?: number };
          if (kind === "deleted") result = await ingestDeletedLines(client, this.source.id, this.runId, measured, { ...options, deletedAt: (this.row.transaction_time ?? new Date()).toISOString() });
          else if (kind === "error") result = await ingestOutcomeLines(client, this.source.id, this.runId, measured, options);
          else result = await ingestLines(client, this.source.id, this.runId, measured, { ...options, initialLoad: this.row.counts.initialLoad === true });
          if (kind === "output" && file.lines > 0 && result.lines < file.lines) {
            throw new IncompleteFileError(`${name}: ${result.lines} of ${file.lines} lines`);
          }
          await client.query("UPDATE sync_files SET status = 'done', lines = $3, bytes = $4, attempts = attempts + 1, error = NULL WHERE run_id = $1 AND url = $2", [
            this.row.id,
            file.url,
            result.lines,
            bytes,
          ]);
          await this.addCounts(client, result);
        });
        ingestMs.value += performance.now() - started - waited.value;
        progress.done(file.url);
        return;
      } catch (error) {
        progress.reset(file.url);
        if (this.cancelled || this.signal.aborted) throw error;
        if (error instanceof BulkExportError && (error.status === 404 || error.status === 410) && kind !== "patient") throw new ExportGoneError(error.message);
        const retryable = isRetryable(error);
        const message = errorMessage(error);
        await this.pool
          .query("UPDATE sync_files SET attempts = attempts + 1, error = $3 WHERE run_id = $1 AND url = $2", [this.row.id, file.url, message.slice(0, 500)])
          .catch(() => undefined);
        this.log("sync.file-retry", { runId: this.row.id, file: name, attempt, retryable, error: errorKind(error) });
        if (!retryable || attempt >= maxAttempts) throw error;
        await this.sleep((this.deps.retryBaseMs ?? 1000) * 2 ** (attempt - 1), this.signal);
      }
    }
  }

  /** Adds a file's figures to the run's counts, in the file's transaction (the row lock orders concurrent files). */
  private async addCounts(client: pg.PoolClient, result: IngestResult & { outcomes?: number }): Promise<void> {
    const { rows } = await client.query<{ counts: RunCounts }>("SELECT counts FROM sync_runs WHERE id = $1 FOR UPDATE", [this.row.id]);
    const counts: RunCounts = rows[0]?.counts ?? {};
    const resources = { ...(counts.resources ?? {}) };
    for (const [type, count] of Object.entries(result.resources)) resources[type] = (resources[type] ?? 0) + count;
    const next: RunCounts = {
      resources,
      filesDone: (counts.filesDone ?? 0) + 1,
      inserted: (counts.inserted ?? 0) + result.inserted,
      updated: (counts.updated ?? 0) + result.updated,
      unchanged: (counts.unchanged ?? 0) + result.unchanged,
      deleted: (counts.deleted ?? 0) + result.deleted,
      malformed: (counts.malformed ?? 0) + result.malformed,
      ...(result.outcomes ? { exportErrors: (counts.exportErrors ?? 0) + result.outcomes } : {}),
    };
    await client.query("UPDATE sync_runs SET counts = counts || $2::jsonb, heartbeat_at = now() WHERE id = $1", [this.row.id, JSON.stringify(next)]);
    this.row.counts = { ...this.row.counts, ...next };
  }

  // --- search fallback ----------------------------------------------------------------------------------

  private async searchDownload(): Promise<Phase> {
    const started = performance.now();
    if (!this.row.transaction_time) {
      // The patient list is fixed once: one sync_files row per patient, so a resumed run skips those done.
      this.setProgress(0.02, "Listing the patients to sync (this EHR has no Bulk export)");
      const transactionTime = new Date().toISOString();
      const patientIds = await listPatientIds(this.source, { auth: this.tokens(), ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}), signal: this.signal });
      await this.withTransaction(async (client) => {
        await client.query(
          `INSERT INTO sync_files (run_id, url, type) SELECT $1, unnest($2::text[]), 'search:Patient' ON CONFLICT (run_id, url) DO NOTHING`,
          [this.row.id, patientIds.map((id) => `${PATIENT_PREFIX}${id}`)],
        );
        await this.updateRun({ status: "downloading", transactionTime, counts: { phase: "downloading", filesTotal: patientIds.length, filesDone: 0 } }, client);
      });
      this.row.transaction_time = new Date(transactionTime);
      this.log("sync.search-patients", { runId: this.row.id, patients: patientIds.length });
    }
    this.extraCodes ??= await this.mappedScoreCodes();
    const files = await this.files();
    const progress = new DownloadProgress(files, (fraction, text) => this.setProgress(EXPORT_END + (DOWNLOAD_END - EXPORT_END) * fraction, text), true);
    const ingestMs = { value: 0 };
    const pending = files.filter((file) => file.status !== "done");
    await forEachLimit(pending, this.deps.concurrency ?? 2, () => this.throwIfStopped(), (file) => this.ingestFile(file, "patient", progress, ingestMs));
    await this.updateRun({
      status: "evaluating",
      counts: { phase: "evaluating" },
      timings: { downloadMs: Math.round(performance.now() - started), ingestMs: Math.round((this.row.timings.ingestMs ?? 0) + ingestMs.value) },
    });
    return "evaluating";
  }

  /** The site's mapped score codes, searched by code as in the patient view. */
  private async mappedScoreCodes(): Promise<string[]> {
    const { rows } = await this.pool.query<{ system: string; code: string }>("SELECT system, code FROM code_mappings WHERE concept LIKE 'measure:%' ORDER BY id");
    return rows.map((row) => `${row.system}|${row.code}`);
  }

  private async patientLines(patientId: string): Promise<string[]> {
    return fetchPatientLines(this.source, patientId, {
      auth: this.tokens(),
      ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
      ...(this.extraCodes?.length ? { extraObservationCodes: this.extraCodes } : {}),
      signal: this.signal,
    });
  }

  // --- the end ------------------------------------------------------------------------------------------

  private async evaluate(): Promise<void> {
    this.throwIfStopped();
    const started = performance.now();
    const { rows } = await this.pool.query<{ count: number }>("SELECT count(*)::int AS count FROM patients WHERE source = $1 AND dirty", [this.source.id]);
    const patientsChanged = rows[0]?.count ?? 0;
    this.setProgress(DOWNLOAD_END, `Evaluating ${patientsChanged.toLocaleString("en-US")} patient(s) whose data changed`);
    await this.updateRun({ counts: { patientsChanged } });
    const evaluate = this.deps.evaluateChanged ?? ((sourceId: string) => evaluateDirtyPatients(this.pool, sourceId, { ...(this.deps.asOf ? { asOf: this.deps.asOf() } : {}), signal: this.signal }));
    const evaluated = await evaluate(this.source.id, this.runId);
    await this.updateRun({ counts: { evaluated }, timings: { evaluateMs: Math.round(performance.now() - started) } });
  }

  private async finishSucceeded(): Promise<SyncRunSummary> {
    this.setProgress(1, "Done");
    const totalMs = Date.now() - this.row.started_at.getTime();
    await this.withTransaction(async (client) => {
      await client.query(
        `UPDATE sync_runs SET status = 'succeeded', progress = 1, progress_text = $2, finished_at = now(), heartbeat_at = now(), error = NULL, error_hint = NULL,
           counts = counts - ARRAY['phase', 'requiresAccessToken', 'exports'], timings = timings || $3::jsonb
         WHERE id = $1`,
        [this.row.id, "Done", JSON.stringify({ totalMs })],
      );
      // Only a complete run moves _since on; never backwards (two runs of one source finishing out of order).
      await client.query(
        `UPDATE sources SET last_transaction_time = GREATEST(last_transaction_time, $2::timestamptz), last_success_at = now(), updated_at = now() WHERE id = $1`,
        [this.source.id, this.row.transaction_time],
      );
    });
    this.row.status = "succeeded";
    this.log("sync.succeeded", { runId: this.row.id, source: this.source.id, totalMs, ...numericCounts(this.row.counts) });
    await tryRecordAudit(this.pool, syncFinishEntry({ source: this.source.id, runId: this.row.id, status: "succeeded", counts: publicCounts(this.row.counts), totalMs }));
    return { runId: this.runId, status: "succeeded", counts: publicCounts(this.row.counts) };
  }

  private async finishCancelled(): Promise<SyncRunSummary> {
    this.progressText = "Cancelled";
    if (this.row.status_url && this.row.counts.method !== "search") {
      // Tell the EHR to drop the export; it expires on its own if this fails.
      await this.bulk()
        .cancel(this.row.status_url)
        .catch((error: unknown) => this.log("sync.cancel-delete-failed", { runId: this.row.id, error: errorKind(error) }));
    }
    await this.pool.query(
      "UPDATE sync_runs SET status = 'cancelled', progress_text = 'Cancelled', finished_at = now(), heartbeat_at = now(), timings = timings || $2::jsonb WHERE id = $1",
      [this.row.id, JSON.stringify({ totalMs: Date.now() - this.row.started_at.getTime() })],
    );
    this.row.status = "cancelled";
    this.log("sync.cancelled", { runId: this.row.id });
    await tryRecordAudit(this.pool, syncFinishEntry({ source: this.row.source, runId: this.row.id, status: "cancelled", counts: publicCounts(this.row.counts) }));
    return { runId: this.runId, status: "cancelled", counts: publicCounts(this.row.counts) };
  }

  private async finishFailed(error: unknown): Promise<SyncRunSummary> {
    this.progressText = "Failed";
    const message = errorMessage(error).slice(0, 1000);
    const hint = hintFor(error, this.source);
    this.log("sync.failed", { runId: this.row.id, error: errorKind(error) });
    await this.pool.query(
      "UPDATE sync_runs SET status = 'failed', error = $2, error_hint = $3, progress_text = $4, finished_at = now(), heartbeat_at = now(), timings = timings || $5::jsonb WHERE id = $1",
      [this.row.id, message, hint, "Failed", JSON.stringify({ totalMs: Date.now() - this.row.started_at.getTime() })],
    );
    this.row.status = "failed";
    await tryRecordAudit(this.pool, syncFinishEntry({ source: this.row.source, runId: this.row.id, status: "failed", counts: publicCounts(this.row.counts), error: errorKind(error) }));
    return { runId: this.runId, status: "failed", counts: publicCounts(this.row.counts), error: message };
  }
}

/** Progress through the files of a run: lines read against the lines the manifest announced. */
class DownloadProgress {
  private readonly expected: number;
  private doneLines = 0;
  private doneFiles: number;
  private readonly current = new Map<string, { name: string; lines: number; expected: number }>();
  private readonly total: number;

  constructor(
    files: FileRow[],
    private readonly report: (fraction: number, text: string) => void,
    private readonly byFile = false,
  ) {
    this.total = files.length;
    this.doneFiles = files.filter((file) => file.status === "done").length;
    this.expected = files.reduce((sum, file) => sum + (file.status === "done" ? file.lines : Math.max(0, file.lines)), 0);
    this.doneLines = files.filter((file) => file.status === "done").reduce((sum, file) => sum + file.lines, 0);
    this.expectedOf = new Map(files.map((file) => [file.url, file.lines]));
    this.emit();
  }

  private readonly expectedOf: Map<string, number>;

  start(url: string, name: string): void {
    this.current.set(url, { name, lines: 0, expected: this.expectedOf.get(url) ?? 0 });
  }

  line(url: string): void {
    const entry = this.current.get(url);
    if (!entry) return;
    entry.lines++;
    if (entry.lines % 500 === 0) this.emit();
  }

  reset(url: string): void {
    this.current.delete(url);
    this.emit();
  }

  done(url: string): void {
    const entry = this.current.get(url);
    this.current.delete(url);
    this.doneFiles++;
    this.doneLines += entry?.lines ?? 0;
    this.emit();
  }

  private emit(): void {
    const inFlight = [...this.current.values()];
    const lines = this.doneLines + inFlight.reduce((sum, entry) => sum + entry.lines, 0);
    const fraction = this.byFile || this.expected === 0 ? (this.total === 0 ? 1 : this.doneFiles / this.total) : Math.min(1, lines / this.expected);
    const unit = this.byFile ? "patients" : "files";
    const head = `${this.doneFiles.toLocaleString("en-US")} of ${this.total.toLocaleString("en-US")} ${unit} done`;
    const detail = this.byFile
      ? ""
      : inFlight
          .map((entry) => `${entry.name}: ${entry.lines.toLocaleString("en-US")}${entry.expected > 0 ? ` of ${entry.expected.toLocaleString("en-US")}` : ""} resources`)
          .join(", ");
    this.report(fraction, detail ? `${head}; ${detail}` : head);
  }
}

/** Runs work over items, `limit` at a time; stops starting new items after a failure and rethrows the first one. */
async function forEachLimit<T>(items: T[], limit: number, beforeEach: () => void, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        beforeEach();
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

/** Yields the lines, adding the time spent waiting for each (the network) to `waited`. */
async function* measure(lines: AsyncIterable<string> | Iterable<string>, waited: { value: number }, onLine: () => void): AsyncIterable<string> {
  if (!(Symbol.asyncIterator in lines)) {
    for (const line of lines) {
      onLine();
      yield line;
    }
    return;
  }
  const iterator = lines[Symbol.asyncIterator]();
  try {
    for (;;) {
      const before = performance.now();
      const next = await iterator.next();
      waited.value += performance.now() - before;
      if (next.done) return;
      onLine();
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

function countBytes(lines: string[], add: (bytes: number) => void): string[] {
  add(lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0));
  return lines;
}

function fileName(url: string): string {
  try {
    return new URL(url).pathname.split("/").pop() || "export file";
  } catch {
    return "export file";
  }
}

function sqlState(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

function isDatabaseUnreachable(error: unknown): boolean {
  const state = sqlState(error);
  if (state && /^(08|57P0)/.test(state)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EPIPE" || code === "ETIMEDOUT") return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|connection.*(closed|ended|terminated)|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message);
}

function isRetryable(error: unknown): boolean {
  if (error instanceof TruncatedNdjsonError || error instanceof IncompleteFileError) return true;
  if (error instanceof BulkExportError || error instanceof SearchFallbackError) return error.retryable;
  if (error instanceof BackendAuthError) return error.retryable;
  if (isDatabaseUnreachable(error)) return true;
  const state = sqlState(error);
  return state !== null && RETRYABLE_SQLSTATE.test(state);
}

function errorKind(error: unknown): string {
  const state = sqlState(error);
  if (state) return `sqlstate ${state}`;
  if (error instanceof BulkExportError || error instanceof SearchFallbackError) return `${error.name} ${error.status ?? "network"}`;
  if (error instanceof BackendAuthError) return `${error.name} ${error.oauthError ?? error.status ?? ""}`.trim();
  return error instanceof Error ? error.name : "error";
}

function errorMessage(error: unknown): string {
  if (isDatabaseUnreachable(error)) return "The database could not be reached during the sync";
  return error instanceof Error ? error.message : String(error);
}

/** What a person can do about a failed run. */
function hintFor(error: unknown, source: SourceConfig | undefined): string {
  if (error instanceof SyncFailure || error instanceof BulkExportError || error instanceof BackendAuthError || error instanceof SearchFallbackError) return error.hint;
  if (error instanceof TruncatedNdjsonError || error instanceof IncompleteFileError) {
    return "An export file kept arriving cut short; the network path to the EHR may be unstable. Run the sync again (it resumes where it stopped).";
  }
  if (isDatabaseUnreachable(error)) return "The app's database was unreachable for too long; once it is back, run the sync again: it resumes where it stopped.";
  return `Unexpected failure while syncing${source ? ` ${source.name}` : ""}; run the sync again (it resumes where it stopped), and if it fails again check the server log for this run.`;
}

function numericCounts(counts: RunCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(counts)) if (typeof value === "number") out[key] = value;
  return out;
}
