/**
 * Bench section: the quality reports at 100,000 patients. The report rows the re-evaluation section wrote for the
 * ingested cohort (evaluations, report_cases, report_notes) are copied into a database of their own and, below
 * 100,000 evaluated patients, copied again under new patient ids up to 100,000, then ANALYZE. A fresh child
 * process (lib/bench/export-serve.ts) then times report page loads (summary + a page of the patient list, the
 * route handlers' queries) and, in another, writes the largest patient list as CSV to a file: time and peak RSS.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { progress } from "./cleanup";
import { copyRows, replicate, withClient, type PatientTable } from "./pg-copy";
import type { ExportServeInput, ExportServeOutput } from "./export-serve";
import { BENCH_SOURCE, ensureEvaluated, fmt, FULL_SCALE } from "./pg-fixture";
import type { BenchRow } from "./types";
import { quantile } from "./stats";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DATABASE = "bench_reports";
const TABLES: PatientTable[] = [
  ["evaluations", "patient_id"],
  ["report_cases", "patient_id"],
  ["report_notes", "patient_id"],
];
const API_TARGET_P95_MS = 200;
const CSV_TARGET_SECONDS = 10;
const CSV_TARGET_MB = 300;

async function serveInChild(input: ExportServeInput): Promise<ExportServeOutput> {
  const child = spawn(process.execPath, ["--expose-gc", path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "lib/bench/export-serve.ts"), JSON.stringify(input)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  const last = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !last.startsWith("{")) throw new Error(`export-serve exited ${code}: ${err.slice(-500)}`);
  return JSON.parse(last) as ExportServeOutput;
}


export async function benchExport(): Promise<BenchRow[]> {
  const { db, cohort } = await ensureEvaluated();
  const evaluated = Number((await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM evaluations WHERE source = $1", [BENCH_SOURCE])).rows[0]?.n);
  progress(`reports: copying ${fmt(evaluated)} evaluated patients' report rows into database ${DATABASE}`);
  const url = await db.createDatabase(DATABASE);
  const dir = await mkdtemp(path.join(os.tmpdir(), "ejm-bench-export-"));
  try {
    await copyRows(db.url, url, ["sources", ...TABLES.map(([table]) => table)]);
    const copies = Math.max(0, Math.ceil(FULL_SCALE / evaluated) - 1);
    if (copies > 0) progress(`reports: copying the rows ${copies} times under new ids`);
    await replicate(url, TABLES, copies);
    const patients = await withClient(url, async (c) => Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM evaluations")).rows[0]?.n));
    const how = copies > 0 ? `${fmt(evaluated)} evaluated cohort patients' rows plus ${copies} copies under new ids` : `${fmt(evaluated)} evaluated cohort patients`;

    // The largest list: the measure with the most cases, over all time.
    const largest = await withClient(url, async (c) => (await c.query<{ measure_id: string; n: string }>("SELECT measure_id, count(*) AS n FROM report_cases GROUP BY measure_id ORDER BY n DESC LIMIT 1")).rows[0]!);
    progress(`reports: serving report page loads at ${fmt(patients)} patients`);
    const api = await serveInChild({ kind: "api", url, requests: 200, warmup: 10, seed: 9, today: cohort.asOf });
    // A list of 100,000 rows (or the whole measure when it has fewer): the period ends at the 100,000th case's date.
    const lastDay = await withClient(url, async (c) =>
      (await c.query<{ case_date: string }>("SELECT case_date FROM report_cases WHERE measure_id = $1 ORDER BY case_date OFFSET $2 LIMIT 1", [largest.measure_id, FULL_SCALE - 1])).rows[0]?.case_date ?? "2999-12-31",
    );
    progress(`reports: CSV export of the ${largest.measure_id} list up to ${lastDay}`);
    const csv = await serveInChild({
      kind: "csv",
      url,
      request: { measureId: largest.measure_id as never, period: { from: "1900-01-01", to: lastDay }, filters: {} },
      file: path.join(dir, "export.csv"),
    });
    if (api.kind !== "api" || csv.kind !== "csv") throw new Error("unexpected child output");
    const ms = api.timed.map((t) => t.ms);
    const p50 = quantile(ms, 0.5);
    const p95 = quantile(ms, 0.95);
    const slowest = [...api.timed].sort((a, b) => b.ms - a.ms).slice(0, 3).map((t) => `${t.ms.toFixed(0)} ms ${t.query}`).join("; ");
    return [
      {
        figure: `report API: report page load (summary + patient-list page), ${fmt(patients)} patients, p50 / p95`,
        value: `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (max ${Math.max(...ms).toFixed(0)} ms, ${ms.length} loads)`,
        target: `p95 < ${API_TARGET_P95_MS} ms`,
        ok: p95 < API_TARGET_P95_MS,
        note: `${how}; every measure, periods of 1-3 years, 0-2 filters, pages of 50 (80% page 1); sequential, one process, pool of 10, after 10 warm-up loads; each load just after an untimed evaluation write, so its figures are computed, not served from the cache (the summary and the list's total share one aggregation); slowest ${slowest}`,
      },
      {
        figure: `CSV export, ${fmt(csv.rows)}-row patient list (${fmt(patients)} patients)`,
        value: `${csv.seconds.toFixed(1)} s, peak RSS ${csv.peakRssMb.toFixed(0)} MB, ${(csv.bytes / 2 ** 20).toFixed(0)} MB written`,
        target: `< ${CSV_TARGET_SECONDS} s, peak < ${CSV_TARGET_MB} MB`,
        ok: csv.rows >= FULL_SCALE && csv.seconds < CSV_TARGET_SECONDS && csv.peakRssMb < CSV_TARGET_MB,
        note: `the ${largest.measure_id} measure's cases up to the 100,000th case's date (${fmt(csv.rows)} rows, one per case), internal list with names, streamed from PostgreSQL in keyset batches of 5,000 to a file; a fresh process, RSS at start ${csv.baselineRssMb.toFixed(0)} MB (Node, tsx and the app's modules)`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
    await db.pool.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`).catch(() => undefined);
  }
}
