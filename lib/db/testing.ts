import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import type { PrismaClient } from "../generated/prisma/client";
import { createPrisma } from "./client";
import { makeTempDataDir, startEmbeddedPostgres } from "./embedded";
import { applyMigrations } from "./migrate";

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  stop(): Promise<void>;
}

/** `url` with another database name. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A new, empty database on the server of TEST_DATABASE_URL (connected as its user, who needs CREATEDB), so test
 * files that each expect a database of their own can share one external server; drop() removes it.
 */
async function createScratchDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ejm_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        // FORCE (PostgreSQL 13+): a pool the test forgot to end must not keep its database alive.
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * For integration tests: a fresh database on TEST_DATABASE_URL's server when it is set (CI runs the database tests
 * against Debian's PostgreSQL that way: one new database per call, dropped by stop()), else a throwaway embedded
 * PostgreSQL in a temporary folder. Migrated before it is returned; stop() removes what it created.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    const scratch = await createScratchDatabase(external);
    try {
      await applyMigrations(scratch.url);
    } catch (error) {
      await scratch.drop();
      throw error;
    }
    const client = createPrisma(scratch.url);
    return {
      url: scratch.url,
      prisma: client,
      async stop() {
        await client.$disconnect();
        await scratch.drop();
      },
    };
  }
  const dir = await makeTempDataDir("ejm-test-db-");
  const db = await startEmbeddedPostgres({ dataDir: path.join(dir, "pg") });
  await applyMigrations(db.url);
  const client = createPrisma(db.url);
  return {
    url: db.url,
    prisma: client,
    async stop() {
      await client.$disconnect();
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
