/**
 * Bench section: the panel API (summary, worklist, charts) with a mix of filters, sorts and pages at 10,000 and
 * 100,000 patients, and the serving process's memory at both sizes. The evaluation rows are the real ones the
 * reevaluate section wrote for the ingested cohort, copied into a database of their own on the same server:
 * 10,000 patients first; then, below 100,000 evaluated patients, those rows copied under new patient ids
 * (INSERT .. SELECT with a suffix) up to 100,000, then ANALYZE. Each size is served by a fresh child process
 * (lib/bench/panel-serve.ts) calling the route handlers' logic directly, not over HTTP.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { progress } from "./cleanup";
import { copyRows, replicate, withClient, type PatientTable } from "./pg-copy";
import type { ServeInput, ServeOutput, Timed } from "./panel-serve";
import { BENCH_SOURCE, ensureEvaluated, fmt, FULL_SCALE } from "./pg-fixture";
import type { BenchRow } from "./types";
import { quantile } from "./stats";

const ROOT = path.resolve(import.meta.dirname, "../..");
const PANEL_DATABASE = "bench_panel";
const BASE_SCALE = 10_000;
const TARGET_P95_MS = 150;
/** "Flat": serving 10x the patients may cost at most this factor in peak RSS and retained heap. */
const FLAT_FACTOR = 1.25;
const REQUESTS = { summary: 200, worklist: 300, charts: 200 };
const WARMUP = 10;

/** Tables the panel reads (and patients, for completeness), with their patient id column. */
const TABLES: PatientTable[] = [
  ["evaluations", "patient_id"],
  ["evaluation_checkpoints", "patient_id"],
  ["evaluation_labs", "patient_id"],
  ["evaluation_flags", "patient_id"],
  ["patients", "id"],
];

/** Copies the rows of the bench source's patients with ids in (after, upTo] from the main database. */
async function copyPatients(fromUrl: string, toUrl: string, after: string, upTo: string): Promise<void> {
  const idColumn = new Map(TABLES);
  await copyRows(fromUrl, toUrl, TABLES.map(([table]) => table), (table, source) =>
    `source = ${source.escapeLiteral(BENCH_SOURCE)} AND ${idColumn.get(table)} > ${source.escapeLiteral(after)} AND ${idColumn.get(table)} <= ${source.escapeLiteral(upTo)}`,
  );
}

/** The sources row and the sync runs (the summary shows the last sync). */
function copySyncState(fromUrl: string, toUrl: string): Promise<void> {
  return copyRows(fromUrl, toUrl, ["sources", "sync_runs"]);
}

async function countEvaluations(url: string): Promise<number> {
  return withClient(url, async (client) => Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM evaluations")).rows[0]?.n));
}

/** Runs lib/bench/panel-serve.ts in a fresh Node process (this process's Node, through tsx). */
async function serveInChild(input: ServeInput): Promise<ServeOutput> {
  const child = spawn(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "lib/bench/panel-serve.ts"), JSON.stringify(input)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    const text = d.toString();
    err += text;
    process.stderr.write(text);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  const last = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !last.startsWith("{")) throw new Error(`panel-serve exited ${code}: ${err.slice(-500)}`);
  return JSON.parse(last) as ServeOutput;
}


function latencyRow(figure: string, timed: Timed[], note: string): BenchRow {
  const ms = timed.map((t) => t.ms);
  const p50 = quantile(ms, 0.5);
  const p95 = quantile(ms, 0.95);
  return {
    figure,
    value: `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (max ${Math.max(...ms).toFixed(0)} ms, ${timed.length} requests)`,
    target: `p95 < ${TARGET_P95_MS} ms`,
    ok: p95 < TARGET_P95_MS,
    note,
  };
}

function slowest(timed: Timed[], n: number): string {
  return [...timed]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map((t) => `${t.ms.toFixed(0)} ms "${t.query || "(no parameters)"}"`)
    .join(", ");
}

export async function benchPanel(): Promise<BenchRow[]> {
  const { db, cohort } = await ensureEvaluated();
  const ids = (await db.pool.query<{ patient_id: string }>("SELECT patient_id FROM evaluations WHERE source = $1 ORDER BY patient_id", [BENCH_SOURCE])).rows.map((r) => r.patient_id);
  const base = Math.min(BASE_SCALE, ids.length);
  progress(`panel: copying ${fmt(base)} evaluated patients into database ${PANEL_DATABASE}`);
  const url = await db.createDatabase(PANEL_DATABASE);
  try {
    await copySyncState(db.url, url);
    await copyPatients(db.url, url, "", ids[base - 1]!);
    await withClient(url, (client) => client.query("VACUUM ANALYZE"));

    const input = (seed: number): ServeInput => ({ url, source: BENCH_SOURCE, today: cohort.asOf, requests: REQUESTS, warmup: WARMUP, seed });
    const sizes: Array<{ patients: number; how: string; output: ServeOutput }> = [];
    const serveAt = async (how: string) => {
      const patients = await countEvaluations(url);
      progress(`panel: serving ${REQUESTS.summary} summary, ${REQUESTS.worklist} worklist and ${REQUESTS.charts} chart requests at ${fmt(patients)} patients`);
      const output = await serveInChild(input(8));
      if (output.evaluatedPatients !== patients) throw new Error(`the panel summary counts ${output.evaluatedPatients} evaluated patients of ${patients} stored`);
      sizes.push({ patients, how, output });
    };
    await serveAt(`the first ${fmt(base)} of ${fmt(cohort.patients)} evaluated cohort patients`);

    // Up to 100,000: more real evaluated patients when the cohort has them, then copies of the rows under new ids.
    const real = Math.min(FULL_SCALE, ids.length);
    if (real > base) {
      progress(`panel: copying evaluated patients up to ${fmt(real)}`);
      await copyPatients(db.url, url, ids[base - 1]!, ids[real - 1]!);
    }
    const copies = Math.ceil(FULL_SCALE / real) - 1;
    if (copies > 0) {
      progress(`panel: copying the ${fmt(real)} patients' rows ${copies} times under new ids`);
      await replicate(url, TABLES, copies);
    } else {
      await withClient(url, (client) => client.query("VACUUM ANALYZE"));
    }
    await serveAt(
      copies > 0
        ? `the ${fmt(real)} evaluated patients' rows plus ${copies} copies under new patient ids (INSERT .. SELECT), then ANALYZE`
        : `the first ${fmt(real)} evaluated cohort patients`,
    );

    const rows: BenchRow[] = [];
    for (const size of sizes) {
      const scale = `${fmt(size.patients)} patients: ${size.how}; sequential requests, one process, pool of 10, after ${WARMUP} warm-up rounds`;
      const { summary, summaryCached, worklist, charts, chartsCached } = size.output;
      const computed = "each request just after an evaluation write (untimed), so the aggregates are computed, not served from the per-process cache";
      rows.push(latencyRow(`panel API: summary with filters, ${fmt(size.patients)} patients, p50 / p95`, summary, `${scale}; source all or one; ${computed}`));
      rows.push(latencyRow(`panel API: summary from the cache, ${fmt(size.patients)} patients, p50 / p95`, summaryCached, `${scale}; the same request repeated (version check + sources + last sync)`));
      rows.push(
        latencyRow(
          `panel API: worklist with filters, sorts and pages, ${fmt(size.patients)} patients, p50 / p95`,
          worklist,
          `${scale}; 0-3 filters of every kind (presets included), all 6 sorts both ways, page sizes 10-100, 65% page 1, 15% pages 6-100; slowest ${slowest(worklist, 3)}`,
        ),
      );
      rows.push(latencyRow(`panel API: charts, ${fmt(size.patients)} patients, p50 / p95`, charts, `${scale}; source all or one; ${computed}`));
      rows.push(latencyRow(`panel API: charts from the cache, ${fmt(size.patients)} patients, p50 / p95`, chartsCached, `${scale}; the same request repeated`));
    }
    const [small, large] = sizes;
    if (small && large) {
      const a = small.output.memory;
      const b = large.output.memory;
      const rssRatio = b.peakRssMb / a.peakRssMb;
      const heapRatio = b.retainedHeapMb / a.retainedHeapMb;
      const peakHeapRatio = b.peakHeapMb / a.peakHeapMb;
      rows.push({
        figure: `panel API: memory serving the panel, ${fmt(small.patients)} vs ${fmt(large.patients)} patients`,
        value: `peak RSS ${a.peakRssMb.toFixed(0)} / ${b.peakRssMb.toFixed(0)} MB (x${rssRatio.toFixed(2)}), peak heap ${a.peakHeapMb.toFixed(0)} / ${b.peakHeapMb.toFixed(0)} MB (x${peakHeapRatio.toFixed(2)}), retained heap ${a.retainedHeapMb.toFixed(0)} / ${b.retainedHeapMb.toFixed(0)} MB (x${heapRatio.toFixed(2)})`,
        target: `flat: x${FLAT_FACTOR} at most`,
        ok: rssRatio <= FLAT_FACTOR && heapRatio <= FLAT_FACTOR,
        note: `one fresh serving process per size, the same ${2 * REQUESTS.summary + REQUESTS.worklist + 2 * REQUESTS.charts} requests; peak = highest after any request; retained = heap used after the last request and a full GC; baseline after warm-up and GC ${a.baselineRssMb.toFixed(0)} / ${b.baselineRssMb.toFixed(0)} MB RSS, ${a.baselineHeapMb.toFixed(0)} / ${b.baselineHeapMb.toFixed(0)} MB heap; PostgreSQL's own memory not included`,
      });
    }
    return rows;
  } finally {
    await db.pool.query(`DROP DATABASE IF EXISTS ${PANEL_DATABASE} WITH (FORCE)`).catch(() => undefined);
  }
}
