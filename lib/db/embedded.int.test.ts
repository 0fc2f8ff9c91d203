import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { descendants } from "../app/process-tree";
import { prepareDatabase } from "./database";
import { makeTempDataDir, passwordFilePath, startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded";
import { checkDatabase } from "./health";
import { createPool } from "./pool";

const isRoot = process.getuid?.() === 0;
const folders: string[] = [];
const servers: Array<{ stop(): Promise<void> }> = [];

/** A folder as `mktemp -d` makes it (0700, owned by this user), removed after the file's tests. */
async function dataFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), "ejm-embedded-test-"));
  folders.push(folder);
  return folder;
}

afterAll(async () => {
  for (const server of servers) await server.stop().catch(() => undefined);
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function postmasterPid(clusterDir: string): Promise<number> {
  return Number((await readFile(path.join(clusterDir, "postmaster.pid"), "utf8")).split("\n")[0]);
}

/** Polls until `check` resolves true or the time is up. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function setting(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(`SHOW ${name}`);
    return Object.values(rows[0] ?? {})[0] ?? "";
  } finally {
    await client.end();
  }
}

describe("embedded PostgreSQL", () => {
  it("keeps every committed audit row and session when the server is killed mid-write (the data folder npm start serves)", async () => {
    const folder = await dataFolder();
    const clusterDir = path.join(folder, "postgres");
    const first = await prepareDatabase({ EJM_DATA_DIR: folder });
    servers.push(first);
    expect(await setting(first.url, "fsync")).toBe("on");
    expect(await setting(first.url, "synchronous_commit")).toBe("on");
    expect(await setting(first.url, "full_page_writes")).toBe("on");

    const pool = createPool(first.url, 4);
    const committedAudit: string[] = [];
    const committedSessions: string[] = [];
    let writing = true;
    const writer = async (n: number) => {
      for (let i = 0; writing; i += 1) {
        try {
          const { rows } = await pool.query<{ id: string }>("INSERT INTO audit_events (actor, action) VALUES ($1, 'durability-test') RETURNING id::text", [`writer-${n}`]);
          committedAudit.push(rows[0]!.id);
          const sessionId = `durability-${n}-${i}`;
          await pool.query("INSERT INTO sessions (id, expires_at, updated_at) VALUES ($1, now() + interval '1 hour', now())", [sessionId]);
          committedSessions.push(sessionId);
        } catch {
          return;
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    expect(await eventually(async () => committedAudit.length >= 300, 60_000)).toBe(true);

    // A crash: the postmaster and every backend killed at once, mid-write.
    const pid = await postmasterPid(clusterDir);
    for (const target of [pid, ...descendants(pid).map((child) => child.pid)]) process.kill(target, "SIGKILL");
    await Promise.race([Promise.all(writers), new Promise((resolve) => setTimeout(resolve, 30_000))]);
    writing = false;
    await pool.end().catch(() => undefined);
    await first.stop();

    const second = await prepareDatabase({ EJM_DATA_DIR: folder });
    servers.push(second);
    const client = new pg.Client({ connectionString: second.url });
    await client.connect();
    try {
      const audit = await client.query<{ id: string }>("SELECT id::text FROM audit_events WHERE action = 'durability-test'");
      const sessions = await client.query<{ id: string }>("SELECT id FROM sessions WHERE id LIKE 'durability-%'");
      const auditIds = new Set(audit.rows.map((row) => row.id));
      const sessionIds = new Set(sessions.rows.map((row) => row.id));
      expect(committedAudit.length).toBeGreaterThanOrEqual(300);
      expect(committedAudit.filter((id) => !auditIds.has(id))).toEqual([]);
      expect(committedSessions.filter((id) => !sessionIds.has(id))).toEqual([]);
    } finally {
      await client.end();
      await second.stop();
    }
  });

  it("runs clusters in a makeTempDataDir folder without fsync (throwaway), and those alone", async () => {
    const dir = await makeTempDataDir("ejm-embedded-test-");
    folders.push(dir);
    const db = await startEmbeddedPostgres({ dataDir: path.join(dir, "pg") });
    servers.push(db);
    try {
      expect(db.durability).toBe("throwaway");
      expect(await setting(db.url, "fsync")).toBe("off");
      expect(await setting(db.url, "synchronous_commit")).toBe("off");
    } finally {
      await db.stop();
    }
  });

  it("restarts a killed server on the same folder and port; the app's pool and the health check recover by themselves", async () => {
    const folder = await dataFolder();
    const events: string[] = [];
    const db: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: path.join(folder, "postgres"), onEvent: (line) => events.push(line) });
    servers.push(db);
    const pool = createPool(db.url, 2);
    try {
      await pool.query("CREATE TABLE written_before (n int)");
      await pool.query("INSERT INTO written_before VALUES (42)");
      const killed = db.pid();
      expect(killed).toBe(await postmasterPid(db.dataDir));
      process.kill(killed as number, "SIGKILL");

      // Connections already open may still reach the dying server's backends: ask with new ones (as /api/health does).
      const healthy = await eventually(async () => (await checkDatabase(db.url, "embedded")).reachable && db.pid() !== killed, 60_000);
      expect(healthy).toBe(true);
      const recovered = await eventually(async () => (await pool.query<{ n: number }>("SELECT n FROM written_before")).rows[0]?.n === 42, 30_000);
      expect(recovered).toBe(true);
      expect(db.pid()).not.toBeNull();
      expect(db.pid()).toBe(await postmasterPid(db.dataDir));
      expect(db.restarts()).toBe(1);
      expect(events.some((line) => line.includes("restarting it on the same folder and port"))).toBe(true);
      // One server per folder: a second start while it runs is refused.
      await expect(startEmbeddedPostgres({ dataDir: db.dataDir, onEvent: () => {} })).rejects.toThrow(`is already running (pid ${db.pid()})`);
    } finally {
      await pool.end().catch(() => undefined);
      await db.stop();
    }
    // Stopped on purpose: not restarted.
    expect(db.pid()).toBeNull();
    expect(existsSync(path.join(db.dataDir, "postmaster.pid"))).toBe(false);
  });

  it("gives each data folder its own password, kept 0600 beside the cluster and reused on restart; an old cluster is moved off the built-in one", async () => {
    const folder = await dataFolder();
    const dataDir = path.join(folder, "postgres");
    const file = passwordFilePath(dataDir);
    expect(file).toBe(path.join(folder, "postgres-password"));

    const first = await startEmbeddedPostgres({ dataDir, onEvent: () => {} });
    servers.push(first);
    const password = (await readFile(file, "utf8")).trim();
    await first.stop();
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(password).not.toBe("embedded-local-only");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(new URL(first.url).password).toBe(password);

    const again = await startEmbeddedPostgres({ dataDir, onEvent: () => {} });
    servers.push(again);
    expect(new URL(again.url).password).toBe(password);
    // A cluster from before (the built-in password, no password file) ...
    const client = new pg.Client({ connectionString: again.url });
    await client.connect();
    await client.query("ALTER ROLE postgres PASSWORD 'embedded-local-only'");
    await client.end();
    await again.stop();
    await unlink(file);

    // ... gets its own at the next start, and the built-in one stops working.
    const events: string[] = [];
    const upgraded = await startEmbeddedPostgres({ dataDir, onEvent: (line) => events.push(line) });
    servers.push(upgraded);
    try {
      const fresh = (await readFile(file, "utf8")).trim();
      expect(fresh).not.toBe(password);
      expect(new URL(upgraded.url).password).toBe(fresh);
      expect(events.some((line) => line.includes("Replaced the cluster's built-in password"))).toBe(true);
      const legacy = new URL(upgraded.url);
      legacy.password = "embedded-local-only";
      const rejected = new pg.Client({ connectionString: legacy.toString() });
      await expect(rejected.connect()).rejects.toMatchObject({ code: "28P01" });
      await rejected.end().catch(() => undefined);
      expect((await checkDatabase(upgraded.url, "embedded")).reachable).toBe(true);
    } finally {
      await upgraded.stop();
    }
  });

  describe.skipIf(!isRoot)("as root (PostgreSQL runs as user postgres)", () => {
    it("starts in a 0700 data folder from mktemp, giving postgres search permission on it only", async () => {
      const folder = await dataFolder();
      expect((await stat(folder)).mode & 0o777).toBe(0o700);
      const db = await startEmbeddedPostgres({ dataDir: path.join(folder, "postgres"), onEvent: () => {} });
      servers.push(db);
      try {
        expect((await checkDatabase(db.url, "embedded")).reachable).toBe(true);
        expect((await stat(folder)).mode & 0o777).toBe(0o701);
      } finally {
        await db.stop();
      }
    });

    it("stops with a one-line instruction when a folder above the data folder is closed to postgres, and leaves it as it was", async () => {
      const closed = await dataFolder();
      const folder = path.join(closed, "data");
      await mkdir(folder, { mode: 0o755 });
      const attempt = startEmbeddedPostgres({ dataDir: path.join(folder, "postgres"), onEvent: () => {} });
      await expect(attempt).rejects.toThrow(`cannot enter ${closed}: choose a data folder (EJM_DATA_DIR) that user can reach`);
      const message = await attempt.catch((error: Error) => error.message);
      expect(message).not.toContain("\n");
      expect((await stat(closed)).mode & 0o777).toBe(0o700);
    });
  });
});
