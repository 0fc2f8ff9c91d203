/**
 * Bench section: ingest of the generated cohort's NDJSON into PostgreSQL through the sync's real path
 * (ingestLines: lines parsed and hashed, COPY into a staging table, upsert into fhir_resources, patients marked
 * dirty), against a raw COPY of the same files into a table with one jsonb column, on the same throwaway
 * PostgreSQL in the same run. Raw COPY and ingest runs alternate, each from empty tables after a CHECKPOINT.
 * Scale: BENCH_PATIENTS (default 10,000, about 1.1 M resources); the issue's figure is for 100,000.
 */
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { progress } from "./cleanup";
import { benchDatabase, cohortFiles, fmt, FULL_SCALE, ingestCohort, resetIngestTables, type CohortFiles, type IngestRun } from "./pg-fixture";
import type { BenchRow } from "./types";

const TARGET_RATIO = 0.7;
const RAW_TABLE = "bench_raw_copy";
// CSV with quote and delimiter bytes that never occur in the files: each line goes in whole, unescaped.
const RAW_COPY_SQL = `COPY ${RAW_TABLE} (resource) FROM STDIN (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;

async function rawCopy(pool: pg.Pool, files: CohortFiles): Promise<number> {
  await pool.query(`TRUNCATE ${RAW_TABLE}`);
  await pool.query("CHECKPOINT");
  const client = await pool.connect();
  let seconds: number;
  try {
    const started = performance.now();
    for (const file of files.files) {
      await pipeline(createReadStream(file.path, { highWaterMark: 1 << 20 }), client.query(copyFrom(RAW_COPY_SQL)));
    }
    seconds = (performance.now() - started) / 1000;
  } finally {
    client.release();
  }
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${RAW_TABLE}`);
  if (Number(rows[0]?.n) !== files.resources) throw new Error(`raw COPY stored ${rows[0]?.n} rows of ${files.resources} lines`);
  return seconds;
}

async function timedIngest(pool: pg.Pool, files: CohortFiles, initialLoad: boolean, reset: boolean): Promise<IngestRun> {
  if (reset) await resetIngestTables(pool);
  await pool.query("CHECKPOINT");
  const run = await ingestCohort(pool, files, { initialLoad });
  const stored = run.counts.inserted + run.counts.updated + run.counts.unchanged;
  if (stored !== files.resources || run.counts.malformed > 0) {
    throw new Error(`ingest accounted for ${stored} of ${files.resources} resources (${run.counts.malformed} malformed)`);
  }
  return run;
}

function rate(resources: number, seconds: number): string {
  return `${fmt(resources / seconds)} resources/s`;
}

export async function benchIngest(): Promise<BenchRow[]> {
  const [db, files] = await Promise.all([benchDatabase(), cohortFiles()]);
  const { pool } = db;
  const mb = files.bytes / 1024 / 1024;
  const scale = `${fmt(files.patients)} patients, ${fmt(files.resources)} resources, ${mb.toFixed(0)} MB of NDJSON${
    files.patients < FULL_SCALE ? ` (the issue's scale is ${fmt(FULL_SCALE)}: BENCH_PATIENTS=${FULL_SCALE})` : ""
  }`;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${RAW_TABLE} (resource jsonb NOT NULL)`);

  const raw: number[] = [];
  const say = (what: string, seconds: number) => progress(`${what}: ${seconds.toFixed(1)} s (${rate(files.resources, seconds)}, ${(mb / seconds).toFixed(1)} MB/s)`);
  const rawRun = async () => {
    raw.push(await rawCopy(pool, files));
    say(`raw COPY #${raw.length}`, raw[raw.length - 1]!);
  };
  progress(`ingest: ${fmt(files.resources)} resources, alternating raw COPY and ingestLines`);
  await rawRun();
  const upsert = await timedIngest(pool, files, false, true);
  say("ingestLines, staging + upsert", upsert.seconds);
  await rawRun();
  const firstLoad = await timedIngest(pool, files, true, true);
  say("ingestLines, first load", firstLoad.seconds);
  await rawRun();
  // The same export again on top of the stored copy: every line is compared and nothing changes.
  const rerun = await timedIngest(pool, files, false, false);
  say("ingestLines, same export again", rerun.seconds);

  await pool.query(`DROP TABLE ${RAW_TABLE}`);
  await pool.query("VACUUM ANALYZE");

  // The median raw run: one run slowed by the machine's other work does not flatter the ratios.
  const rawSeconds = [...raw].sort((a, b) => a - b)[Math.floor(raw.length / 2)]!;
  const rawRate = files.resources / rawSeconds;
  const ratio = (run: IngestRun): number => files.resources / run.seconds / rawRate;
  const ingestRow = (figure: string, run: IngestRun, note: string): BenchRow => ({
    figure,
    value: `${rate(files.resources, run.seconds)} (${run.seconds.toFixed(1)} s), ${ratio(run).toFixed(2)} of raw COPY`,
    target: `>= ${TARGET_RATIO} of raw COPY`,
    ok: ratio(run) >= TARGET_RATIO,
    note,
  });
  return [
    {
      figure: "ingest: raw COPY of the same NDJSON into one jsonb column (baseline)",
      value: `${fmt(rawRate)} resources/s (${(mb / rawSeconds).toFixed(1)} MB/s; median of runs ${raw.map((s) => s.toFixed(1)).join(" / ")} s)`,
      target: "-",
      ok: null,
      note: `${scale} in ${files.files.length} files, ${files.origin}; the file bytes streamed straight into COPY (no parsing in Node), a table without keys; embedded PostgreSQL (fsync off), one connection, files in sequence`,
    },
    // The two paths a sync of this export takes: the first sync of a source (nothing stored yet: COPY straight into
    // fhir_resources) and every later full sync (staging + upsert over the stored copy).
    ingestRow(
      "ingest: first sync of the NDJSON into an empty source through ingestLines (COPY straight into fhir_resources)",
      firstLoad,
      `${scale}; the path run-sync takes when the source holds nothing yet (initialLoad): lines parsed and hashed in Node, binary COPY into fhir_resources (primary key and a second index), patients marked; one transaction per file`,
    ),
    ingestRow(
      "ingest: the same export synced again through ingestLines (staging + upsert, nothing changes)",
      rerun,
      `${scale}; staging + upsert over the stored copy (${fmt(rerun.counts.unchanged)} unchanged, ${fmt(rerun.counts.inserted + rerun.counts.updated)} written): idempotence costs one comparison per resource`,
    ),
    {
      ...ingestRow(
        "ingest: every resource new to a source that is not empty (staging + upsert, all inserted)",
        upsert,
        `${scale}; the worst case of a later sync, which no sync of this export takes (a whole population new to a source already holding data): COPY into the staging table, then the upsert into fhir_resources with the search for resources moved from another patient (an index probe per new row); from empty tables without initialLoad; ratio to the median of the raw COPY runs before, between and after`,
      ),
      target: "(worst case; informational)",
      ok: null,
    },
  ];
}
