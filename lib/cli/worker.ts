// `npm run worker`: a job worker on its own, beside any number of app instances and other workers sharing
// DATABASE_URL. Applies pending migrations, mirrors the configured sources (SYNC_SOURCES / SYNC_SOURCES_FILE)
// into the sources table, then runs sync and evaluation jobs and the schedules until SIGTERM, SIGINT or SIGHUP to any
// process of its tree (npm, its shell, tsx, this one).
import { stopTreeOnSignals } from "../app/process-tree";
import { applyMigrations } from "../db/migrate";
import { createPool } from "../db/pool";
import { startWorker } from "../jobs/queue";
import { loadSourceConfigs, syncSourcesTable } from "../sync/sources";

const log = (line: string) => console.log(`[worker ${process.pid}] ${line}`);
const shutdown = stopTreeOnSignals({ log });

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL?.trim();
  if (!databaseUrl) {
    console.error("DATABASE_URL is not set: the worker needs the app's PostgreSQL (e.g. DATABASE_URL=postgres://user:pass@host:5432/db npm run worker).");
    process.exit(2);
  }
  const sources = loadSourceConfigs(process.env);
  const { applied } = await applyMigrations(databaseUrl);
  if (applied.length > 0) log(`applied migrations: ${applied.join(", ")}`);
  const pool = createPool(databaseUrl, 2);
  try {
    await syncSourcesTable(pool, sources);
  } finally {
    await pool.end();
  }
  const worker = await startWorker({ databaseUrl, log, sources });
  // Stopping lets the running jobs finish (or hands them back to the queue after the worker's grace period).
  shutdown.setStop(() => worker.stop());
}

main().catch((error: unknown) => {
  console.error(`[worker ${process.pid}] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
