/**
 * For the reports' integration tests: a generated cohort served by the sandbox EHR, synced by the real Bulk Data
 * path into a throwaway PostgreSQL and evaluated by the worker's code. Import this module first in a test file:
 * the sandbox must load Medplum's definitions before anything imports Prisma's generated client.
 */
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type RunningSandbox } from "../sandbox/index";
import type pg from "pg";
import type { TestDatabase } from "../db/testing";

export interface SyncedCohort {
  pool: pg.Pool;
  source: string;
  asOf: string;
  stop(): Promise<void>;
}

export async function startSyncedCohort(cohort: { patients: number; seed: number; asOf: string }, source = "cohort"): Promise<SyncedCohort> {
  const keys = await createBackendClientKeys("ES384");
  const sandbox: RunningSandbox = await startSandbox({ port: 0, cohort, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }], bulkMinJobMs: 0 });
  let db: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  try {
    const { startTestDatabase } = await import("../db/testing");
    const { createPool } = await import("../db/pool");
    const { sandboxSourceConfig, syncSourcesTable } = await import("../sync/sources");
    const { createSyncRun, runSync } = await import("../sync/run-sync");
    const { evaluateDirtyPatients } = await import("../sync/evaluate-patients");
    db = await startTestDatabase();
    const p = createPool(db.url, 4);
    pool = p;
    const config = sandboxSourceConfig({ id: source, fhirBase: sandbox.fhirBase, clientId: BULK_CLIENT_ID, privateJwk: keys.privateJwk });
    await syncSourcesTable(p, [config]);
    const runId = await createSyncRun(p, { sourceId: source, kind: "full", trigger: "manual" });
    const summary = await runSync(runId, { pool: p, sources: [config], evaluateChanged: (sourceId) => evaluateDirtyPatients(p, sourceId, { asOf: cohort.asOf }) });
    if (summary.status !== "succeeded") throw new Error(`cohort sync ${summary.status}: ${summary.error ?? ""}`);
  } catch (error) {
    await pool?.end();
    await db?.stop();
    await sandbox.stop();
    throw error;
  }
  return {
    pool,
    source,
    asOf: cohort.asOf,
    async stop() {
      await pool?.end();
      await db?.stop();
      await sandbox.stop();
    },
  };
}
