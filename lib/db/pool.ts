/**
 * The process's pg Pool on DATABASE_URL, for the bulk and panel paths that need plain SQL (COPY, keyset paging,
 * aggregates) rather than Prisma. One per process; kept on globalThis because Next's dev server reloads modules.
 */
import pg from "pg";
import { databaseUrl, DB_CONNECT_TIMEOUT_MS } from "./client";
import { observeOutages } from "./outage";

const globalForPool = globalThis as unknown as { ejmPgPool?: pg.Pool; ejmPgPoolUrl?: string };

export interface PoolOptions {
  /** Longest wait for a connection (a free one, or a new one to the server); none when omitted. */
  connectionTimeoutMillis?: number;
}

/** Connections per pool: EJM_DB_POOL_MAX when set, else `fallback`. */
function poolMax(fallback: number): number {
  return Number(process.env.EJM_DB_POOL_MAX) || fallback;
}

export function createPool(url: string, max = poolMax(10), options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, ...options });
  // An idle client losing its connection (database restart) must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  return pool;
}

/**
 * Connections in the app's pool unless EJM_DB_POOL_MAX says otherwise: under load (50 clinic leads and 20
 * dermatologists at once, `npm run bench -- load`) requests queued for one of 10 (panel p95 385 ms with 10, 305 ms
 * with 20, a run each).
 */
export const APP_POOL_MAX = 20;

/**
 * The app's pool: a request waits at most DB_CONNECT_TIMEOUT_MS for a connection (the database down, or every
 * connection busy), and its outages are noted for the route answering it (lib/db/outage.ts).
 */
export function pgPool(): pg.Pool {
  const url = databaseUrl();
  if (!globalForPool.ejmPgPool || globalForPool.ejmPgPoolUrl !== url) {
    globalForPool.ejmPgPool = observeOutages(createPool(url, poolMax(APP_POOL_MAX), { connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS }));
    globalForPool.ejmPgPoolUrl = url;
  }
  return globalForPool.ejmPgPool;
}
