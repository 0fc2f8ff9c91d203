/**
 * The process's pg Pool on DATABASE_URL, for the bulk and panel paths that need plain SQL (COPY, keyset paging,
 * aggregates) rather than Prisma. One per process; kept on globalThis because Next's dev server reloads modules.
 */
import pg from "pg";
import { databaseUrl } from "./client";

const globalForPool = globalThis as unknown as { ejmPgPool?: pg.Pool; ejmPgPoolUrl?: string };

export function createPool(url: string, max = Number(process.env.EJM_DB_POOL_MAX) || 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client losing its connection (database restart) must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  return pool;
}

export function pgPool(): pg.Pool {
  const url = databaseUrl();
  if (!globalForPool.ejmPgPool || globalForPool.ejmPgPoolUrl !== url) {
    globalForPool.ejmPgPool = createPool(url);
    globalForPool.ejmPgPoolUrl = url;
  }
  return globalForPool.ejmPgPool;
}
