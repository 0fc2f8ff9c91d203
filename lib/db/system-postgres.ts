/**
 * The operating system's PostgreSQL (Debian's `postgresql` / `postgresql-client` packages, under
 * /usr/lib/postgresql/<major>/bin): its pg_dump and pg_restore for backups, and throwaway clusters of its server for
 * running the database tests against another PostgreSQL than the embedded one.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { freePort } from "./embedded";

const DEBIAN_ROOT = "/usr/lib/postgresql";
const USER = "postgres";

export interface DumpTools {
  pgDump: string;
  pgRestore: string;
  /** Major version of pg_dump: it dumps servers of this major or older. */
  major: number;
}

export interface SystemPostgres {
  /** URL of the cluster's `postgres` database, as the superuser `postgres`. */
  url: string;
  port: number;
  major: number;
  stop(): Promise<void>;
}

/** The major version a PostgreSQL program reports (`pg_dump (PostgreSQL) 15.18 ...` gives 15); null if it does not run. */
export function programMajor(program: string): number | null {
  try {
    const out = execFileSync(program, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(out);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Debian's per-major binary folders, newest first. */
function debianBinDirs(): string[] {
  if (!existsSync(DEBIAN_ROOT)) return [];
  return readdirSync(DEBIAN_ROOT)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
    .map((name) => path.join(DEBIAN_ROOT, name, "bin"));
}

/**
 * The newest pg_dump + pg_restore pair found: PG_BIN_DIR when set, Debian's per-major folders, then PATH. Null when
 * there is none (install `postgresql-client`, or a client of the server's major version or newer).
 */
export function findDumpTools(env: Record<string, string | undefined> = process.env): DumpTools | null {
  const dirs = [env.PG_BIN_DIR, ...debianBinDirs()].filter((d): d is string => Boolean(d));
  const candidates: Array<{ pgDump: string; pgRestore: string }> = dirs.map((dir) => ({ pgDump: path.join(dir, "pg_dump"), pgRestore: path.join(dir, "pg_restore") }));
  candidates.push({ pgDump: "pg_dump", pgRestore: "pg_restore" });
  let best: DumpTools | null = null;
  for (const candidate of candidates) {
    if (candidate.pgDump.includes("/") && !(existsSync(candidate.pgDump) && existsSync(candidate.pgRestore))) continue;
    const major = programMajor(candidate.pgDump);
    if (major !== null && programMajor(candidate.pgRestore) === major && (!best || major > best.major)) best = { ...candidate, major };
  }
  return best;
}

/** The newest Debian PostgreSQL server (14 or newer) with initdb and pg_ctl; null when none is installed. */
export function findSystemServer(minMajor = 14): { binDir: string; major: number } | null {
  for (const binDir of debianBinDirs()) {
    const major = Number(path.basename(path.dirname(binDir)));
    if (major < minMajor) continue;
    if (["postgres", "initdb", "pg_ctl"].every((p) => existsSync(path.join(binDir, p)))) return { binDir, major };
  }
  return null;
}

interface RunAs {
  uid: number;
  gid: number;
}

function postgresUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new Error(`PostgreSQL cannot run as root and there is no ${USER} user: install Debian's postgresql package (it creates one).`);
  }
}

function runTool(command: string, args: string[], as: RunAs | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_MESSAGES: "C" }, ...(as ?? {}) });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited with ${code}: ${output.trim().split("\n").slice(-3).join(" / ")}`))));
  });
}

/**
 * A throwaway cluster of the system's PostgreSQL server in a fresh temporary folder, on a free loopback port, with
 * a random superuser password and without fsync (nothing in it outlives the tests). stop() stops it and removes
 * the folder. Under root the server runs as `postgres`.
 */
export async function startSystemPostgres(options: { binDir?: string } = {}): Promise<SystemPostgres> {
  const server = options.binDir ? { binDir: options.binDir, major: programMajor(path.join(options.binDir, "postgres")) ?? 0 } : findSystemServer();
  if (!server) throw new Error("No PostgreSQL 14+ server under /usr/lib/postgresql: install Debian's postgresql package.");
  const as = postgresUser();
  const folder = await mkdtemp(path.join(os.tmpdir(), `ejm-pg${server.major}-`));
  await chmod(folder, 0o755);
  const dataDir = path.join(folder, "data");
  const socketDir = path.join(folder, "socket");
  await mkdir(dataDir, { mode: 0o700 });
  await mkdir(socketDir, { mode: 0o700 });
  const password = randomBytes(18).toString("base64url");
  const passwordFile = path.join(folder, "password");
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (as) for (const p of [dataDir, socketDir, passwordFile]) await chown(p, as.uid, as.gid);
  const pgCtl = path.join(server.binDir, "pg_ctl");
  const port = await freePort();
  let started = false;
  try {
    await runTool(path.join(server.binDir, "initdb"), [`--pgdata=${dataDir}`, "--auth=scram-sha-256", `--username=${USER}`, `--pwfile=${passwordFile}`, "--lc-messages=C", "--no-sync"], as);
    await rm(passwordFile, { force: true });
    const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await runTool(pgCtl, ["start", "-D", dataDir, "-w", "-t", "120", "-l", path.join(dataDir, "server.log"), "-o", serverOptions], as);
    started = true;
  } catch (error) {
    if (started) await runTool(pgCtl, ["stop", "-D", dataDir, "-m", "immediate", "-w"], as).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    major: server.major,
    stop() {
      stopped ??= (async () => {
        await runTool(pgCtl, ["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "60"], as).catch(() => runTool(pgCtl, ["stop", "-D", dataDir, "-m", "immediate", "-w"], as));
        await rm(folder, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
