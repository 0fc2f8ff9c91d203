import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client";
import { observeOutages } from "./outage";

// One client per process; Next's dev server reloads modules, so keep it on globalThis.
const globalForPrisma = globalThis as unknown as { ejmPrisma?: PrismaClient; ejmPrismaUrl?: string };

/**
 * How long a request waits for a database connection (a free one from the pool, or a new one to the server) before
 * it fails and is answered "retry": without it a request queues forever while the database does not answer.
 */
export const DB_CONNECT_TIMEOUT_MS = 5000;

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: start the app with `npm start` (it provides the embedded PostgreSQL) or set DATABASE_URL.");
  return url;
}

export function createPrisma(url: string): PrismaClient {
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.EJM_DB_POOL_MAX) || 10, connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS });
  // An idle client losing its connection (database restart) must not crash the process; the pool drops it.
  pool.on("error", () => undefined);
  return new PrismaClient({ adapter: new PrismaPg(observeOutages(pool), { disposeExternalPool: true }) });
}

/** The app's Prisma client, connected to DATABASE_URL. */
export function prisma(): PrismaClient {
  const url = databaseUrl();
  if (!globalForPrisma.ejmPrisma || globalForPrisma.ejmPrismaUrl !== url) {
    globalForPrisma.ejmPrisma = createPrisma(url);
    globalForPrisma.ejmPrismaUrl = url;
  }
  return globalForPrisma.ejmPrisma;
}
