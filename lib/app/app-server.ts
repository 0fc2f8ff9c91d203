import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { prepareDatabase, type ReadyDatabase } from "../db/database";
import { withParentDeathSignal } from "../db/embedded";
import type { WorkerHandle } from "../jobs/worker";

export const PROJECT_ROOT = path.resolve(import.meta.dirname, "../..");

export interface AppServer {
  url: string;
  database: ReadyDatabase;
  child: ChildProcess;
  /** The job worker running in this process (null with WORKER_IN_APP=0: a separate `npm run worker` does the jobs). */
  worker: WorkerHandle | null;
  /** Stops the worker (running jobs go back to the queue), the Next server and then the embedded database (if any). */
  stop(): Promise<void>;
  /** Resolves with the server's exit code when it exits on its own. */
  exited: Promise<number>;
}

export interface AppServerOptions {
  port: number;
  host?: string;
  dev?: boolean;
  /** Extra environment for the app (SMART client settings and the like). */
  env?: Record<string, string | undefined>;
  /** Where the server's own output goes; inherited from this process by default. */
  stdio?: "inherit" | "pipe" | "ignore";
  log?: (line: string) => void;
  /** Run the job worker in this process; default: unless WORKER_IN_APP=0 (in the environment or `env`). */
  worker?: boolean;
}

/** The Next build folder next.config.mjs uses: EJM_NEXT_DIST_DIR when it names a ".next-<name>" folder. */
export function nextDistDir(env: Record<string, string | undefined> = process.env): string {
  const dir = env.EJM_NEXT_DIST_DIR ?? "";
  return /^\.next(-[a-z0-9-]+)?$/.test(dir) ? dir : ".next";
}

const nextBin = (): string => createRequire(import.meta.url).resolve("next/dist/bin/next");

/**
 * Runs `next build` with this process's Node (22, from node_modules) when there is no production build yet; with
 * EJM_REQUIRE_BUILD=1 (tests) a missing build is an error instead.
 */
export async function ensureProductionBuild(log: (line: string) => void = console.log, env: Record<string, string | undefined> = process.env): Promise<void> {
  if (existsSync(path.join(PROJECT_ROOT, nextDistDir(env), "BUILD_ID"))) return;
  if (env.EJM_REQUIRE_BUILD === "1") throw new Error("No production build (.next/BUILD_ID) and EJM_REQUIRE_BUILD=1: run `npm run build` first.");
  log("No production build yet: running `next build` (about a minute, once).");
  await runToCompletion(process.execPath, [nextBin(), "build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" });
}

function runToCompletion(command: string, args: string[], env: Record<string, string | undefined>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: "inherit", env: { ...process.env, ...env } });
    // A build must not outlive an entry point that is told to stop while it runs.
    const stopChild = () => child.kill("SIGTERM");
    process.on("exit", stopChild);
    child.on("error", reject);
    child.on("exit", (code) => {
      process.off("exit", stopChild);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(args[0] ?? command)} exited with ${code}`));
    });
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

async function waitForHealth(url: string, exited: Promise<number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stopped = false;
  void exited.then(() => (stopped = true));
  while (Date.now() < deadline) {
    if (stopped) throw new Error("The app server exited before it became healthy.");
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`The app did not report healthy at ${url}/api/health within ${timeoutMs / 1000} s.`);
}

/**
 * The job worker inside this process, on the app's database: mirrors the configured sources (SYNC_SOURCES) into
 * the sources table, then runs jobs and schedules. Imported only now, after the caller had the chance to start
 * the sandbox: these modules load Prisma's generated client (see README "Architecture": import order).
 */
export async function startInProcessWorker(databaseUrl: string, env: Record<string, string | undefined>, log: (line: string) => void): Promise<WorkerHandle> {
  const [{ loadSourceConfigs, syncSourcesTable }, { createPool }, { startWorker }] = await Promise.all([
    import("../sync/sources"),
    import("../db/pool"),
    import("../jobs/queue"),
  ]);
  const sources = loadSourceConfigs(env);
  const pool = createPool(databaseUrl, 2);
  try {
    await syncSourcesTable(pool, sources);
  } finally {
    await pool.end();
  }
  // Ctrl+C should not wait long: a job still running after 5 s goes back to the queue and resumes next start.
  return startWorker({ databaseUrl, env, sources, stopGraceMs: 5000, log: (line) => log(`[worker] ${line}`) });
}

/**
 * NODE_OPTIONS for the server (and the worker Next forks): a young generation of 32 MB unless one is set. Requests
 * allocate much that dies young: with V8's default (16 MB) garbage collection took 9% of the server's CPU under
 * `npm run bench -- load`.
 */
export function serverNodeOptions(nodeOptions: string | undefined): string {
  const given = (nodeOptions ?? "").trim();
  return /--max-semi-space-size\b/.test(given) ? given : `${given} --max-semi-space-size=32`.trim();
}

/**
 * Prepares the database (embedded unless DATABASE_URL is set), starts the job worker in this process (unless
 * WORKER_IN_APP=0), then starts Next on the database and waits until healthy.
 */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const log = options.log ?? console.log;
  const baseEnv = { ...process.env, ...options.env };
  const database = await prepareDatabase(baseEnv, log);
  if (database.appliedNow.length) log(`Applied migrations: ${database.appliedNow.join(", ")}`);
  let worker: WorkerHandle | null = null;
  if (options.worker ?? baseEnv.WORKER_IN_APP?.trim() !== "0") {
    try {
      worker = await startInProcessWorker(database.url, { ...baseEnv, DATABASE_URL: database.url }, log);
    } catch (error) {
      await database.stop();
      throw error;
    }
  }
  const host = options.host ?? "127.0.0.1";
  // Its own process group, so stopping it also stops the next-server worker it forks; SIGTERM when this process dies.
  const [command, args] = withParentDeathSignal(
    process.execPath,
    [nextBin(), options.dev ? "dev" : "start", "--port", String(options.port), "--hostname", host],
    "SIGTERM",
  );
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: options.stdio ?? "inherit",
    env: { ...baseEnv, NODE_OPTIONS: serverNodeOptions(baseEnv.NODE_OPTIONS), DATABASE_URL: database.url, EJM_DATABASE_MODE: database.mode, NEXT_TELEMETRY_DISABLED: "1" },
  });
  // If this process exits without stop() (a second Ctrl+C, a crash), the server still goes.
  const stopGroupOnExit = () => signalGroup(child, "SIGTERM");
  process.on("exit", stopGroupOnExit);
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (code, signal) => {
      process.off("exit", stopGroupOnExit);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
  const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${options.port}`;
  const stopNext = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(child, "SIGTERM");
      const killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), 5000);
      await exited;
      clearTimeout(killTimer);
    }
    // The group may outlive its leader for a moment; make sure no worker keeps the port.
    signalGroup(child, "SIGKILL");
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Both need the database, which goes last.
      await Promise.all([
        worker?.stop().catch((error: unknown) => log(`The job worker did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`)),
        stopNext(),
      ]);
      await database.stop();
    })());
  try {
    await waitForHealth(url, exited, options.dev ? 120_000 : 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, database, child, worker, stop, exited };
}

