/**
 * Bench section: load. 50 clinic leads on the panel API (summary, worklist, charts) and 20 dermatologists on patient
 * views, all at once for LOAD_SECONDS (default 60 s), in one process as the app serves them: each user a loop that
 * sends its next request when the last one answered (bounded in time; no think time, so this is heavier than 70
 * people). Reports p50 / p95, errors and the process's memory (sampled each second; heap after a full GC before and
 * after the load).
 *
 * In-process, without HTTP: the panel requests go through the route logic (query parsed and validated as the routes
 * do, the query functions on a pool of 10 like the app's pgPool, the JSON serialised) without the session gate; the
 * patient views go through the real handler (GET /api/patients/[id]: session read from PostgreSQL, token, parallel
 * FHIR searches over HTTP to a sandbox EHR in another process, engine, JSON) after one real EHR launch per
 * dermatologist. The panel reads the bench's evaluated cohort (BENCH_PATIENTS, default 10,000).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createPool } from "../db/pool";
import { CHECKPOINT_WEEKS, DRUGS, FLAG_KINDS, PAGE_SIZES, parsePanelFilters, parseSourceParam, PRESETS, SORT_KEYS } from "../panel/filters";
import { panelCharts, panelSummary, worklistPage } from "../panel/queries";
import { onBenchExit, progress } from "./cleanup";
import { BENCH_SOURCE, benchDatabase, ensureEvaluated, fmt } from "./pg-fixture";
import { startSandboxProcess } from "./sandbox-process";
import type { BenchRow } from "./types";

const APP = "http://127.0.0.1:3999";
const CLINIC_LEADS = 50;
const DERMATOLOGISTS = 20;
const PANEL_P95_TARGET_MS = 300;
/** Heap after a full GC at the end over the same at the start: above this, memory is not steady. */
const STEADY_FACTOR = 1.5;

export function loadSeconds(env: Record<string, string | undefined> = process.env): number {
  const raw = env.LOAD_SECONDS;
  if (raw === undefined || raw === "") return 60;
  if (!/^\d+$/.test(raw) || Number(raw) < 5 || Number(raw) > 600) throw new Error(`LOAD_SECONDS must be a whole number from 5 to 600 (got "${raw}")`);
  return Number(raw);
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** mulberry32: the same request mix every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  ms: number[];
  errors: number;
  firstError?: string;
}

/** `users` loops, each sending its next request when the last answered, until `until` (performance.now()). */
async function runUsers(users: number, until: number, request: (user: number, i: number) => Promise<void>): Promise<Outcome> {
  const outcome: Outcome = { ms: [], errors: 0 };
  await Promise.all(
    Array.from({ length: users }, async (_, user) => {
      for (let i = 0; performance.now() < until; i++) {
        const started = performance.now();
        try {
          await request(user, i);
          outcome.ms.push(performance.now() - started);
        } catch (error) {
          outcome.errors += 1;
          outcome.firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  return outcome;
}

function fullGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const mb = (bytes: number): number => bytes / 1024 / 1024;

function panelRequests(pool: ReturnType<typeof createPool>, today: string): (user: number, i: number) => Promise<void> {
  const randoms = new Map<number, () => number>();
  return async (user) => {
    let random = randoms.get(user);
    if (!random) randoms.set(user, (random = prng(1000 + user)));
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const r = random();
    let body: unknown;
    if (r < 0.5) {
      const p = new URLSearchParams();
      const narrow = random();
      if (narrow < 0.2) p.set("drug", pick(DRUGS));
      else if (narrow < 0.4) p.set("flag", pick(FLAG_KINDS));
      else if (narrow < 0.55) p.set("preset", pick(PRESETS));
      else if (narrow < 0.7) p.set("week", String(pick(CHECKPOINT_WEEKS)));
      p.set("sort", pick(SORT_KEYS));
      p.set("size", String(pick(PAGE_SIZES)));
      if (random() < 0.3) p.set("page", String(2 + Math.floor(random() * 5)));
      const parsed = parsePanelFilters(p);
      if (!parsed.ok) throw new Error(`worklist query rejected: ${parsed.problems[0]?.reason ?? ""}`);
      body = await worklistPage(pool, parsed.filters, { today });
    } else {
      const parsed = parseSourceParam(new URLSearchParams(random() < 0.5 ? "" : `source=${BENCH_SOURCE}`));
      if (!parsed.ok) throw new Error("source rejected");
      body = r < 0.8 ? await panelSummary(pool, { source: parsed.source, today }) : await panelCharts(pool, { source: parsed.source, today });
    }
    if (JSON.stringify(body).length < 2) throw new Error("empty panel response");
  };
}

function latencyRow(figure: string, outcome: Outcome, target: string, ok: boolean | null, note: string): BenchRow {
  const p50 = quantile(outcome.ms, 0.5);
  const p95 = quantile(outcome.ms, 0.95);
  return {
    figure,
    value: `p50 ${p50.toFixed(0)} ms / p95 ${p95.toFixed(0)} ms, ${fmt(outcome.ms.length)} requests, ${outcome.errors} errors`,
    target,
    ok,
    note: outcome.firstError ? `${note}; first error: ${outcome.firstError}` : note,
  };
}

export async function benchLoad(): Promise<BenchRow[]> {
  const seconds = loadSeconds();
  const { cohort } = await ensureEvaluated();
  const db = await benchDatabase();
  const pool = createPool(db.url, 10);
  onBenchExit("load pool", () => pool.end());

  progress(`load: starting a sandbox EHR and launching ${DERMATOLOGISTS} dermatologists`);
  const sandbox = await startSandboxProcess(["--patients", String(DERMATOLOGISTS + 5), "--seed", "3", "--app-launch-url", `${APP}/launch`]);
  onBenchExit("load sandbox", () => sandbox.stop());
  const { createPrisma } = await import("../db/client");
  const prisma = createPrisma(db.url);
  onBenchExit("load prisma", () => prisma.$disconnect());
  const { SessionStore } = await import("../smart/session-store");
  const { deriveKey } = await import("../smart/crypto");
  const { smartConfig } = await import("../smart/config");
  const { handleLaunch, handleCallback } = await import("../smart/launch");
  const { handlePatientViewRequest } = await import("../fhir/patient-api");
  const deps = { store: new SessionStore(prisma, deriveKey("bench-load-session-secret-0123456789abcd")), config: smartConfig({}), log: () => {} };

  const cookieOf = (response: Response): string | null => response.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => !c.endsWith("=")) ?? null;
  const launch = async (patient: string): Promise<string> => {
    const opened = await fetch(`${sandbox.launcherUrl}?practitioner=pr-derm-1&patient=${patient}&mode=ehr&go=1`, { redirect: "manual" });
    const launchUrl = opened.headers.get("location");
    if (!launchUrl?.startsWith(`${APP}/launch?`)) throw new Error(`the launcher did not open the app (${opened.status})`);
    const start = await handleLaunch(new Request(launchUrl), deps);
    const launchCookie = cookieOf(start) ?? "";
    const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie: launchCookie } }), deps);
    if (!done.headers.get("location")?.endsWith(`/patients/${patient}`)) throw new Error(`the launch did not land on the patient view (${done.status})`);
    // A server that rotates the session id at launch sets the session cookie on the callback.
    return cookieOf(done) ?? launchCookie;
  };
  const patients = Array.from({ length: DERMATOLOGISTS }, (_, i) => `pt-${String(i + 1).padStart(6, "0")}`);
  const cookies: string[] = [];
  for (const patient of patients) cookies.push(await launch(patient));
  const viewRequest = async (user: number): Promise<void> => {
    const patient = patients[user]!;
    const res = await handlePatientViewRequest(new Request(`${APP}/api/patients/${patient}`, { headers: { cookie: cookies[user]! } }), patient, deps);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`patient view answered ${res.status}`);
    if (!text.includes(patient)) throw new Error("patient view without its patient");
  };
  const panelRequest = panelRequests(pool, cohort.asOf);

  // Warm-up, untimed: connections, plans, the panel's per-pool cache, compiled code.
  progress("load: warming up");
  await runUsers(CLINIC_LEADS, performance.now() + 3000, panelRequest);
  await runUsers(DERMATOLOGISTS, performance.now() + 3000, viewRequest);
  const gc = fullGc();
  gc();
  const before = process.memoryUsage();
  const samples: number[] = [];
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    samples.push(m.rss);
    peakRss = Math.max(peakRss, m.rss);
  }, 1000);

  progress(`load: ${CLINIC_LEADS} clinic leads on the panel and ${DERMATOLOGISTS} dermatologists on patient views for ${seconds} s`);
  const until = performance.now() + seconds * 1000;
  let panel: Outcome;
  let views: Outcome;
  try {
    [panel, views] = await Promise.all([runUsers(CLINIC_LEADS, until, panelRequest), runUsers(DERMATOLOGISTS, until, viewRequest)]);
  } finally {
    clearInterval(sampler);
  }
  gc();
  const after = process.memoryUsage();
  const heapFactor = after.heapUsed / before.heapUsed;
  const half = Math.floor(samples.length / 2);
  const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const rssFirst = meanOf(samples.slice(0, half));
  const rssSecond = meanOf(samples.slice(half));

  const scale = `${fmt(cohort.patients)}-patient bench cohort, in-process route logic without the session gate, pool of 10, ${seconds} s, each user's next request as soon as the last answered`;
  return [
    latencyRow(
      `load: ${CLINIC_LEADS} concurrent clinic leads on the panel API (summary, worklist, charts) for ${seconds} s`,
      panel,
      `p95 < ${PANEL_P95_TARGET_MS} ms, 0 errors`,
      panel.errors === 0 && panel.ms.length > 0 && quantile(panel.ms, 0.95) < PANEL_P95_TARGET_MS,
      `${scale}; 50% worklist (filters, sorts, pages), 30% summary, 20% charts; ${(panel.ms.length / seconds).toFixed(0)} requests/s while ${DERMATOLOGISTS} dermatologists load patient views`,
    ),
    latencyRow(
      `load: ${DERMATOLOGISTS} concurrent dermatologists on patient views for ${seconds} s`,
      views,
      "0 errors",
      views.errors === 0 && views.ms.length > 0,
      `GET /api/patients/[id] handler after a real EHR launch each (session and token from PostgreSQL, FHIR searches to a sandbox EHR in another process, engine, JSON); ${(views.ms.length / seconds).toFixed(1)} views/s while the panel load runs`,
    ),
    {
      figure: `load: memory of the serving process during the ${seconds} s load`,
      value: `heap after GC ${mb(before.heapUsed).toFixed(0)} -> ${mb(after.heapUsed).toFixed(0)} MB (x${heapFactor.toFixed(2)}), RSS mean ${mb(rssFirst).toFixed(0)} MB first half / ${mb(rssSecond).toFixed(0)} MB second half, peak ${mb(peakRss).toFixed(0)} MB`,
      target: `steady: heap after GC x${STEADY_FACTOR} at most`,
      ok: heapFactor <= STEADY_FACTOR,
      note: "sampled each second; PostgreSQL's and the sandbox's memory not included",
    },
  ];
}
