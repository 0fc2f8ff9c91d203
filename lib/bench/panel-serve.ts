/**
 * Child process of the panel bench (lib/bench/panel.ts): serves a deterministic mix of panel API requests
 * against one database, sequentially, the way the route handlers do (query parameters parsed and validated,
 * D's query functions on a pool of 10, the response serialised), and reports each request's time and the
 * process's memory as one JSON line on stdout. A fresh process per panel size, so the memory figures of two
 * sizes compare like for like.
 *   tsx lib/bench/panel-serve.ts '<json ServeInput>'
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { addDays } from "../clinical/dates";
import { createPool } from "../db/pool";
import {
  CHECKPOINT_WEEKS,
  DATE_FIELDS,
  DRUGS,
  FLAG_KINDS,
  NATURAL_DIRECTION,
  PAGE_SIZES,
  parsePanelFilters,
  parseSourceParam,
  PRESETS,
  ROUTES,
  SEVERITIES,
  SORT_KEYS,
  VERDICT_FILTERS,
} from "../panel/filters";
import { filterOptions, panelCharts, panelSummary, worklistPage } from "../panel/queries";
import { seededRandom } from "../sandbox/faults";

export interface ServeInput {
  url: string;
  source: string;
  today: string;
  requests: { summary: number; worklist: number; charts: number };
  warmup: number;
  seed: number;
}

export interface Timed {
  ms: number;
  query: string;
  bytes: number;
}

export interface MemoryFigures {
  /** After the pool is up and the warm-up requests are done, after a full GC. */
  baselineRssMb: number;
  baselineHeapMb: number;
  /** Highest seen after any request. */
  peakRssMb: number;
  peakHeapMb: number;
  /** After the last request, after a full GC. */
  retainedHeapMb: number;
}

/**
 * The summary and charts cache their aggregates per process until an evaluation is written (lib/panel/queries.ts):
 * "summary" and "charts" are timed just after an evaluation write (computed), "summaryCached" and "chartsCached"
 * repeat the same request right after (served from the cache).
 */
export interface ServeOutput {
  /** The summary's count of evaluated patients (all sources): that the panel reads every row copied in. */
  evaluatedPatients: number;
  summary: Timed[];
  summaryCached: Timed[];
  worklist: Timed[];
  charts: Timed[];
  chartsCached: Timed[];
  memory: MemoryFigures;
}

type Endpoint = keyof ServeInput["requests"];
type Measured = Exclude<keyof ServeOutput, "evaluatedPatients" | "memory">;




/** Worklist queries as a clinic lead makes them: mostly page 1 with a filter or two, some paging and sorting. */
export function worklistQueries(count: number, random: () => number, input: Pick<ServeInput, "today" | "source">, prescribers: string[]): string[] {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const narrowings: Array<(p: URLSearchParams) => void> = [
    (p) => p.set("drug", pick(DRUGS)),
    (p) => p.set("route", pick(ROUTES)),
    (p) => p.set("week", String(pick(CHECKPOINT_WEEKS))),
    (p) => p.set("verdict", pick(VERDICT_FILTERS)),
    (p) => p.set("flag", pick(FLAG_KINDS)),
    (p) => p.set("severity", pick(SEVERITIES)),
    (p) => {
      p.set("flag", pick(FLAG_KINDS));
      p.set("severity", pick(SEVERITIES));
    },
    (p) => {
      if (prescribers.length > 0) p.set("prescriber", pick(prescribers));
    },
    (p) => {
      const dateOf = pick(DATE_FIELDS);
      if (dateOf === "due") {
        p.set("dateOf", "due");
        p.set("from", input.today);
        p.set("to", addDays(input.today, 7 + Math.floor(random() * 60)));
      } else {
        const from = addDays(input.today, -Math.floor(random() * 1000));
        p.set("from", from);
        if (random() < 0.5) p.set("to", addDays(from, 30 + Math.floor(random() * 300)));
      }
    },
    (p) => p.set("preset", pick(PRESETS)),
    (p) => p.set("preset", pick(PRESETS)),
    (p) => p.set("source", input.source),
  ];
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = new URLSearchParams();
    if (random() < 0.15) p.set("scope", "all");
    const r = random();
    const filters = r < 0.2 ? 0 : r < 0.6 ? 1 : r < 0.9 ? 2 : 3;
    for (let f = 0; f < filters; f++) pick(narrowings)(p);
    const sort = pick(SORT_KEYS);
    if (sort !== "severity") p.set("sort", sort);
    if (random() < 0.3) p.set("dir", NATURAL_DIRECTION[sort] === "asc" ? "desc" : "asc");
    const s = random();
    p.set("size", String(s < 0.15 ? PAGE_SIZES[0] : s < 0.65 ? PAGE_SIZES[1] : s < 0.85 ? PAGE_SIZES[2] : PAGE_SIZES[3]));
    const g = random();
    const page = g < 0.65 ? 1 : g < 0.85 ? 2 + Math.floor(random() * 4) : 6 + Math.floor(random() * 95);
    if (page > 1) p.set("page", String(page));
    queries.push(p.toString());
  }
  return queries;
}

/** `?source=` of the summary and charts: all sources (60%) or the one. */
export function sourceQueries(count: number, random: () => number, source: string): string[] {
  return Array.from({ length: count }, () => (random() < 0.6 ? "" : new URLSearchParams({ source }).toString()));
}

function fullGc(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (() => void) | undefined;
  return () => gc?.();
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function serve(input: ServeInput): Promise<ServeOutput> {
  const gc = fullGc();
  const pool = createPool(input.url, 10);
  try {
    const random = seededRandom(input.seed);
    const { prescribers } = await filterOptions(pool, { source: null });
    const plan: Record<Endpoint, string[]> = {
      summary: sourceQueries(input.requests.summary, random, input.source),
      worklist: worklistQueries(input.requests.worklist, random, input, prescribers),
      charts: sourceQueries(input.requests.charts, random, input.source),
    };
    // What each route handler does after the role gate: parse and validate the query, query, serialise.
    const handle = async (endpoint: Endpoint, query: string): Promise<number> => {
      const params = new URLSearchParams(query);
      let body: unknown;
      if (endpoint === "worklist") {
        const parsed = parsePanelFilters(params);
        if (!parsed.ok) throw new Error(`bench query rejected: ${query}: ${parsed.problems.map((p) => p.reason).join("; ")}`);
        body = await worklistPage(pool, parsed.filters, { today: input.today });
      } else {
        const parsed = parseSourceParam(params);
        if (!parsed.ok) throw new Error(`bench query rejected: ${query}`);
        body = endpoint === "summary" ? await panelSummary(pool, { source: parsed.source, today: input.today }) : await panelCharts(pool, { source: parsed.source, today: input.today });
      }
      return JSON.stringify(body).length;
    };

    // An evaluation written (its stamp moved, as evaluation-store.ts does), so the next summary and charts recompute.
    const ids = (await pool.query<{ source: string; patient_id: string }>("SELECT source, patient_id FROM evaluations ORDER BY source, patient_id LIMIT 50")).rows;
    let writes = 0;
    const evaluationWritten = async (): Promise<void> => {
      const row = ids[writes++ % ids.length]!;
      await pool.query(
        "UPDATE evaluations SET evaluated_at = (SELECT max(evaluated_at) + interval '1 millisecond' FROM evaluations) WHERE source = $1 AND patient_id = $2",
        [row.source, row.patient_id],
      );
    };

    // Warm-up (not timed): connections opened, plans and caches warm, code compiled.
    const order: Endpoint[] = ["summary", "worklist", "charts"];
    for (let i = 0; i < input.warmup; i++) {
      await evaluationWritten();
      for (const endpoint of order) await handle(endpoint, plan[endpoint][i % plan[endpoint].length]!);
    }
    gc();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let peakHeap = baseline.heapUsed;

    const check = await panelSummary(pool, { source: null, today: input.today });
    const out: ServeOutput = { evaluatedPatients: check.evaluatedPatients.count, summary: [], summaryCached: [], worklist: [], charts: [], chartsCached: [], memory: {} as MemoryFigures };
    const timed = async (endpoint: Endpoint, into: Measured, query: string): Promise<void> => {
      const started = performance.now();
      const bytes = await handle(endpoint, query);
      out[into].push({ ms: performance.now() - started, query, bytes });
      const m = process.memoryUsage();
      if (m.rss > peakRss) peakRss = m.rss;
      if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    };
    // Interleaved, as a dashboard page load asks for the summary, a worklist page and the charts together; each
    // round after an evaluation write (untimed), as during or after a sync.
    const rounds = Math.max(input.requests.summary, input.requests.worklist, input.requests.charts);
    for (let i = 0; i < rounds; i++) {
      await evaluationWritten();
      const summary = plan.summary[i];
      const worklist = plan.worklist[i];
      const charts = plan.charts[i];
      if (summary !== undefined) await timed("summary", "summary", summary);
      if (worklist !== undefined) await timed("worklist", "worklist", worklist);
      if (charts !== undefined) await timed("charts", "charts", charts);
      if (summary !== undefined) await timed("summary", "summaryCached", summary);
      if (charts !== undefined) await timed("charts", "chartsCached", charts);
      if ((i + 1) % 100 === 0) process.stderr.write(`  [bench]   ${i + 1} / ${rounds} rounds\n`);
    }
    gc();
    out.memory = {
      baselineRssMb: mb(baseline.rss),
      baselineHeapMb: mb(baseline.heapUsed),
      peakRssMb: mb(peakRss),
      peakHeapMb: mb(peakHeap),
      retainedHeapMb: mb(process.memoryUsage().heapUsed),
    };
    return out;
  } finally {
    await pool.end();
  }
}

const isEntryPoint = process.argv[1] !== undefined && /bench[\\/]panel-serve\.ts$/.test(process.argv[1]);
if (isEntryPoint) {
  serve(JSON.parse(process.argv[2] ?? "{}") as ServeInput).then(
    (output) => process.stdout.write(`${JSON.stringify(output)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
