/**
 * The process's one pg-boss instance and the pool beside it. An app instance (Next route handlers) gets a
 * send-only instance on DATABASE_URL the first time it asks for a job; a worker process (or the in-app worker)
 * starts one that also works queues, maintains them and runs the schedules. Kept on globalThis because Next's
 * dev server reloads modules.
 */
import { PgBoss } from "pg-boss";
import type pg from "pg";
import { databaseUrl } from "../db/client";
import { createPool, pgPool } from "../db/pool";
import { ensureQueues, type QueueTuning } from "./queues";

export type JobRole = "send" | "work";

export interface JobContext {
  role: JobRole;
  databaseUrl: string;
  pool: pg.Pool;
  /**
   * A small pool of its own for connections that wait on a per-source request lock: a waiter must never hold
   * the connection that the lock holder needs from `pool`.
   */
  lockPool: pg.Pool;
  boss: PgBoss;
  /** Stops pg-boss (waiting up to graceMs for running handlers) and ends the pool when this context owns it. */
  close(graceMs?: number): Promise<void>;
}

const holder = globalThis as unknown as { ejmJobContext?: Promise<JobContext> };

export interface StartContextOptions {
  role: JobRole;
  databaseUrl: string;
  /** A pool to use; when omitted the context creates (and ends) its own. */
  pool?: pg.Pool;
  log?: (line: string) => void;
  /** Worker only: queue heartbeats, and how often this instance checks for jobs whose worker went silent (s). */
  tuning?: QueueTuning & { superviseIntervalSeconds?: number };
}

async function startContext(options: StartContextOptions): Promise<JobContext> {
  const working = options.role === "work";
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    max: working ? 4 : 2,
    application_name: working ? "ejm-worker" : "ejm-app",
    // Only workers maintain queues and run schedules; an app instance just sends.
    supervise: working,
    schedule: working,
    instanceName: working ? "worker" : "app",
    ...(working && options.tuning?.superviseIntervalSeconds
      ? { superviseIntervalSeconds: options.tuning.superviseIntervalSeconds, monitorIntervalSeconds: options.tuning.superviseIntervalSeconds }
      : {}),
  });
  const log = options.log ?? (() => undefined);
  // An unhandled 'error' event would end the process; the message carries no job data.
  boss.on("error", (error) => log(`job queue error: ${error.message}`));
  if (working) boss.on("warning", (warning) => log(`job queue warning: ${warning.message}`));
  await boss.start();
  try {
    await ensureQueues(boss, { update: working, tuning: options.tuning ?? {} });
  } catch (error) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    throw error;
  }
  const ownPool = !options.pool;
  // A worker may hold, at once: two sync runs' locks and ingest transactions, and per evaluation the locked batch in
  // hand and the one read ahead, each also reading resources on another connection.
  const pool = options.pool ?? createPool(options.databaseUrl, working ? 12 : 4);
  const lockPool = createPool(options.databaseUrl, 2);
  let closing: Promise<void> | undefined;
  return {
    role: options.role,
    databaseUrl: options.databaseUrl,
    pool,
    lockPool,
    boss,
    close: (graceMs = 20_000) =>
      (closing ??= (async () => {
        await boss.stop({ graceful: true, timeout: graceMs });
        await lockPool.end();
        if (ownPool) await pool.end();
      })()),
  };
}

/**
 * The context for sending jobs: the running one (send-only or worker), else a send-only one on `url` (default
 * DATABASE_URL).
 */
export function sendContext(url?: string): Promise<JobContext> {
  if (!holder.ejmJobContext) {
    const started = url ? startContext({ role: "send", databaseUrl: url }) : startContext({ role: "send", databaseUrl: databaseUrl(), pool: pgPool() });
    holder.ejmJobContext = started;
    // A failed start is not cached: the next request tries again.
    started.catch(() => {
      if (holder.ejmJobContext === started) holder.ejmJobContext = undefined;
    });
  }
  return holder.ejmJobContext;
}

/** Starts this process's working context, replacing a send-only one. */
export async function startWorkContext(options: Omit<StartContextOptions, "role">): Promise<JobContext> {
  const existing = holder.ejmJobContext ? await holder.ejmJobContext.catch(() => null) : null;
  if (existing?.role === "work") throw new Error("A job worker is already running in this process.");
  if (existing) await existing.close();
  const started = startContext({ ...options, role: "work" });
  holder.ejmJobContext = started;
  try {
    return await started;
  } catch (error) {
    if (holder.ejmJobContext === started) holder.ejmJobContext = undefined;
    throw error;
  }
}

/** Forgets the context after it was closed. */
export function clearContext(context: JobContext): void {
  void holder.ejmJobContext?.then((current) => {
    if (current === context) holder.ejmJobContext = undefined;
  });
}

/** Closes a send-only context (tests and CLI processes that sent jobs and are done). */
export async function closeSendContext(): Promise<void> {
  const current = holder.ejmJobContext ? await holder.ejmJobContext.catch(() => null) : null;
  if (!current || current.role !== "send") return;
  holder.ejmJobContext = undefined;
  await current.close();
}
