/**
 * Evaluates synced patients with the same engine as the EHR launch and stores the panel's rows
 * (evaluation-row.ts, lib/db/evaluation-store.ts). Three ways in: the patients whose data changed (dirty),
 * everyone (the nightly run, as verdicts change when windows close), or a list of ids (a new code mapping).
 * Work goes in batches (~500 patients): the next batch is read while the current one is evaluated and
 * written, memory holds at most two batches per loop, and each batch is written in one transaction.
 *
 * Everyone and long id lists are split into contiguous id ranges run by parallel loops: one Node thread keeps
 * one core busy parsing JSON and running the engine, so loop 0 runs here and the others in worker threads
 * (evaluate-worker.ts, each with its own small pg pool) on the other cores. Threads load TypeScript through tsx
 * like the process; threads that cannot start leave their share to the loop here.
 *
 * Prepared inputs: each patient evaluated from its raw resources also gets its prepared input stored
 * (prepared_patients: lib/clinical/prepare.ts's first stage, which does not depend on the date, and the row facts of
 * evaluation-row.ts), stamped with the patients.data_version read with the resources, the hash of the code mappings
 * and PREPARED_VERSION. A batch's page of patients reads, in the same statement, the prepared input of each patient
 * that is not dirty and whose stamp, hash and version are current; only the others' resources are read and parsed.
 * The nightly run, where nobody's data changed, then evaluates everyone from prepared inputs.
 */
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import type { Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { evaluatePrepared, preparePatient, PREPARED_VERSION, RULES_VERSION, type PreparedPatient } from "../clinical";
import { preparedJakResources } from "../clinical/prepare";
import type { CodeMapping } from "../clinical/types";
import { readCodeMappings } from "../db/code-mappings";
import { compactPanelCounts, writeEvaluations, type EvaluatedPatient } from "../db/evaluation-store";
import { loadStoredPatientResources, parseStoredResources, type StoredPatientResources } from "../db/resource-store";
import { clinicToday } from "../app/clinic-today";
import { lineLogger } from "../app/log";
import { evaluationRows, findPatient, patientRowFacts, type PatientRowFacts } from "./evaluation-row";

export type LoadResources = (pool: pg.Pool, source: string, patientIds: string[]) => Promise<Map<string, Resource[]>>;

/** One committed batch: its size and where its time went (reads overlap the evaluation of the batch before). */
export interface BatchReport {
  /** The loop that wrote it: 0 .. loops - 1 (0 alone when one loop runs in this thread). */
  loop: number;
  patients: number;
  /** Reading the batch's patient rows and resources. */
  readMs: number;
  /** The engine and the evaluation rows. */
  evaluateMs: number;
  /** The write transaction, retries included. */
  writeMs: number;
}

export interface EvaluatePatientsOptions {
  /** The evaluation date (YYYY-MM-DD); default clinicToday(). */
  asOf?: string;
  /** Patients per batch and transaction (default 500). */
  batchSize?: number;
  /** Called after each committed batch with the number of patients evaluated so far (by every loop). */
  onProgress?: (done: number) => void;
  /** Called after each committed batch (of any loop) with its size and timings. */
  onBatch?: (batch: BatchReport) => void;
  /** Checked between batches: an aborted run stops every loop after the batch in hand and rejects. */
  signal?: AbortSignal;
  /**
   * Reads the patients' resources; default loadPatientResources (lib/db/resource-store.ts). A function cannot
   * cross into a worker thread: with a loader given, the work runs in one loop in this thread.
   */
  loadResources?: LoadResources;
  /**
   * Parallel loops for evaluateAllPatients and long id lists of evaluatePatientsById: one in this thread, the
   * others in worker threads; 1 = one loop in this thread. Default EJM_EVALUATION_THREADS, else
   * os.availableParallelism(). Never more loops than batches.
   */
  threads?: number;
  /** Where threads that cannot start (their share then runs in this thread's loop) are logged; default the process logger (warn). */
  log?: (line: string) => void;
  /**
   * Evaluate patients from their stored prepared inputs where current (default true). false: every patient from its
   * raw resources, as after a PREPARED_VERSION bump (the prepared inputs are written again either way). Always false
   * with a `loadResources`.
   */
  reusePrepared?: boolean;
}

const DEFAULT_BATCH = 500;
/**
 * Young generation for evaluation: parsing and evaluating a batch allocates mostly short-lived objects, and with
 * V8's default semi-spaces a fifth of the time went to scavenges; 32 MB semi-spaces cut a nightly run by ~20%.
 */
const SEMI_SPACE_MB = 32;

/** Sizes this process's young generation for evaluation runs; called by the job worker when it starts. */
export function tuneHeapForEvaluation(): void {
  setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MB}`);
}
/** A write that lost a deadlock or lock wait to an ingest is retried this many times. */
const WRITE_ATTEMPTS = 4;
const RETRYABLE_SQLSTATES = new Set(["40P01", "40001", "55P03"]);
/** Connections of each thread's pool: the read ahead and the write of the batch in hand. */
const THREAD_POOL_SIZE = 2;

interface PatientRef {
  id: string;
  dataChangedAt: Date | null;
  /** The patient's current prepared input (stored JSON), read with the page; null: read its resources. */
  prepared: string | null;
}

/** A prepared_patients body: the engine's prepared input and the row facts. */
interface StoredPrepared {
  e: PreparedPatient;
  r: PatientRowFacts;
}

/** Read resources: unparsed from the default loader (parsed one patient at a time), parsed from a LoadResources. */
type BatchResources = Map<string, Resource[]> | Map<string, StoredPatientResources>;

interface Batch {
  source: string;
  patients: PatientRef[];
  resources: BatchResources;
  readMs: number;
}

/** What every loop of one run shares; plain data, so it crosses into worker threads as it is. */
export interface LoopSettings {
  asOf: string;
  batchSize: number;
  codeMappings: CodeMapping[];
  /** Hash of the rules version and code mappings the prepared inputs are made with (mappingsHash()). */
  mappingsHash: string;
  /** Read current prepared inputs (EvaluatePatientsOptions.reusePrepared). */
  reusePrepared: boolean;
}

/** The stamp of what a prepared input depends on besides the patient's data: the rules version and the code mappings. */
export function mappingsHash(codeMappings: readonly CodeMapping[]): string {
  return createHash("sha1").update(JSON.stringify([RULES_VERSION, codeMappings])).digest("base64url");
}

interface Settings extends LoopSettings {
  load: (pool: pg.Pool, source: string, patientIds: string[]) => Promise<BatchResources>;
}

/**
 * The work of one loop: a keyset range of a source's patients (ids after `after`, up to and including `upTo`;
 * null = unbounded) or a sorted list of ids.
 */
export type EvaluationTask = { source: string; after: string | null; upTo: string | null } | { source: string; ids: string[] };

async function settings(pool: pg.Pool, options: EvaluatePatientsOptions): Promise<Settings> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
  const codeMappings = await readCodeMappings(pool);
  return {
    asOf: options.asOf ?? clinicToday(),
    batchSize,
    codeMappings,
    mappingsHash: mappingsHash(codeMappings),
    reusePrepared: options.loadResources === undefined && options.reusePrepared !== false,
    load: options.loadResources ?? loadStoredPatientResources,
  };
}

/** The panel asks for no details, and for the facts the report cases need. */
const PANEL_EVALUATION = { details: false, facts: true } as const;

function evaluateBatch(batch: Batch, s: LoopSettings): EvaluatedPatient[] {
  return batch.patients.map(({ id, dataChangedAt, prepared }) => {
    const context = { source: batch.source, asOf: s.asOf, rulesVersion: RULES_VERSION };
    if (prepared !== null) {
      const stored = JSON.parse(prepared) as StoredPrepared;
      const evaluation = evaluatePrepared(stored.e, { asOf: s.asOf, ...PANEL_EVALUATION });
      return { rows: evaluationRows(evaluation, { ...context, facts: stored.r }), dataChangedAt };
    }
    const read = batch.resources.get(id);
    const resources = read === undefined ? [] : Array.isArray(read) ? read : parseStoredResources(read);
    const input = preparePatient(resources, { patientId: id, codeMappings: s.codeMappings, details: false });
    const evaluation = evaluatePrepared(input, { asOf: s.asOf, ...PANEL_EVALUATION });
    const facts = patientRowFacts(findPatient(resources, id), resources, preparedJakResources(input));
    const evaluated: EvaluatedPatient = { rows: evaluationRows(evaluation, { ...context, facts }), dataChangedAt };
    // Stored only when stamped (read with its resources from the database) and whole (no engine error to redo).
    const dataVersion = read !== undefined && !Array.isArray(read) ? read.dataVersion : undefined;
    if (dataVersion !== undefined && input.err === undefined) {
      evaluated.prepared = { dataVersion, mappingsHash: s.mappingsHash, version: PREPARED_VERSION, body: JSON.stringify({ e: input, r: facts } satisfies StoredPrepared) };
    }
    return evaluated;
  });
}

async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function sqlState(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined;
}

/** Evaluates and writes a batch read without locks; the write takes the patients' locks in id order. */
async function evaluateAndWrite(pool: pg.Pool, batch: Batch, s: LoopSettings): Promise<Omit<BatchReport, "loop">> {
  const evaluateStarted = performance.now();
  const evaluated = evaluateBatch(batch, s);
  const writeStarted = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await withTransaction(pool, (client) => writeEvaluations(client, batch.source, evaluated));
      return { patients: evaluated.length, readMs: batch.readMs, evaluateMs: writeStarted - evaluateStarted, writeMs: performance.now() - writeStarted };
    } catch (error) {
      if (attempt >= WRITE_ATTEMPTS || !RETRYABLE_SQLSTATES.has(sqlState(error) ?? "")) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/**
 * Runs batches with one read ahead: `next` (the read of batch N+1) is in flight while `handle` evaluates and
 * writes batch N. `discard` releases a batch read ahead that will not be handled.
 */
async function readAhead<B>(next: () => Promise<B | null>, handle: (batch: B) => Promise<void>, discard: (batch: B) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let pending: Promise<B | null> = next();
  pending.catch(() => undefined);
  for (;;) {
    const batch = await pending;
    if (batch === null) return;
    if (signal?.aborted) {
      await discard(batch);
      signal.throwIfAborted();
    }
    pending = next();
    // Handled below; without this a read failing while the batch is written would be an unhandled rejection.
    pending.catch(() => undefined);
    try {
      await handle(batch);
    } catch (error) {
      await pending.then((b) => (b === null ? undefined : discard(b))).catch(() => undefined);
      throw error;
    }
  }
}

interface RefRow {
  id: string;
  data_changed_at: Date | null;
  prepared: string | null;
}

// A page of patients with, in the same statement, the prepared input of each that is current: not dirty (a change
// not yet evaluated), the stamp of its data, the mappings hash ($3) and PREPARED_VERSION ($4; null when prepared
// inputs are not to be read). The page is cut first, then each of its patients probes the primary key once: a join
// could scan the whole table for every page (as the planner does before prepared_patients has statistics).
const pageSql = (where: string, limit: string) => `SELECT p.id, p.data_changed_at,
    CASE WHEN NOT p.dirty THEN (SELECT pp.body FROM prepared_patients pp WHERE pp.source = p.source AND pp.patient_id = p.id
      AND pp.data_version = p.data_version AND pp.mappings_hash = $3 AND pp.prepared_version = $4::int) END AS prepared
  FROM (SELECT source, id, data_changed_at, data_version, dirty FROM patients WHERE ${where} ORDER BY id ${limit}) AS p ORDER BY p.id`;
const IDS_PAGE = pageSql("source = $1 AND id = ANY($2::text[])", "");
const RANGE_PAGE = pageSql("source = $1 AND id > $2", "LIMIT $5");
const BOUNDED_RANGE_PAGE = pageSql("source = $1 AND id > $2 AND id <= $6", "LIMIT $5");

function refsOf(rows: readonly RefRow[]): PatientRef[] {
  return rows.map((r) => ({ id: r.id, dataChangedAt: r.data_changed_at, prepared: r.prepared }));
}

function preparedParams(s: LoopSettings): [string, number | null] {
  return [s.mappingsHash, s.reusePrepared ? PREPARED_VERSION : null];
}

async function readRefs(pool: pg.Pool, source: string, ids: string[], s: LoopSettings): Promise<PatientRef[]> {
  const { rows } = await pool.query<RefRow>(IDS_PAGE, [source, ids, ...preparedParams(s)]);
  return refsOf(rows);
}

/**
 * One loop: evaluates a task's patients batch by batch (keyset pages of a range, or chunks of an id list; ids
 * not synced are passed over) and reports each committed batch. Returns the number evaluated. Used in this
 * thread and by each worker thread.
 */
export async function runEvaluationTask(
  pool: pg.Pool,
  task: EvaluationTask,
  s: LoopSettings & { load?: Settings["load"] },
  loop: { index: number; onBatch: (batch: BatchReport) => void; signal?: AbortSignal },
): Promise<number> {
  const load = s.load ?? loadStoredPatientResources;
  const { source } = task;
  const read = async (patients: PatientRef[], started: number): Promise<Batch> => {
    const unprepared = patients.filter((p) => p.prepared === null).map((p) => p.id);
    const resources = unprepared.length > 0 ? await load(pool, source, unprepared) : new Map<string, Resource[]>();
    return { source, patients, resources, readMs: performance.now() - started };
  };
  let next: () => Promise<Batch | null>;
  if ("ids" in task) {
    let offset = 0;
    next = async () => {
      while (offset < task.ids.length) {
        const started = performance.now();
        const chunk = task.ids.slice(offset, offset + s.batchSize);
        offset += chunk.length;
        const patients = await readRefs(pool, source, chunk, s);
        if (patients.length > 0) return read(patients, started);
      }
      return null;
    };
  } else {
    let after = task.after ?? "";
    next = async () => {
      const started = performance.now();
      const { rows } = await pool.query<RefRow>(
        task.upTo === null ? RANGE_PAGE : BOUNDED_RANGE_PAGE,
        task.upTo === null ? [source, after, ...preparedParams(s), s.batchSize] : [source, after, ...preparedParams(s), s.batchSize, task.upTo],
      );
      if (rows.length === 0) return null;
      after = rows[rows.length - 1]!.id;
      return read(refsOf(rows), started);
    };
  }
  let done = 0;
  await readAhead(
    next,
    async (batch) => {
      const report = await evaluateAndWrite(pool, batch, s);
      done += report.patients;
      loop.onBatch({ loop: loop.index, ...report });
    },
    async () => undefined,
    loop.signal,
  );
  return done;
}

/**
 * Evaluates the source's dirty patients until none is left. Each batch is picked with FOR UPDATE
 * and written in the same transaction, so several workers split the work without evaluating anyone twice.
 * Returns the number of patients evaluated.
 */
export async function evaluateDirtyPatients(pool: pg.Pool, sourceId: string, options: EvaluatePatientsOptions = {}): Promise<number> {
  const s = await settings(pool, options);
  let done = 0;
  type DirtyBatch = Batch & { client: pg.PoolClient };
  const release = async (batch: DirtyBatch, commit: boolean) => {
    try {
      await batch.client.query(commit ? "COMMIT" : "ROLLBACK");
    } finally {
      batch.client.release();
    }
  };
  const next = async (): Promise<DirtyBatch | null> => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string; data_changed_at: Date | null }>(
        "SELECT id, data_changed_at FROM patients WHERE source = $1 AND dirty ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        [sourceId, s.batchSize],
      );
      if (rows.length === 0) {
        await client.query("COMMIT");
        client.release();
        return null;
      }
      // Dirty: their data changed since they were prepared, so always from their resources.
      const patients = rows.map((r) => ({ id: r.id, dataChangedAt: r.data_changed_at, prepared: null }));
      const resources = await s.load(pool, sourceId, patients.map((p) => p.id));
      return { source: sourceId, patients, resources, client, readMs: 0 };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      client.release();
      throw error;
    }
  };
  // A patient whose data changed while it was evaluated stays dirty; a second pass picks it up.
  for (let pass = 0; pass < 3; pass++) {
    let uncleared = 0;
    await readAhead(
      next,
      async (batch) => {
        try {
          const result = await writeEvaluations(batch.client, sourceId, evaluateBatch(batch, s));
          await release(batch, true);
          uncleared += result.written - result.cleared;
          done += result.written;
        } catch (error) {
          await release(batch, false).catch(() => undefined);
          throw error;
        }
        options.onProgress?.(done);
      },
      (batch) => release(batch, false),
      options.signal,
    );
    if (uncleared === 0) break;
  }
  if (done > 0) await compactPanelCounts(pool);
  return done;
}

/** The run's count, once the panel's count deltas its writes added are folded (they would pile up run after run). */
async function compactedAfter(pool: pg.Pool, run: Promise<number>): Promise<number> {
  const done = await run;
  if (done > 0) await compactPanelCounts(pool);
  return done;
}

async function sourcesWithPatients(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ source: string }>("SELECT DISTINCT source FROM patients ORDER BY source");
  return rows.map((r) => r.source);
}

/** The loops to run: `threads` when given, else EJM_EVALUATION_THREADS, else the cores available (at least 1). */
export function evaluationThreads(threads: number | undefined, env: Record<string, string | undefined> = process.env): number {
  if (threads !== undefined) {
    if (!Number.isFinite(threads)) throw new Error(`threads must be a number of loops, got ${threads}`);
    return Math.max(1, Math.floor(threads));
  }
  const raw = env.EJM_EVALUATION_THREADS?.trim();
  if (raw) {
    if (!/^\d+$/.test(raw)) throw new Error(`EJM_EVALUATION_THREADS must be a whole number of threads (1 = one loop), got "${raw}"`);
    return Math.max(1, Number(raw));
  }
  return Math.max(1, os.availableParallelism());
}

/** Loops worth running for `patients` patients: no more than one per batch, so a small run stays in one loop. */
export function loopsFor(patients: number, batchSize: number, threads: number): number {
  return Math.max(1, Math.min(threads, Math.ceil(patients / batchSize)));
}

/**
 * 1-based row numbers, in id order, of the last patient of each range but the last, splitting `count`
 * patients into `parts` contiguous ranges whose sizes differ by at most one (fewer ranges when count < parts).
 */
export function rangeEnds(count: number, parts: number): number[] {
  const n = Math.min(parts, count);
  const ends: number[] = [];
  for (let i = 1; i < n; i++) ends.push(Math.floor((count * i) / n));
  return ends;
}

/** Keyset ranges from the ids ending each range but the last: together they cover every id of the source. */
export function keysetRanges(source: string, endIds: readonly string[]): EvaluationTask[] {
  const bounds = [null, ...endIds];
  return bounds.map((after, i) => ({ source, after, upTo: endIds[i] ?? null }));
}

/** A sorted id list split into at most `parts` contiguous non-empty chunks whose sizes differ by at most one. */
export function splitIds(ids: readonly string[], parts: number): string[][] {
  const ends = [...rangeEnds(ids.length, parts), ids.length];
  return ends.map((end, i) => ids.slice(i === 0 ? 0 : ends[i - 1], end)).filter((chunk) => chunk.length > 0);
}

/** The source's patients split into `parts` keyset ranges of about equal size (one index-only scan). */
async function sourceRanges(pool: pg.Pool, source: string, count: number, parts: number): Promise<EvaluationTask[]> {
  const ends = rangeEnds(count, parts);
  if (ends.length === 0) return [{ source, after: null, upTo: null }];
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM patients WHERE source = $1) AS numbered
     WHERE n = ANY($2::bigint[]) ORDER BY id`,
    [source, ends],
  );
  // Patients added or removed since the count move the ends a little; the ranges still cover every id.
  return keysetRanges(source, rows.map((r) => r.id));
}

/** Messages between this thread and an evaluation thread (evaluate-worker.ts). */
export type ToThread = { type: "start"; tasks: EvaluationTask[] } | { type: "abort" };
export type FromThread =
  | { type: "ready" }
  | ({ type: "batch" } & BatchReport)
  | { type: "done"; evaluated: number }
  | { type: "error"; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/** What an evaluation thread is started with (workerData). */
export interface ThreadData {
  /** The thread's loop index (in its batch reports). */
  loop: number;
  connection: pg.PoolConfig;
  poolSize: number;
  settings: LoopSettings;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const code = sqlState(error);
  return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), ...(code ? { code } : {}) };
}

function deserializeError(serialized: SerializedError): Error {
  const error = Object.assign(new Error(serialized.message), serialized.code ? { code: serialized.code } : {});
  error.name = serialized.name;
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}

// Connection settings a thread can rebuild its pool from: plain values only (a password callback, a custom
// stream or type parsers cannot cross; such a pool runs one loop).
const CONNECTION_KEYS = ["connectionString", "host", "port", "user", "password", "database", "ssl", "application_name", "statement_timeout", "query_timeout", "lock_timeout", "options", "client_encoding", "keepAlive"] as const;
const NOT_TRANSFERABLE_KEYS = ["stream", "types", "Client", "onConnect"] as const;

/** The pool's connection settings as plain data for a thread, or the reason they cannot be passed. */
export function threadConnection(options: pg.PoolConfig): pg.PoolConfig | string {
  for (const key of NOT_TRANSFERABLE_KEYS) if (options[key] !== undefined) return `the pool's "${key}" setting cannot be passed to a thread`;
  const connection: Record<string, unknown> = {};
  for (const key of CONNECTION_KEYS) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value === "function") return `the pool's "${key}" is a function, which cannot be passed to a thread`;
    connection[key] = value;
  }
  try {
    return structuredClone(connection) as pg.PoolConfig;
  } catch {
    return "the pool's connection settings cannot be passed to a thread";
  }
}

/** execArgv for a thread that loads TypeScript: the process's own, plus tsx's loader unless already there. */
export function threadExecArgv(execArgv: readonly string[], tsxLoader: () => string): string[] {
  const hasTsx = execArgv.some((arg) => /(^|[=/\\])tsx([/\\]|$)/.test(arg));
  return hasTsx ? [...execArgv] : [...execArgv, "--import", tsxLoader()];
}

// A path, not `new URL("./evaluate-worker.ts", import.meta.url)`: Next's bundler (route handlers import this module
// through lib/jobs) would bundle that as a worker entry; threads only ever start in the worker process, under tsx.
const THREAD_MODULE = "evaluate-worker.ts";
// By name, resolved by Node from the working directory (the project): resolving it here would make Next's bundler
// pull tsx and esbuild into the route handlers' bundle.
const tsxLoaderUrl = (): string => "tsx";
const threadModuleUrl = (): URL => pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), THREAD_MODULE));

interface Thread {
  worker: Worker;
  /** Resolves once the thread has loaded its modules; rejects when it fails or exits before. */
  ready: Promise<void>;
  /** Resolves with the patients evaluated, or rejects with the thread's error, when the thread has exited. */
  finished: Promise<number>;
}

function startThread(data: ThreadData, onBatch: (batch: BatchReport) => void): Thread {
  const worker = new Worker(threadModuleUrl(), {
    workerData: data,
    execArgv: threadExecArgv(process.execArgv, tsxLoaderUrl),
    // Young generation = two semi-spaces plus V8's intermediate space: the same tuning as tuneHeapForEvaluation.
    resourceLimits: { maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MB },
  });
  let markReady!: () => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);
  const finished = new Promise<number>((resolve, reject) => {
    let evaluated: number | null = null;
    let failure: Error | null = null;
    worker.on("message", (message: FromThread) => {
      if (message.type === "ready") markReady();
      else if (message.type === "batch") onBatch(message);
      else if (message.type === "done") evaluated = message.evaluated;
      else failure = deserializeError(message.error);
    });
    worker.on("error", (error) => {
      failure ??= error;
    });
    // Node delivers a thread's last messages before its exit event.
    worker.on("exit", (code) => {
      const error = failure ?? (evaluated === null ? new Error(`an evaluation thread exited (code ${code}) before finishing its work`) : null);
      failReady(error ?? new Error("an evaluation thread exited before it was ready"));
      if (error) reject(error);
      else resolve(evaluated ?? 0);
    });
  });
  finished.catch(() => undefined);
  return { worker, ready, finished };
}

/**
 * Runs loop 0 in this thread and loops 1.. in worker threads, all at once, each over its own tasks (loops = the
 * length of `tasksPerLoop`). Threads that cannot start leave their tasks to this thread's loop, with a log
 * line. The first failure of any loop, or an abort, stops every loop after its batch in hand, and is thrown
 * once every loop has ended.
 */
async function runTasks(pool: pg.Pool, tasksPerLoop: EvaluationTask[][], s: Settings, options: EvaluatePatientsOptions): Promise<number> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const log = options.log ?? lineLogger("evaluate", "warn");
  let done = 0;
  const onBatch = (batch: BatchReport) => {
    done += batch.patients;
    options.onBatch?.(batch);
    options.onProgress?.(done);
  };

  const stop = new AbortController();
  let threads: Thread[] = [];
  const stopAll = (reason?: unknown) => {
    if (!stop.signal.aborted) stop.abort(reason);
    for (const t of threads) t.worker.postMessage({ type: "abort" } satisfies ToThread);
  };
  let failure: { error: unknown } | null = null;
  const fail = (error: unknown) => {
    failure ??= { error };
    stopAll(error);
  };
  const onAbort = () => stopAll(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const threaded = tasksPerLoop.slice(1);
    let handedBack: EvaluationTask[] = [];
    let threadsReady: Promise<void> = Promise.resolve();
    const cannotStart = (why: string) => {
      log(`[evaluate] evaluation threads cannot start (${why}); their share runs in this thread's loop`);
      handedBack = threaded.flat();
    };
    if (threaded.length > 0) {
      const connection = threadConnection(pool.options);
      if (typeof connection === "string") cannotStart(connection);
      else {
        const settings: LoopSettings = { asOf: s.asOf, batchSize: s.batchSize, codeMappings: s.codeMappings, mappingsHash: s.mappingsHash, reusePrepared: s.reusePrepared };
        try {
          threads = threaded.map((_, i) => startThread({ loop: i + 1, connection, poolSize: THREAD_POOL_SIZE, settings }, onBatch));
          // A thread failing before every thread is ready is a start failure (handled below), not the run's.
          let started = false;
          for (const t of threads) t.finished.catch((error: unknown) => started && fail(error));
          threadsReady = Promise.all(threads.map((t) => t.ready)).then(
            () => {
              started = true;
              threads.forEach((t, i) => t.worker.postMessage({ type: "start", tasks: threaded[i] ?? [] } satisfies ToThread));
              if (stop.signal.aborted) stopAll();
            },
            async (error: unknown) => {
              const starting = threads;
              threads = [];
              await Promise.all(starting.map((t) => t.worker.terminate()));
              cannotStart(error instanceof Error ? error.message : String(error));
            },
          );
        } catch (error) {
          cannotStart(error instanceof Error ? error.message : String(error));
        }
      }
    }

    const runHere = async (tasks: EvaluationTask[]) => {
      for (const task of tasks) await runEvaluationTask(pool, task, s, { index: 0, onBatch, signal: stop.signal });
    };
    await (async () => {
      await runHere(tasksPerLoop[0] ?? []);
      await threadsReady;
      await runHere(handedBack);
    })().catch(fail);
    // Every thread has exited before this returns or throws.
    await Promise.all(threads.map((t) => t.finished.catch(() => undefined)));
    signal?.throwIfAborted();
    if (failure !== null) throw (failure as { error: unknown }).error;
    return done;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Evaluates every synced patient of a source (or of all sources when `sourceId` is null), paging by id
 * (keyset), so memory stays flat however many patients there are. With more than one loop each source is
 * split into as many keyset ranges and loop i runs range i of every source (loop 0 in this thread, the others
 * in worker threads). Returns the number evaluated.
 */
export async function evaluateAllPatients(pool: pg.Pool, sourceId: string | null, options: EvaluatePatientsOptions = {}): Promise<number> {
  const s = await settings(pool, options);
  const sources = sourceId === null ? await sourcesWithPatients(pool) : [sourceId];
  const threads = options.loadResources === undefined ? evaluationThreads(options.threads) : 1;
  const counts = new Map<string, number>();
  if (threads > 1) {
    const { rows } = await pool.query<{ source: string; n: string }>("SELECT source, count(*) AS n FROM patients WHERE source = ANY($1::text[]) GROUP BY source", [sources]);
    for (const r of rows) counts.set(r.source, Number(r.n));
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const loops = loopsFor(total, s.batchSize, threads);
  if (loops === 1) return compactedAfter(pool, runTasks(pool, [sources.map((source) => ({ source, after: null, upTo: null }))], s, options));
  const tasksPerThread: EvaluationTask[][] = Array.from({ length: loops }, () => []);
  for (const source of sources) {
    const ranges = await sourceRanges(pool, source, counts.get(source) ?? 0, loops);
    ranges.forEach((range, i) => tasksPerThread[i]!.push(range));
  }
  return compactedAfter(pool, runTasks(pool, tasksPerThread, s, options));
}

/**
 * Evaluates the given patients of a source (ids not synced are passed over). A list longer than a batch is
 * split into contiguous chunks of the sorted ids, one per loop. Returns the number evaluated.
 */
export async function evaluatePatientsById(pool: pg.Pool, sourceId: string, patientIds: readonly string[], options: EvaluatePatientsOptions = {}): Promise<number> {
  const s = await settings(pool, options);
  const ids = [...new Set(patientIds)].sort();
  const threads = options.loadResources === undefined ? evaluationThreads(options.threads) : 1;
  const loops = loopsFor(ids.length, s.batchSize, threads);
  return compactedAfter(pool, runTasks(pool, splitIds(ids, loops).map((chunk) => [{ source: sourceId, ids: chunk }]), s, options));
}
