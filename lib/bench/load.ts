/**
 * Bench section: load, through the production server over HTTP. 50 clinic leads on the panel API and 20
 * dermatologists on patient views at once for LOAD_SECONDS (default 60 s), each user a loop that sends its next
 * request when the last one answered (no think time, so heavier than 70 people; bounded in time).
 *
 * - The app: `next start` from the production build (EJM_NEXT_DIST_DIR, else .next; built first if missing) via
 *   startAppServer, on the bench's PostgreSQL (DATABASE_URL: the evaluated BENCH_PATIENTS cohort, default 10,000),
 *   WORKER_IN_APP=0, NODE_ENV=production with its secrets, "today" pinned to the cohort's (CLINIC_AS_OF).
 * - The EHR: the sandbox in its own process (the first 100 patients of the same generated cohort, seed 1).
 * - Sign-in: one real launch per user over HTTP, as a browser does it (launcher, /launch, the sandbox's authorize,
 *   /callback; each user its own cookies): a standalone launch as the clinic lead (pr-lead-1) for each of the 50
 *   leads, an EHR launch as a dermatologist (pr-derm-1) with patient pt-000001..pt-000020 for each of the 20.
 * - Requests: leads call the routes the panel pages call (/api/panel/summary, /api/panel/worklist with filters,
 *   sorts and pages, /api/panel/charts); dermatologists call GET /api/patients/[id], the route the patient page
 *   uses (session, token, 11 parallel FHIR requests to the sandbox, engine, audit row). An evaluation is committed
 *   every 10 s meanwhile (as a sync does), so the summary and charts are recomputed, not only read from cache.
 * - Measured: latency per request at the client, errors (a status other than 200, a timeout, a body that is not
 *   the JSON asked for), the server's V8 heap after a full GC before and after (through its inspector, loopback
 *   only) and its RSS each second (/proc, the whole `next start` process tree), CPU seconds of each process group
 *   (server, sandbox, PostgreSQL, this load generator, everything else on the machine: others share the cores),
 *   and from the server's own log lines the FHIR fetch and engine time of each patient view.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "undici";
import { createServer } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { makeTempDataDir } from "../db/embedded";
import { parsePanelFilters } from "../panel/filters";
import { filterOptions } from "../panel/queries";
import { onBenchExit, progress } from "./cleanup";
import { seededRandom } from "../sandbox/faults";
import { quantile } from "./stats";
import { sourceQueries, worklistQueries } from "./panel-serve";
import { BENCH_SOURCE, ensureEvaluated, fmt } from "./pg-fixture";
import { startSandboxProcess } from "./sandbox-process";
import type { BenchRow } from "./types";

const CLINIC_LEADS = 50;
const DERMATOLOGISTS = 20;
const PANEL_P95_TARGET_MS = 300;
/** Steady memory: the server's V8 heap after a full GC at the end of the load at most this times the same at its start. */
export const STEADY_HEAP_FACTOR = 1.25;
const SANDBOX_PATIENTS = 100;
const EVALUATION_WRITE_EVERY_MS = 10_000;
const WARMUP_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;
const LAUNCH_PARALLELISM = 5;
/** The sandbox's default client secret for the app (lib/sandbox/clients.ts): the credential production requires. */
const SANDBOX_APP_CLIENT_SECRET = "sandbox-app-secret";

export function loadSeconds(env: Record<string, string | undefined> = process.env): number {
  const raw = env.LOAD_SECONDS;
  if (raw === undefined || raw === "") return 60;
  if (!/^\d+$/.test(raw) || Number(raw) < 5 || Number(raw) > 600) throw new Error(`LOAD_SECONDS must be a whole number from 5 to 600 (got "${raw}")`);
  return Number(raw);
}


const mean = (xs: number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * Whether a series sampled at a steady rate stays flat: the mean of its last third over the mean of its first third
 * (the middle left out, so a warm-up step or one spike does not decide it), and the least-squares slope per sample.
 */
export function growthOf(samples: number[]): { factor: number; slopePerSample: number } {
  if (samples.length < 3) return { factor: Number.NaN, slopePerSample: Number.NaN };
  const third = Math.floor(samples.length / 3);
  const factor = mean(samples.slice(-third)) / mean(samples.slice(0, third));
  const xMean = (samples.length - 1) / 2;
  const yMean = mean(samples);
  let num = 0;
  let den = 0;
  samples.forEach((y, x) => {
    num += (x - xMean) * (y - yMean);
    den += (x - xMean) ** 2;
  });
  return { factor, slopePerSample: num / den };
}

// --- cookies --------------------------------------------------------------------------------------------------

/** One origin's cookies for one user, as a browser keeps them: name, value and path; expired ones removed. */
export class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let cookiePath = "/";
      let expired = value === "";
      for (const attribute of attributes) {
        const [key = "", raw = ""] = attribute.split("=").map((part) => part.trim());
        if (/^path$/i.test(key) && raw.startsWith("/")) cookiePath = raw;
        if (/^max-age$/i.test(key) && Number(raw) <= 0) expired = true;
        if (/^expires$/i.test(key) && Date.parse(raw) <= Date.now()) expired = true;
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path: cookiePath });
    }
  }

  /** The Cookie header for a request to `pathname`. */
  header(pathname: string): string {
    return [...this.cookies]
      .filter(([, c]) => pathname === c.path || pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join("; ");
  }

  names(): string[] {
    return [...this.cookies.keys()];
  }
}

/**
 * A SMART launch as a browser does it: follows redirects between the EHR's launcher and authorize endpoint and the
 * app's /launch and /callback, each origin with its own cookies, and stops where the app sends the user to a page.
 * Returns the app's cookies and that page's path.
 */
export async function launchOverHttp(launcherUrl: string, appUrl: string, params: Record<string, string>): Promise<{ cookies: CookieJar; landing: string }> {
  const app = new CookieJar();
  const ehr = new CookieJar();
  const appOrigin = new URL(appUrl).origin;
  let url = new URL(launcherUrl);
  for (const [name, value] of Object.entries({ ...params, go: "1" })) url.searchParams.set(name, value);
  for (let hop = 0; hop < 8; hop++) {
    const jar = url.origin === appOrigin ? app : ehr;
    const response = await fetch(url, { redirect: "manual", headers: { cookie: jar.header(url.pathname) } });
    jar.store(response.headers.getSetCookie());
    const body = await response.text();
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`the launch stopped at ${url.origin === appOrigin ? "the app" : "the EHR"} ${url.pathname} with ${response.status}: ${body.slice(0, 200)}`);
    }
    url = new URL(location, url);
    if (url.origin === appOrigin && url.pathname !== "/launch" && url.pathname !== "/callback") return { cookies: app, landing: url.pathname };
  }
  throw new Error("the launch did not reach the app within 8 redirects");
}

// --- HTTP load ------------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: string;
}

/**
 * GET through undici's keep-alive pool (an HTTP client about twice as light as node:http's, so the load generator
 * takes less of the cores it shares with the server); a request that takes longer than REQUEST_TIMEOUT_MS fails.
 */
async function get(agent: Agent, url: URL, cookie: string): Promise<Answer> {
  const response = await request(url, {
    dispatcher: agent,
    headers: { cookie, accept: "application/json" },
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

interface Outcome {
  ms: number[];
  errors: number;
  firstError?: string;
  byKind: Map<string, number[]>;
}

const newOutcome = (): Outcome => ({ ms: [], errors: 0, byKind: new Map() });

/** `users` loops, each sending its next request when the last answered, until `until` (performance.now()). */
async function runUsers(users: number, until: number, request: (user: number, i: number) => Promise<string>, outcome: Outcome = newOutcome()): Promise<Outcome> {
  await Promise.all(
    Array.from({ length: users }, async (_, user) => {
      for (let i = 0; performance.now() < until; i++) {
        const started = performance.now();
        try {
          const kind = await request(user, i);
          const ms = performance.now() - started;
          outcome.ms.push(ms);
          let list = outcome.byKind.get(kind);
          if (!list) outcome.byKind.set(kind, (list = []));
          list.push(ms);
        } catch (error) {
          outcome.errors += 1;
          outcome.firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  return outcome;
}

/** A JSON object answered with 200, else an error naming what came back (status and error code; no PHI). */
function expectJson(answer: Answer, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new Error(`${what} answered ${answer.status} with a body that is not JSON`);
  }
  if (answer.status !== 200 || typeof parsed !== "object" || parsed === null) {
    const body = parsed as { error?: unknown; message?: unknown } | null;
    const code = typeof body?.error === "string" ? ` (${body.error}${answer.status === 400 && typeof body.message === "string" ? `: ${body.message.slice(0, 200)}` : ""})` : "";
    throw new Error(`${what} answered ${answer.status}${code}`);
  }
  return parsed as Record<string, unknown>;
}

// --- processes: CPU and memory from /proc ---------------------------------------------------------------------

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, clock ticks. */
  ticks: number;
  rssBytes: number;
}

const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

async function readProcStats(): Promise<Map<number, ProcStat>> {
  const stats = new Map<number, ProcStat>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = await readFile(`/proc/${name}/stat`, "utf8");
      const close = text.lastIndexOf(")");
      const fields = text.slice(close + 2).split(" ");
      // After "pid (comm) ": state ppid ... utime (field 14) stime (15) ... rss (24, in pages).
      stats.set(Number(name), {
        pid: Number(name),
        ppid: Number(fields[1]),
        comm: text.slice(text.indexOf("(") + 1, close),
        ticks: Number(fields[11]) + Number(fields[12]),
        rssBytes: Number(fields[21]) * PAGE_BYTES,
      });
    } catch {
      // the process ended meanwhile
    }
  }
  return stats;
}

function descendants(stats: Map<number, ProcStat>, root: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const stat of stats.values()) {
    let list = children.get(stat.ppid);
    if (!list) children.set(stat.ppid, (list = []));
    list.push(stat.pid);
  }
  const out = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (out.has(pid) || !stats.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

type Group = "server" | "sandbox" | "postgres" | "generator";

/** CPU ticks and RSS of the processes of each group: the server's tree, the sandbox's, PostgreSQL, this process. */
function groupOf(stats: Map<number, ProcStat>, roots: { server: number; sandbox: number }): Map<number, Group> {
  const groups = new Map<number, Group>();
  for (const pid of descendants(stats, roots.server)) groups.set(pid, "server");
  for (const pid of descendants(stats, roots.sandbox)) groups.set(pid, "sandbox");
  for (const pid of descendants(stats, process.pid)) {
    if (groups.has(pid)) continue;
    if (stats.get(pid)?.comm === "postgres") groups.set(pid, "postgres");
  }
  groups.set(process.pid, "generator");
  return groups;
}

async function machineTicks(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + steal;
}

interface CpuSnapshot {
  byPid: Map<number, { group: Group; ticks: number }>;
  machine: number;
}

async function cpuSnapshot(roots: { server: number; sandbox: number }): Promise<CpuSnapshot> {
  const stats = await readProcStats();
  const groups = groupOf(stats, roots);
  const byPid = new Map<number, { group: Group; ticks: number }>();
  for (const [pid, group] of groups) byPid.set(pid, { group, ticks: stats.get(pid)?.ticks ?? 0 });
  return { byPid, machine: await machineTicks() };
}

/** CPU seconds per group between two snapshots (processes that started in between count from zero), and the rest. */
function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<Group | "other", number> {
  const seconds: Record<Group | "other", number> = { server: 0, sandbox: 0, postgres: 0, generator: 0, other: 0 };
  for (const [pid, now] of after.byPid) seconds[now.group] += (now.ticks - (before.byPid.get(pid)?.ticks ?? 0)) / CLOCK_TICKS_PER_SECOND;
  const ours = seconds.server + seconds.sandbox + seconds.postgres + seconds.generator;
  seconds.other = Math.max(0, (after.machine - before.machine) / CLOCK_TICKS_PER_SECOND - ours);
  return seconds;
}

async function treeRss(root: number): Promise<number> {
  const stats = await readProcStats();
  let bytes = 0;
  for (const pid of descendants(stats, root)) bytes += stats.get(pid)?.rssBytes ?? 0;
  return bytes;
}

/** A DevTools protocol session with a process started with --inspect=127.0.0.1:<port> (loopback only). */
async function inspectorSession(inspectPort: number): Promise<{ call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>; close(): void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("the server's inspector lists no target");
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error("could not connect to the server's inspector")), { once: true });
  });
  let nextId = 0;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (event: MessageEvent): void => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message?: string } };
        if (message.id !== id) return;
        socket.removeEventListener("message", onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message ?? "failed"}`));
        else resolve(message.result ?? {});
      };
      socket.addEventListener("message", onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => socket.close() };
}

/**
 * The V8 heap in use after a full garbage collection, through the server's inspector (HeapProfiler.collectGarbage,
 * then Runtime.getHeapUsage). The heap, not the RSS, says whether memory is retained: V8 keeps freed pages for a while.
 */
export async function heapAfterGc(inspectPort: number): Promise<number> {
  const session = await inspectorSession(inspectPort);
  try {
    // Twice: objects with finalizers (and weak references) are freed by the second collection.
    await session.call("HeapProfiler.collectGarbage");
    await session.call("HeapProfiler.collectGarbage");
    const usage = await session.call("Runtime.getHeapUsage");
    return Number(usage.usedSize);
  } finally {
    session.close();
  }
}

/**
 * LOAD_CPU_PROFILE=<file.cpuprofile>: the server's CPU profile during the timed load (V8's sampling profiler through
 * the inspector, for Chrome DevTools or speedscope). Profiling slows the server a little: figures from such a run
 * are for finding where the time goes, not for the table. Returns the function that stops it and writes the file.
 */
async function startCpuProfile(inspectPort: number, file: string): Promise<() => Promise<void>> {
  const session = await inspectorSession(inspectPort);
  await session.call("Profiler.enable");
  await session.call("Profiler.setSamplingInterval", { interval: 500 });
  await session.call("Profiler.start");
  return async () => {
    try {
      const { profile } = await session.call("Profiler.stop");
      await writeFile(file, JSON.stringify(profile));
      progress(`load: the server's CPU profile is in ${file}`);
    } finally {
      session.close();
    }
  };
}

// --- the app server -------------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port"))));
    });
  });
}

/** What the server's log lines (JSON, one per line on stdout) tell about the timed load. */
interface ServerLog {
  recording: boolean;
  views: Array<{ fetchMs: number; evaluateMs: number; requests: number }>;
  errorLines: number;
  firstErrorEvent?: string;
  tail: string[];
}

function readServerLog(stream: NodeJS.ReadableStream, log: ServerLog): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
    log.tail.push(line.slice(0, 300));
    if (log.tail.length > 20) log.tail.shift();
    if (!log.recording || !line.startsWith("{")) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (entry.event === "patient-view") {
      log.views.push({ fetchMs: Number(entry.ms), evaluateMs: Number(entry.evaluateMs), requests: Number(entry.requests) });
    }
    if (typeof entry.level === "number" && entry.level >= 50) {
      log.errorLines += 1;
      log.firstErrorEvent ??= `${String(entry.component ?? "")} ${String(entry.event ?? entry.msg ?? "")}`.trim();
    }
  });
}

const mb = (bytes: number): number => bytes / 1024 / 1024;
const ms0 = (value: number): string => `${value.toFixed(0)} ms`;

function latencyRow(figure: string, outcome: Outcome, seconds: number, target: string, ok: boolean, note: string): BenchRow {
  return {
    figure,
    value: `p50 ${ms0(quantile(outcome.ms, 0.5))} / p95 ${ms0(quantile(outcome.ms, 0.95))}, ${fmt(outcome.ms.length)} requests (${(outcome.ms.length / seconds).toFixed(1)}/s), ${outcome.errors} errors`,
    target,
    ok,
    note: outcome.firstError ? `${note}; first error: ${outcome.firstError}` : note,
  };
}

export async function benchLoad(): Promise<BenchRow[]> {
  const seconds = loadSeconds();
  const { db, cohort } = await ensureEvaluated();

  const { ensureProductionBuild, nextDistDir } = await import("../app/app-server");
  progress(`load: the production build (${nextDistDir()})`);
  await ensureProductionBuild((line) => progress(`load: ${line}`));

  const port = await freePort();
  const inspectPort = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  progress(`load: starting a sandbox EHR (${SANDBOX_PATIENTS} patients of the same cohort) and the production server`);
  const sandbox = await startSandboxProcess(["--patients", String(SANDBOX_PATIENTS), "--seed", "1", "--as-of", cohort.asOf, "--app-launch-url", `${appUrl}/launch`]);
  onBenchExit("load sandbox", () => sandbox.stop());
  const dataDir = await makeTempDataDir("ejm-bench-load-");
  onBenchExit("load data folder", () => rm(dataDir, { recursive: true, force: true }));
  const { startAppServer } = await import("../app/app-server");
  const serverLog: ServerLog = { recording: false, views: [], errorLines: 0, tail: [] };
  const app = await startAppServer({
    port,
    stdio: "pipe",
    worker: false,
    log: () => {},
    env: {
      DATABASE_URL: db.url,
      WORKER_IN_APP: "0",
      NODE_ENV: "production",
      EJM_DATA_DIR: dataDir,
      APP_BASE_URL: appUrl,
      SMART_ALLOWED_ISSUERS: sandbox.fhirBase,
      SESSION_SECRET: randomBytes(32).toString("base64url"),
      SMART_CLIENT_SECRET: SANDBOX_APP_CLIENT_SECRET,
      CLINIC_AS_OF: cohort.asOf,
      LOG_LEVEL: "info",
      SYNC_CRON: "off",
      EVALUATE_CRON: "off",
      // Loopback only, for the heap figures (heapAfterGc); nothing is attached during the timed load.
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --inspect=127.0.0.1:${inspectPort}`.trim(),
    },
  });
  onBenchExit("load app server", () => app.stop());
  if (app.child.stdout) readServerLog(app.child.stdout, serverLog);
  if (app.child.stderr) readServerLog(app.child.stderr, serverLog);
  const serverPid = app.child.pid ?? 0;

  // Sign-in: one launch per user, a few at a time.
  progress(`load: ${CLINIC_LEADS} standalone launches as the clinic lead and ${DERMATOLOGISTS} EHR launches as a dermatologist, over HTTP`);
  const patients = Array.from({ length: DERMATOLOGISTS }, (_, i) => `pt-${String(i + 1).padStart(6, "0")}`);
  const launches: Array<() => Promise<{ cookies: CookieJar; landing: string }>> = [
    ...Array.from({ length: CLINIC_LEADS }, () => () => launchOverHttp(sandbox.launcherUrl, appUrl, { practitioner: "pr-lead-1", mode: "standalone" })),
    ...patients.map((patient) => () => launchOverHttp(sandbox.launcherUrl, appUrl, { practitioner: "pr-derm-1", patient, mode: "ehr" })),
  ];
  const jars: CookieJar[] = new Array<CookieJar>(launches.length);
  const launchStarted = performance.now();
  for (let next = 0; next < launches.length; next += LAUNCH_PARALLELISM) {
    await Promise.all(
      launches.slice(next, next + LAUNCH_PARALLELISM).map(async (launch, offset) => {
        const { cookies, landing } = await launch();
        const index = next + offset;
        const expected = index < CLINIC_LEADS ? "/panel" : `/patients/${patients[index - CLINIC_LEADS]}`;
        if (landing !== expected) throw new Error(`launch ${index + 1} landed on ${landing}, not ${expected}`);
        jars[index] = cookies;
      }),
    );
  }
  const launchSeconds = (performance.now() - launchStarted) / 1000;
  const leadCookies = jars.slice(0, CLINIC_LEADS).map((jar) => jar.header("/api/panel/summary"));
  const viewCookies = patients.map((patient, i) => jars[CLINIC_LEADS + i]!.header(`/api/patients/${patient}`));

  // The request mix: the same every run.
  const { prescribers } = await filterOptions(db.pool, { source: null });
  const random = seededRandom(1100);
  // The generator can combine two date narrowings into from > to, which the route rightly refuses: left out here.
  const worklists = worklistQueries(4000, random, { today: cohort.asOf, source: BENCH_SOURCE }, prescribers).filter((query) => parsePanelFilters(new URLSearchParams(query)).ok);
  const sources = sourceQueries(500, random, BENCH_SOURCE);
  const agent = new Agent({ connections: 256 });
  onBenchExit("load agent", () => agent.close());
  const base = new URL(appUrl);
  const panelRequest = async (user: number, i: number): Promise<string> => {
    const r = (((user * 7919 + i * 104729) % 1000) + 1000) % 1000;
    let kind: string;
    let target: string;
    if (r < 500) {
      kind = "worklist";
      target = `/api/panel/worklist?${worklists[(user * 80 + i) % worklists.length]!}`;
    } else {
      kind = r < 800 ? "summary" : "charts";
      const query = sources[(user * 10 + i) % sources.length]!;
      target = `/api/panel/${kind}${query ? `?${query}` : ""}`;
    }
    const body = expectJson(await get(agent, new URL(target, base), leadCookies[user]!), `${kind}`);
    if (kind === "worklist" && !Array.isArray(body.rows)) throw new Error("worklist answered without rows");
    return kind;
  };
  const viewRequest = async (user: number): Promise<string> => {
    const patient = patients[user]!;
    const body = expectJson(await get(agent, new URL(`/api/patients/${patient}`, base), viewCookies[user]!), "patient view");
    if ((body.patient as { id?: unknown } | undefined)?.id !== patient) throw new Error("patient view without its patient");
    if ((body.fetch as { partial?: unknown } | undefined)?.partial === true) throw new Error("patient view with a partial FHIR fetch");
    return "view";
  };

  // Warm-up, untimed: route modules loaded, connections and plans, the panel's cache, compiled code.
  progress("load: warming up");
  const warm = await Promise.all([runUsers(CLINIC_LEADS, performance.now() + WARMUP_MS, panelRequest), runUsers(DERMATOLOGISTS, performance.now() + WARMUP_MS, viewRequest)]);
  for (const outcome of warm) if (outcome.ms.length === 0 && outcome.errors > 0) throw new Error(`warm-up: nothing answered (${outcome.firstError ?? "no error"}); server log: ${serverLog.tail.slice(-3).join(" | ")}`);

  // Evaluations committed during the load, as a sync commits them: the next summary and charts recompute.
  const ids = (await db.pool.query<{ patient_id: string }>("SELECT patient_id FROM evaluations WHERE source = $1 ORDER BY patient_id LIMIT 50", [BENCH_SOURCE])).rows;
  let writes = 0;
  const commitEvaluation = async (): Promise<void> => {
    const row = ids[writes++ % ids.length];
    if (!row) return;
    await db.pool.query(
      "UPDATE evaluations SET evaluated_at = (SELECT max(evaluated_at) + interval '1 millisecond' FROM evaluations) WHERE source = $1 AND patient_id = $2",
      [BENCH_SOURCE, row.patient_id],
    );
  };

  const transactions = async (): Promise<number> =>
    Number((await db.pool.query<{ n: string }>("SELECT sum(xact_commit + xact_rollback)::text AS n FROM pg_stat_database")).rows[0]?.n ?? 0);
  const heapBefore = await heapAfterGc(inspectPort);
  progress(`load: ${CLINIC_LEADS} clinic leads on the panel and ${DERMATOLOGISTS} dermatologists on patient views for ${seconds} s`);
  const roots = { server: serverPid, sandbox: sandbox.pid };
  const rssSamples: number[] = [];
  const sandboxRss: number[] = [];
  const loadBefore = loadavg()[0]!;
  const cpuBefore = await cpuSnapshot(roots);
  const transactionsBefore = await transactions();
  serverLog.recording = true;
  const stopProfile = process.env.LOAD_CPU_PROFILE ? await startCpuProfile(inspectPort, process.env.LOAD_CPU_PROFILE) : null;
  const sampler = setInterval(() => {
    void treeRss(serverPid).then((bytes) => rssSamples.push(bytes));
    void treeRss(sandbox.pid).then((bytes) => sandboxRss.push(bytes));
  }, 1000);
  const writer = setInterval(() => void commitEvaluation().catch(() => undefined), EVALUATION_WRITE_EVERY_MS);
  const until = performance.now() + seconds * 1000;
  let panel: Outcome;
  let views: Outcome;
  try {
    [panel, views] = await Promise.all([runUsers(CLINIC_LEADS, until, panelRequest), runUsers(DERMATOLOGISTS, until, viewRequest)]);
  } finally {
    clearInterval(sampler);
    clearInterval(writer);
    serverLog.recording = false;
    await stopProfile?.();
  }
  const cpu = cpuBetween(cpuBefore, await cpuSnapshot(roots));
  // PostgreSQL publishes a backend's counts within a second or so of its last transaction.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const transactionsDuring = (await transactions()) - transactionsBefore;
  const loadAfter = loadavg()[0]!;

  // The server's heap once the last requests are answered (before anything else runs), then the same patient views
  // one at a time with nothing else running: the service time without queueing.
  const heapAfter = await heapAfterGc(inspectPort);
  const alone = await runUsers(1, performance.now() + 3000, (_, i) => viewRequest(i % DERMATOLOGISTS));

  const memory = growthOf(rssSamples);
  const heapFactor = heapAfter / heapBefore;
  const fetchMs = serverLog.views.map((v) => v.fetchMs);
  const engineMs = serverLog.views.map((v) => v.evaluateMs);
  const viewMean = mean(views.ms);
  const coreSeconds = cpu.server + cpu.sandbox + cpu.postgres + cpu.generator + cpu.other;
  const requests = views.ms.length + panel.ms.length;
  const perRequest = (groupSeconds: number): string => (requests > 0 ? ((groupSeconds * 1000) / requests).toFixed(1) : "-");
  const kinds = ["worklist", "summary", "charts"].map((kind) => {
    const list = panel.byKind.get(kind) ?? [];
    return `${kind} p95 ${ms0(quantile(list, 0.95))} (${fmt(list.length)})`;
  });
  const setting = `production server (next start, ${nextDistDir()}) over HTTP with real sessions: ${CLINIC_LEADS} standalone launches as the clinic lead, ${DERMATOLOGISTS} EHR launches (one per user, ${launchSeconds.toFixed(1)} s for all); ${fmt(cohort.patients)}-patient bench cohort; each user's next request as soon as the last answered; 1-min load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`;

  return [
    latencyRow(
      `load: ${CLINIC_LEADS} concurrent clinic leads on the panel API (summary, worklist, charts) for ${seconds} s`,
      panel,
      seconds,
      `p95 < ${PANEL_P95_TARGET_MS} ms, 0 errors`,
      panel.errors === 0 && panel.ms.length > 0 && quantile(panel.ms, 0.95) < PANEL_P95_TARGET_MS,
      `${setting}; 50% worklist (filters, sorts, pages), 30% summary, 20% charts (${kinds.join(", ")}); an evaluation committed every ${EVALUATION_WRITE_EVERY_MS / 1000} s, so summary and charts recompute`,
    ),
    latencyRow(
      `load: ${DERMATOLOGISTS} concurrent dermatologists on patient views for ${seconds} s`,
      views,
      seconds,
      "0 errors",
      views.errors === 0 && views.ms.length > 0,
      `GET /api/patients/[id] (session, token, ${serverLog.views[0]?.requests ?? "-"} FHIR requests to a sandbox EHR holding ${SANDBOX_PATIENTS} patients, engine, audit row) while the panel load runs; ` +
        `mean ${ms0(viewMean)} of which FHIR fetch ${ms0(mean(fetchMs))} (p95 ${ms0(quantile(fetchMs, 0.95))}) and engine ${ms0(mean(engineMs))}, the rest session, audit, JSON and waiting for the server's event loop; ` +
        `one user alone after the load: p50 ${ms0(quantile(alone.ms, 0.5))}`,
    ),
    {
      figure: `load: memory of the server during the ${seconds} s load`,
      value: `heap after full GC ${mb(heapBefore).toFixed(0)} -> ${mb(heapAfter).toFixed(0)} MB (x${heapFactor.toFixed(2)}); RSS ${mb(mean(rssSamples.slice(0, Math.floor(rssSamples.length / 3)))).toFixed(0)} MB first third -> ${mb(mean(rssSamples.slice(-Math.floor(rssSamples.length / 3)))).toFixed(0)} MB last third (x${memory.factor.toFixed(2)}), peak ${mb(Math.max(...rssSamples)).toFixed(0)} MB`,
      target: `steady: heap after GC x${STEADY_HEAP_FACTOR} at most`,
      ok: heapFactor <= STEADY_HEAP_FACTOR,
      note: `the next start server: V8 heap in use after two full collections (inspector) just before and just after the timed load; RSS of its whole process tree from /proc each second (${rssSamples.length} samples, ${(mb(memory.slopePerSample) * 60).toFixed(0)} MB/min fitted); the sandbox EHR ${mb(Math.max(0, ...sandboxRss)).toFixed(0)} MB RSS peak; ${serverLog.errorLines} error-level server log lines${serverLog.firstErrorEvent ? ` (first: ${serverLog.firstErrorEvent})` : ""}`,
    },
    {
      figure: `load: CPU during the ${seconds} s load (${availableParallelism()} cores)`,
      value: `server ${cpu.server.toFixed(0)} s, sandbox EHR ${cpu.sandbox.toFixed(0)} s, PostgreSQL ${cpu.postgres.toFixed(0)} s, load generator ${cpu.generator.toFixed(0)} s, other work on the machine ${cpu.other.toFixed(0)} s (of ${coreSeconds.toFixed(0)} core-s used)`,
      target: "-",
      ok: null,
      note: `per request (panel and views together): server ${perRequest(cpu.server)} ms, PostgreSQL ${perRequest(cpu.postgres)} ms and ${(transactionsDuring / Math.max(1, requests)).toFixed(1)} transactions (pg_stat_database); sandbox per patient view ${views.ms.length > 0 ? ((cpu.sandbox * 1000) / views.ms.length).toFixed(1) : "-"} ms; /proc/<pid>/stat of each process tree, ${CLOCK_TICKS_PER_SECOND} ticks/s`,
    },
  ];
}
