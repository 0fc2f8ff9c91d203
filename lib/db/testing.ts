import { rm } from "node:fs/promises";
import path from "node:path";
import type { PrismaClient } from "../generated/prisma/client";
import { createPrisma } from "./client";
import { makeTempDataDir, startEmbeddedPostgres } from "./embedded";
import { applyMigrations } from "./migrate";

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  stop(): Promise<void>;
}

/**
 * For integration tests: TEST_DATABASE_URL when set (CI may provide one), else a throwaway embedded PostgreSQL
 * in a temporary folder. Migrated before it is returned; stop() removes what it created.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    await applyMigrations(external);
    const client = createPrisma(external);
    return { url: external, prisma: client, stop: () => client.$disconnect() };
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
