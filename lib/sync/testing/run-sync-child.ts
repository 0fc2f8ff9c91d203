/**
 * For tests: runs one sync run in a process of its own, so a test can kill it (SIGKILL) mid-run and resume the
 * run elsewhere. Usage: tsx lib/sync/testing/run-sync-child.ts <runId> with DATABASE_URL and SYNC_SOURCES set.
 * Prints one line per event (no PHI: the events carry counts and file names).
 */
import { createPool } from "../../db/pool";
import { runSync } from "../run-sync";
import { loadSourceConfigs } from "../sources";

const runId = process.argv[2];
const url = process.env.DATABASE_URL;
if (!runId || !/^\d+$/.test(runId) || !url) {
  console.error("usage: DATABASE_URL=... SYNC_SOURCES=... tsx lib/sync/testing/run-sync-child.ts <runId>");
  process.exit(2);
}
const pool = createPool(url, 4);
const summary = await runSync(BigInt(runId), {
  pool,
  sources: loadSourceConfigs(process.env),
  evaluateChanged: async () => 0,
  retryBaseMs: 100,
  watchIntervalMs: 200,
  log: (event, fields) => console.log(`${event} ${JSON.stringify(fields)}`),
});
console.log(`done ${summary.status}`);
await pool.end();
