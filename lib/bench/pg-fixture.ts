/**
 * Shared set-up of the PostgreSQL bench sections (ingest, reevaluate, panel): one throwaway embedded PostgreSQL
 * for the whole `npm run bench` run, the generated cohort's NDJSON files, and the stages they build on each other
 * (ingested, then evaluated). A section run alone (`npm run bench -- panel`) builds the stages it needs, untimed.
 * Everything is stopped and removed by runBenchCleanups() at the end of the run.
 */
import { createReadStream, existsSync } from "node:fs";
import { open, readdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { makeTempDataDir, startEmbeddedPostgres } from "../db/embedded";
import { applyMigrations } from "../db/migrate";
import { createPool } from "../db/pool";
import { ingestLines, type IngestCounts } from "../db/resource-store";
import { DEFAULT_AS_OF } from "../sandbox/cohort/index";
import { writeCohortNdjson } from "../sandbox/cohort/ndjson-writer";
import { evaluateAllPatients } from "../sync/evaluate-patients";
import { onBenchExit, progress } from "./cleanup";

/** The source id every bench row is stored under. */
export const BENCH_SOURCE = "bench";
/** The full scale. */
export const FULL_SCALE = 100_000;
const DEFAULT_PATIENTS = 10_000;

export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Patients to generate: BENCH_PATIENTS (default 10,000). */
export function benchPatients(): number {
  const raw = process.env.BENCH_PATIENTS;
  if (raw === undefined || raw === "") return DEFAULT_PATIENTS;
  if (!/^\d+$/.test(raw) || Number(raw) < 100) throw new Error(`BENCH_PATIENTS must be a whole number of at least 100 (got "${raw}")`);
  return Number(raw);
}

// --- the database -----------------------------------------------------------------------------------------

export interface BenchDatabase {
  url: string;
  /** Pool of 10, as the app's pgPool(). */
  pool: pg.Pool;
  /** The URL of another database on the same server. */
  urlOf(database: string): string;
  /** Creates (or re-creates) another database on the same server, migrated; returns its URL. */
  createDatabase(name: string): Promise<string>;
}

let database: Promise<BenchDatabase> | null = null;

async function startDatabase(): Promise<BenchDatabase> {
  progress("starting a throwaway embedded PostgreSQL");
  const dir = await makeTempDataDir("ejm-bench-db-");
  onBenchExit("bench data folder", () => rm(dir, { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, "pg") });
  onBenchExit("embedded PostgreSQL", () => server.stop());
  await applyMigrations(server.url);
  const pool = createPool(server.url, 10);
  onBenchExit("bench pool", () => pool.end());
  const urlOf = (name: string): string => {
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return {
    url: server.url,
    pool,
    urlOf,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await pool.query(`CREATE DATABASE ${name}`);
      const url = urlOf(name);
      await applyMigrations(url);
      return url;
    },
  };
}

/** The bench's PostgreSQL, started on first use. */
export function benchDatabase(): Promise<BenchDatabase> {
  database ??= startDatabase().catch((error: unknown) => {
    database = null;
    throw error;
  });
  return database;
}

// --- the cohort's NDJSON files -----------------------------------------------------------------------------

export interface CohortFile {
  name: string;
  path: string;
  bytes: number;
  lines: number;
}

export interface CohortFiles {
  dir: string;
  patients: number;
  asOf: string;
  /** The resource files (expected.ndjson left out), largest last. */
  files: CohortFile[];
  resources: number;
  bytes: number;
  /** How the files came to be, for notes. */
  origin: string;
}

let cohort: Promise<CohortFiles> | null = null;

async function countLines(file: string): Promise<number> {
  let lines = 0;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

async function describeCohort(dir: string, origin: string): Promise<CohortFiles> {
  const manifest = JSON.parse(await readFile(path.join(dir, "cohort.json"), "utf8")) as { patients?: number; asOf?: string };
  const names = (await readdir(dir)).filter((name) => name.endsWith(".ndjson") && name !== "expected.ndjson");
  const files: CohortFile[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    files.push({ name, path: file, bytes: (await stat(file)).size, lines: await countLines(file) });
  }
  files.sort((a, b) => a.bytes - b.bytes);
  return {
    dir,
    patients: Number(manifest.patients),
    asOf: manifest.asOf ?? DEFAULT_AS_OF,
    files,
    resources: files.reduce((sum, f) => sum + f.lines, 0),
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    origin,
  };
}

async function prepareCohort(): Promise<CohortFiles> {
  const given = process.env.BENCH_COHORT_DIR;
  if (given) {
    if (!existsSync(path.join(given, "cohort.json"))) throw new Error(`BENCH_COHORT_DIR ${given} has no cohort.json (write it with npm run cohort)`);
    progress(`reading the cohort in ${given}`);
    return describeCohort(given, `\`npm run cohort\` files in ${given}`);
  }
  const patients = benchPatients();
  const dir = await makeTempDataDir("ejm-bench-cohort-");
  onBenchExit("cohort files", () => rm(dir, { recursive: true, force: true }));
  progress(`generating ${fmt(patients)} patients to NDJSON (seed 1), as npm run cohort does`);
  const started = performance.now();
  await writeCohortNdjson({ patients, seed: 1 }, dir, (n) => progress(`  ${fmt(n)} patients written`));
  progress(`  generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // On disk before anything is timed: the kernel writing them back would slow the first timed run.
  for (const name of await readdir(dir)) {
    const handle = await open(path.join(dir, name), "r+");
    await handle.sync().finally(() => handle.close());
  }
  return describeCohort(dir, "generated by the cohort generator (seed 1), as `npm run cohort` writes it");
}

/** The cohort's files: BENCH_COHORT_DIR when set (an `npm run cohort` output), else generated once per run. */
export function cohortFiles(): Promise<CohortFiles> {
  cohort ??= prepareCohort().catch((error: unknown) => {
    cohort = null;
    throw error;
  });
  return cohort;
}

/**
 * The lines of an NDJSON file, split as the bulk client splits a download (UTF-8 decoded, "\n" separated,
 * blank lines and a trailing "\r" left out).
 */
export async function* ndjsonLines(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = pending + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      const line = text.charCodeAt(newline - 1) === 13 ? text.slice(start, newline - 1) : text.slice(start, newline);
      start = newline + 1;
      if (line.length > 0) yield line;
    }
    pending = text.slice(start);
  }
  const tail = pending + decoder.decode();
  if (tail.trim().length > 0) yield tail;
}

// --- stages ------------------------------------------------------------------------------------------------

/** Empties what an ingest writes, so every timed run starts from the same empty tables. */
export async function resetIngestTables(pool: pg.Pool): Promise<void> {
  await pool.query("TRUNCATE fhir_resources, patients, sync_issues, evaluations, evaluation_checkpoints, evaluation_labs, evaluation_flags, prepared_patients");
  stages.ingested = false;
  stages.evaluated = false;
}

/** A sources row and a sync run for the bench source; returns the run id ingestLines records. */
export async function benchSyncRun(pool: pg.Pool): Promise<bigint> {
  await pool.query(
    `INSERT INTO sources (id, name, fhir_base, client_id, group_id, export_level, timezone, enabled, last_success_at, updated_at)
     VALUES ($1, 'Bench cohort', 'http://bench.invalid/fhir', 'bench', 'jak-panel', 'group', 'UTC', true, now(), now())
     ON CONFLICT (id) DO NOTHING`,
    [BENCH_SOURCE],
  );
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO sync_runs (source, kind, status, trigger, started_at, finished_at) VALUES ($1, 'full', 'succeeded', 'manual', now(), now()) RETURNING id`,
    [BENCH_SOURCE],
  );
  return BigInt(rows[0]!.id);
}

export interface IngestRun {
  seconds: number;
  counts: IngestCounts;
  lines: number;
}

/**
 * Ingests every resource file through ingestLines as a sync does: one transaction per file, the lines streamed
 * from the file. `initialLoad` as run-sync passes it for a source with nothing stored yet.
 */
export async function ingestCohort(pool: pg.Pool, files: CohortFiles, options: { initialLoad: boolean }): Promise<IngestRun> {
  const runId = await benchSyncRun(pool);
  const counts: IngestCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0, malformed: 0 };
  let lines = 0;
  const started = performance.now();
  const client = await pool.connect();
  try {
    for (const file of files.files) {
      await client.query("BEGIN");
      try {
        const result = await ingestLines(client, BENCH_SOURCE, runId, ndjsonLines(file.path), { file: file.name, initialLoad: options.initialLoad });
        await client.query("COMMIT");
        for (const key of Object.keys(counts) as Array<keyof IngestCounts>) counts[key] += result[key];
        lines += result.lines;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    }
  } finally {
    client.release();
  }
  const seconds = (performance.now() - started) / 1000;
  stages.ingested = true;
  stages.evaluated = false;
  return { seconds, counts, lines };
}

const stages = { ingested: false, evaluated: false };

/** Records that the bench source now holds every patient's evaluation (the reevaluate section ran). */
export function markEvaluated(): void {
  stages.evaluated = true;
}

/** The database with the cohort ingested (done here, untimed, when the ingest section did not run). */
export async function ensureIngested(): Promise<{ db: BenchDatabase; cohort: CohortFiles }> {
  const [db, files] = await Promise.all([benchDatabase(), cohortFiles()]);
  if (!stages.ingested) {
    progress(`ingesting the cohort (${fmt(files.resources)} resources; set-up, not timed)`);
    await resetIngestTables(db.pool);
    const run = await ingestCohort(db.pool, files, { initialLoad: true });
    progress(`  ingested in ${run.seconds.toFixed(1)} s`);
    await db.pool.query("VACUUM ANALYZE");
  }
  return { db, cohort: files };
}

/** The database with every patient evaluated (done here, untimed, when the reevaluate section did not run). */
export async function ensureEvaluated(): Promise<{ db: BenchDatabase; cohort: CohortFiles }> {
  const ready = await ensureIngested();
  if (!stages.evaluated) {
    progress("evaluating every patient (set-up, not timed)");
    const started = performance.now();
    await evaluateAllPatients(ready.db.pool, BENCH_SOURCE, { asOf: ready.cohort.asOf });
    progress(`  evaluated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await ready.db.pool.query("VACUUM ANALYZE");
    stages.evaluated = true;
  }
  return ready;
}
