/**
 * Logical backups with PostgreSQL's own tools: pg_dump in custom format (-Fc: compressed, restorable table by table)
 * and pg_restore into an empty database. The password goes to the tools in PGPASSWORD, never on their command line
 * (which other users of the machine can read).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { passwordFilePath } from "./embedded";
import { findDumpTools, type DumpTools } from "./system-postgres";

/** The URL without its password, and the password apart. */
function splitPassword(url: string): { url: string; password: string } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  return { url: parsed.toString(), password };
}

function runTool(command: string, args: string[], password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PGPASSWORD: password, LC_MESSAGES: "C" } });
    let errors = "";
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited with ${code}: ${errors.trim().split("\n").slice(-3).join(" / ") || "no message"}`)),
    );
  });
}

/** The server's major version (18 for 18.4). */
export async function serverMajor(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    return Math.floor(Number(rows[0]?.v) / 10000);
  } finally {
    await client.end();
  }
}

/** pg_dump and pg_restore able to dump this server (pg_dump refuses servers newer than itself); else a clear error. */
export async function dumpToolsFor(url: string, tools: DumpTools | null = findDumpTools()): Promise<DumpTools> {
  const major = await serverMajor(url);
  if (!tools) throw new Error(`No pg_dump found: install a PostgreSQL ${major} (or newer) client, or set PG_BIN_DIR to its bin folder.`);
  if (tools.major < major) {
    throw new Error(`pg_dump ${tools.major} cannot dump a PostgreSQL ${major} server: install a PostgreSQL ${major} (or newer) client, or set PG_BIN_DIR to its bin folder.`);
  }
  return tools;
}

/** pg_dump -Fc of the database at `url` into `file`. */
export async function backupDatabase(url: string, file: string, tools?: DumpTools): Promise<void> {
  const { pgDump } = tools ?? (await dumpToolsFor(url));
  const { url: bare, password } = splitPassword(url);
  await runTool(pgDump, ["--format=custom", "--no-owner", "--no-privileges", `--file=${file}`, `--dbname=${bare}`], password);
}

/** pg_restore of a custom-format dump into the (empty) database at `url`; stops at the first error. */
export async function restoreDatabase(url: string, file: string, tools: DumpTools | null = findDumpTools()): Promise<void> {
  if (!tools) throw new Error("No pg_restore found: install a PostgreSQL client, or set PG_BIN_DIR to its bin folder.");
  const { url: bare, password } = splitPassword(url);
  await runTool(tools.pgRestore, ["--exit-on-error", "--no-owner", "--no-privileges", "--single-transaction", `--dbname=${bare}`, file], password);
}

/**
 * The URL of the running embedded PostgreSQL of a data folder (`.data/postgres`, or $EJM_DATA_DIR/postgres): user
 * postgres, the password in `<folder>/postgres-password`, the port in line 4 of the cluster's postmaster.pid (a free
 * one at each start unless EJM_EMBEDDED_PG_PORT fixes it), database eczema_jak_monitor on 127.0.0.1.
 */
export async function embeddedDatabaseUrl(clusterDir: string, database = "eczema_jak_monitor"): Promise<string> {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  if (!existsSync(pidFile)) throw new Error(`The embedded PostgreSQL in ${clusterDir} is not running (no postmaster.pid): start the app (npm start) first.`);
  const port = Number((await readFile(pidFile, "utf8")).split("\n")[3]?.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`No port in ${pidFile}.`);
  const password = (await readFile(passwordFilePath(clusterDir), "utf8")).trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}
