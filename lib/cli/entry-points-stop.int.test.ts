// `npm start`, `npm run demo` and `npm run worker` as a process manager runs them (npm -> sh -c -> tsx -> node):
// a signal to any process of that tree stops all of it, the app's PostgreSQL and Next server included.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../app/app-server";
import { descendants, isRunning, readProcess, type ProcessInfo } from "../app/process-tree";
import { freePort } from "../db/embedded";
import { startTestDatabase, type TestDatabase } from "../db/testing";

const hasBuild = existsSync(path.join(PROJECT_ROOT, ".next", "BUILD_ID"));
const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
/** The npm script replaces its shell with tsx (`exec tsx ...`), so npm's signals reach tsx directly. */
const scriptExecs = (name: string): boolean => /^\s*exec\s/.test(scripts[name] ?? "");
if (!scriptExecs("worker")) console.warn("entry-points-stop: package.json's scripts do not `exec tsx`, so SIGINT sent to npm itself is not tested (npm's sh holds it back).");
if (!hasBuild) console.warn("entry-points-stop: no production build (.next/BUILD_ID), so `npm start` and `npm run demo` are not tested here; run `npm run build` first.");

interface Entry {
  npm: ChildProcess;
  output: string[];
  /** Resolves with the first output line matching, or rejects when the tree exits or the time is up. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
}

const started: ChildProcess[] = [];
const snapshots: ProcessInfo[][] = [];
const folders: string[] = [];

/** The environment of a clean shell: nothing of vitest's, no database unless given. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" };
  for (const name of Object.keys(env)) {
    const inherited = name.startsWith("VITEST") || name === "NODE_ENV" || name === "DATABASE_URL" || name === "TEST_DATABASE_URL" || (name.startsWith("npm_") && !name.startsWith("npm_config_"));
    if (inherited) Reflect.deleteProperty(env, name);
  }
  return Object.assign(env, extra);
}

function spawnEntry(args: string[], env: Record<string, string>): Entry {
  const npm = spawn("npm", args, { cwd: PROJECT_ROOT, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  started.push(npm);
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    for (const check of waiters) check();
  };
  npm.stdout?.on("data", onData);
  npm.stderr?.on("data", onData);
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        npm.off("exit", onExit);
        fn();
      };
      const check = () => {
        const line = output.find((l) => pattern.test(l));
        if (line) done(() => resolve(line));
      };
      const onExit = () => done(() => reject(new Error(`npm ${args.join(" ")} exited before printing ${pattern}:\n${output.slice(-30).join("\n")}`)));
      const timer = setTimeout(() => done(() => reject(new Error(`npm ${args.join(" ")} did not print ${pattern} within ${timeoutMs / 1000} s:\n${output.slice(-30).join("\n")}`))), timeoutMs);
      waiters.add(check);
      npm.once("exit", onExit);
      check();
    });
  return { npm, output, waitFor };
}

/** npm and everything below it now, with the postmaster of a data folder if one runs. */
function tree(entry: Entry, clusterDir?: string): ProcessInfo[] {
  const root = readProcess(entry.npm.pid as number);
  const all = [...(root ? [root] : []), ...descendants(entry.npm.pid as number)];
  const pidFile = clusterDir ? path.join(clusterDir, "postmaster.pid") : "";
  if (pidFile && existsSync(pidFile)) {
    const postmaster = readProcess(Number(readFileSync(pidFile, "utf8").split("\n")[0]));
    if (postmaster && !all.some((p) => p.pid === postmaster.pid)) all.push(postmaster);
  }
  snapshots.push(all);
  return all;
}

type Target = "npm" | "sh" | "tsx" | "node";

/** The process of the tree a signal goes to: npm itself, its `sh -c`, tsx's CLI, or the node running the entry point. */
function pick(processes: ProcessInfo[], target: Target, npmPid: number): ProcessInfo {
  const found = processes.find((p) => {
    const name = path.basename((p.argv[0] ?? "").split(" ")[0] ?? "");
    if (target === "npm") return p.pid === npmPid;
    if (target === "sh") return (name === "sh" || name === "dash" || name === "bash") && p.argv[1] === "-c";
    if (target === "tsx") return /^node/.test(name) && /(\.bin\/tsx|tsx\/dist\/cli\.mjs)$/.test(p.argv[1] ?? "");
    return p.argv.some((arg) => arg.includes("tsx/dist/loader.mjs")) && p.argv.some((arg) => /lib\/cli\/(start|demo|worker)\.ts$/.test(arg));
  });
  if (!found) throw new Error(`no ${target} process in the tree: ${processes.map((p) => p.argv.join(" ")).join(" | ")}`);
  return found;
}

async function allGone(processes: ProcessInfo[], timeoutMs: number): Promise<ProcessInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processes.filter((p) => isRunning(p));
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function describeLeft(left: ProcessInfo[]): string[] {
  return left.map((p) => `${p.pid} ${p.argv.join(" ").slice(0, 120)}`);
}

// Whatever a failed test left running: only processes of trees this file started, by PID.
afterEach(() => {
  for (const snapshot of snapshots.splice(0)) {
    for (const p of snapshot) if (isRunning(p)) process.kill(p.pid, "SIGKILL");
  }
  for (const npm of started.splice(0)) if (npm.exitCode === null && npm.signalCode === null) npm.kill("SIGKILL");
});

afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

describe("npm run worker", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startTestDatabase();
  });
  afterAll(async () => {
    await db?.stop();
  });

  it.for<[Target, NodeJS.Signals]>([
    ["npm", "SIGTERM"],
    ["npm", "SIGKILL"],
    ["sh", "SIGTERM"],
    ["tsx", "SIGTERM"],
    ["tsx", "SIGINT"],
    ["node", "SIGTERM"],
    ["node", "SIGINT"],
  ])("stops its whole tree when %s gets %s", async ([target, signal], ctx) => {
    if (target === "sh" && scriptExecs("worker")) ctx.skip("the script execs tsx: npm runs no sh to signal");
    const entry = spawnEntry(["run", "worker"], { DATABASE_URL: db.url, SYNC_CRON: "off", EVALUATE_CRON: "off" });
    await entry.waitFor(/\[worker \d+\] started: /, 120_000);
    const processes = tree(entry);
    expect(processes.length).toBeGreaterThanOrEqual(3);
    process.kill(pick(processes, target, entry.npm.pid as number).pid, signal);
    const left = await allGone(processes, 45_000);
    expect(describeLeft(left)).toEqual([]);
  });

  // npm passes SIGINT to the `sh -c` it runs scripts in, which waits for tsx before acting on it: only a script
  // that execs tsx (no sh left in between) lets SIGINT to npm through.
  it.skipIf(!scriptExecs("worker"))("stops its whole tree when npm gets SIGINT (the script execs tsx)", async () => {
    const entry = spawnEntry(["run", "worker"], { DATABASE_URL: db.url, SYNC_CRON: "off", EVALUATE_CRON: "off" });
    await entry.waitFor(/\[worker \d+\] started: /, 120_000);
    const processes = tree(entry);
    process.kill(entry.npm.pid as number, "SIGINT");
    const left = await allGone(processes, 45_000);
    expect(describeLeft(left)).toEqual([]);
  });
});

// In CI (npm test builds before the integration tests) a missing build fails these tests instead of skipping them.
describe.skipIf(!hasBuild && !process.env.CI)("npm start and npm run demo (production build)", () => {
  async function dataFolder(): Promise<string> {
    const folder = await mkdtemp(path.join(os.tmpdir(), "ejm-entry-test-"));
    folders.push(folder);
    return folder;
  }

  async function healthy(url: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ok = await fetch(`${url}/api/health`).then((res) => res.ok, () => false);
      if (ok) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return false;
  }

  const appEnv = async (folder: string) => ({
    PORT: String(await freePort()),
    HOST: "127.0.0.1",
    EJM_DATA_DIR: folder,
    EJM_REQUIRE_BUILD: "1",
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    // Production refuses to start without a SMART client credential (lib/smart/config.ts).
    SMART_CLIENT_SECRET: randomBytes(24).toString("base64url"),
    SYNC_CRON: "off",
    EVALUATE_CRON: "off",
  });

  it("npm start: the app recovers from its PostgreSQL being killed, and SIGTERM to npm stops Next, PostgreSQL and the rest", async () => {
    const folder = await dataFolder();
    const env = await appEnv(folder);
    const entry = spawnEntry(["start"], env);
    await entry.waitFor(/Eczema JAK Monitor is running at/, 180_000);
    const url = `http://127.0.0.1:${env.PORT}`;
    const clusterDir = path.join(folder, "postgres");

    const before = tree(entry, clusterDir);
    const postmaster = Number(readFileSync(path.join(clusterDir, "postmaster.pid"), "utf8").split("\n")[0]);
    expect(before.some((p) => p.pid === postmaster)).toBe(true);
    expect(before.some((p) => p.argv.some((arg) => arg.includes("next")))).toBe(true);
    process.kill(postmaster, "SIGKILL");
    expect(await healthy(url, 90_000)).toBe(true);
    const restarted = Number(readFileSync(path.join(clusterDir, "postmaster.pid"), "utf8").split("\n")[0]);
    expect(restarted).not.toBe(postmaster);

    const processes = tree(entry, clusterDir);
    expect(processes.some((p) => p.pid === restarted)).toBe(true);
    process.kill(entry.npm.pid as number, "SIGTERM");
    const left = await allGone(processes, 60_000);
    expect(describeLeft(left)).toEqual([]);
    expect(existsSync(path.join(clusterDir, "postmaster.pid"))).toBe(false);
  });

  it("npm start: SIGINT to the node running it (Ctrl+C) stops the whole tree", async () => {
    const folder = await dataFolder();
    const entry = spawnEntry(["start"], await appEnv(folder));
    await entry.waitFor(/Eczema JAK Monitor is running at/, 180_000);
    const processes = tree(entry, path.join(folder, "postgres"));
    process.kill(pick(processes, "node", entry.npm.pid as number).pid, "SIGINT");
    const left = await allGone(processes, 60_000);
    expect(describeLeft(left)).toEqual([]);
  });

  it("npm run demo: SIGTERM to npm stops the app, its PostgreSQL and the sandbox", async () => {
    const folder = await dataFolder();
    const env = { ...(await appEnv(folder)), SANDBOX_PORT: String(await freePort()), SANDBOX_PATIENTS: "4", SANDBOX_SEED: "7" };
    const entry = spawnEntry(["run", "demo"], env);
    await entry.waitFor(/Eczema JAK Monitor demo is running/, 300_000);
    const processes = tree(entry, path.join(folder, "postgres"));
    process.kill(entry.npm.pid as number, "SIGTERM");
    const left = await allGone(processes, 60_000);
    expect(describeLeft(left)).toEqual([]);
    const sandboxUp = await fetch(`http://127.0.0.1:${env.SANDBOX_PORT}/`).then(() => true, () => false);
    expect(sandboxUp).toBe(false);
  });
});
