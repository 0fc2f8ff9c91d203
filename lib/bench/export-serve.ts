/**
 * Child process of the reports bench (lib/bench/export.ts), a fresh process so its memory is its own: serves a
 * deterministic mix of report API requests (summary and a patient-list page, the route handlers' queries) and
 * times them, or writes one CSV export of a large patient list to a file and reports its time, rows, bytes and
 * peak memory. Prints one JSON line.
 *   tsx lib/bench/export-serve.ts '<json ExportServeInput>'
 */
import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createPool } from "../db/pool";
import { DRUG_ORDER, MEASURE_IDS } from "../reports/measures";
import { reportCasePage, reportSummary, type ReportRequest } from "../reports/report-queries";
import { writeExport } from "../reports/export/report-export";

export type ExportServeInput =
  | { kind: "api"; url: string; requests: number; warmup: number; seed: number; today: string }
  | { kind: "csv"; url: string; request: ReportRequest; file: string };

export type ExportServeOutput =
  | { kind: "api"; timed: Array<{ ms: number; query: string }> }
  | { kind: "csv"; seconds: number; rows: number; bytes: number; peakRssMb: number; baselineRssMb: number };

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function shiftYears(date: string, years: number): string {
  return `${Number(date.slice(0, 4)) + years}${date.slice(4)}`;
}

async function api(input: Extract<ExportServeInput, { kind: "api" }>): Promise<ExportServeOutput> {
  const pool = createPool(input.url, 10);
  const next = random(input.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const request = (): { request: ReportRequest; page: number } => {
    const years = pick([1, 1, 2, 3]);
    const filters: ReportRequest["filters"] = {};
    if (next() < 0.3) filters.drug = pick(DRUG_ORDER);
    if (next() < 0.2) filters.route = pick(["oral", "topical"] as const);
    return { request: { measureId: pick(MEASURE_IDS), period: { from: shiftYears(input.today, -years), to: input.today }, filters }, page: next() < 0.8 ? 1 : 1 + Math.floor(next() * 20) };
  };
  // One report page load: the summary and the first page of its list, as the page asks for them.
  const serve = async (r: { request: ReportRequest; page: number }) => {
    const [summary, list] = await Promise.all([reportSummary(pool, r.request), reportCasePage(pool, r.request, { page: r.page, pageSize: 50 })]);
    JSON.stringify(summary);
    JSON.stringify(list);
  };
  // The figures are cached until an evaluation is written: each timed load follows an (untimed) evaluation write,
  // as during or after a sync, so every load computes its figures.
  const { rows: ids } = await pool.query<{ source: string; patient_id: string }>("SELECT source, patient_id FROM evaluations ORDER BY patient_id LIMIT 100");
  let writes = 0;
  const evaluationWrite = async () => {
    const row = ids[writes++ % ids.length]!;
    await pool.query("UPDATE evaluations SET evaluated_at = (SELECT max(evaluated_at) + interval '1 millisecond' FROM evaluations) WHERE source = $1 AND patient_id = $2", [row.source, row.patient_id]);
  };
  for (let i = 0; i < input.warmup; i++) await serve(request());
  const timed: Array<{ ms: number; query: string }> = [];
  for (let i = 0; i < input.requests; i++) {
    const r = request();
    await evaluationWrite();
    const started = performance.now();
    await serve(r);
    timed.push({ ms: performance.now() - started, query: `${r.request.measureId} ${r.request.period.from}..${r.request.period.to} ${JSON.stringify(r.request.filters)} page ${r.page}` });
  }
  await pool.end();
  return { kind: "api", timed };
}

async function csv(input: Extract<ExportServeInput, { kind: "csv" }>): Promise<ExportServeOutput> {
  const pool = createPool(input.url, 4);
  global.gc?.();
  const baselineRssMb = process.memoryUsage().rss / 2 ** 20;
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const result = await writeExport(pool, input.request, { format: "csv" }, { generatedAt: new Date(), baseUrl: "http://bench.invalid" }, createWriteStream(input.file));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sample);
  await pool.end();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  return { kind: "csv", seconds, rows: result.rows, bytes: (await stat(input.file)).size, peakRssMb: Math.max(maxRssMb, peak / 2 ** 20), baselineRssMb };
}

const input = JSON.parse(process.argv[2] ?? "{}") as ExportServeInput;
const output = input.kind === "api" ? await api(input) : await csv(input);
process.stdout.write(JSON.stringify(output) + "\n");
