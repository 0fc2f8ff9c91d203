import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client";

// One client per process; Next's dev server reloads modules, so keep it on globalThis.
const globalForPrisma = globalThis as unknown as { ejmPrisma?: PrismaClient; ejmPrismaUrl?: string };

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: start the app with `npm start` (it provides the embedded PostgreSQL) or set DATABASE_URL.");
  return url;
}

export function createPrisma(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: Number(process.env.EJM_DB_POOL_MAX) || 10 }) });
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
