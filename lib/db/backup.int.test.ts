/**
 * Backup and restore drill: a cohort synced from the sandbox EHR by the real Bulk Data path is dumped with pg_dump
 * (custom format), restored with pg_restore into a fresh embedded PostgreSQL, and the restored database shows the
 * same row counts, panel numbers (summary, charts, worklist) and report figures (every measure) as the original.
 *
 * pg_dump cannot dump a server newer than itself: the source is TEST_DATABASE_URL's server when set, else a
 * throwaway cluster of the system's PostgreSQL (Debian's, the version of its pg_dump), so the drill also restores
 * an older server's dump into the embedded PostgreSQL 18.
 */
import { startSyncedCohort, type SyncedCohort } from "../reports/synced-cohort.test-helper";
import { rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupDatabase, dumpToolsFor, restoreDatabase, serverMajor } from "./backup";
import { makeTempDataDir, startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded";
import { findDumpTools, findSystemServer, startSystemPostgres, type SystemPostgres } from "./system-postgres";

const COHORT = { patients: 30, seed: 7, asOf: "2026-11-01" };
const SOURCE = "cohort";
const tools = findDumpTools();
const canRun = tools !== null && (Boolean(process.env.TEST_DATABASE_URL) || findSystemServer() !== null);
if (!canRun) console.warn("[backup drill] skipped: no pg_dump/pg_restore or no PostgreSQL server to dump from (apt-get install -y postgresql)");

let system: SystemPostgres | undefined;
let cohort: SyncedCohort | undefined;
let restored: EmbeddedDatabase | undefined;
let restoredPool: pg.Pool | undefined;
let folder = "";
let setTestUrl = false;

async function tableCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1");
  const counts: Record<string, number> = {};
  for (const { table_name } of rows) {
    const result = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(table_name)}`);
    counts[table_name] = Number(result.rows[0]?.n);
  }
  return counts;
}

describe.skipIf(!canRun)("backup and restore drill", () => {
  beforeAll(async () => {
    if (!process.env.TEST_DATABASE_URL) {
      system = await startSystemPostgres();
      process.env.TEST_DATABASE_URL = system.url;
      setTestUrl = true;
    }
    cohort = await startSyncedCohort(COHORT, SOURCE);
    folder = await makeTempDataDir("ejm-backup-drill-");
    restored = await startEmbeddedPostgres({ dataDir: path.join(folder, "pg") });
  }, 300_000);

  afterAll(async () => {
    await restoredPool?.end();
    await restored?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
    await cohort?.stop();
    if (setTestUrl) delete process.env.TEST_DATABASE_URL;
    await system?.stop();
  }, 120_000);

  it("restores a synced database's rows, panel numbers and report figures identically", async () => {
    const source = cohort!.pool;
    const { rows } = await source.query<{ db: string }>("SELECT current_database() AS db");
    const sourceUrl = new URL(process.env.TEST_DATABASE_URL!);
    sourceUrl.pathname = `/${rows[0]!.db}`;
    const dump = path.join(folder, "backup.dump");

    const dumpTools = await dumpToolsFor(sourceUrl.toString(), tools);
    await backupDatabase(sourceUrl.toString(), dump, dumpTools);
    await restoreDatabase(restored!.url, dump, dumpTools);
    expect(await serverMajor(restored!.url)).toBeGreaterThanOrEqual(await serverMajor(sourceUrl.toString()));

    const { createPool } = await import("./pool");
    const { applyMigrations } = await import("./migrate");
    const { panelCharts, panelSummary, worklistPage } = await import("../panel/queries");
    const { parsePanelFilters } = await import("../panel/filters");
    const { reportSummary } = await import("../reports/report-queries");
    const { MEASURE_IDS } = await import("../reports/measures");
    restoredPool = createPool(restored!.url, 4);

    // The restored schema is the migrated one: nothing left to apply.
    expect((await applyMigrations(restored!.url)).applied).toEqual([]);

    const sourceCounts = await tableCounts(source);
    const patients = sourceCounts.patients ?? 0;
    expect(patients).toBeGreaterThan(COHORT.patients / 2);
    expect(sourceCounts.evaluations).toBe(patients);
    expect(await tableCounts(restoredPool)).toEqual(sourceCounts);

    const today = cohort!.asOf;
    for (const scope of [null, SOURCE]) {
      const before = await panelSummary(source, { source: scope, today });
      expect(before.evaluatedPatients.count).toBe(patients);
      expect(await panelSummary(restoredPool, { source: scope, today })).toEqual(before);
      expect(await panelCharts(restoredPool, { source: scope, today })).toEqual(await panelCharts(source, { source: scope, today }));
    }
    for (const query of ["size=100", "sort=name&size=100", "scope=all&size=100", "flag=missing-lab&size=25", "preset=due-7-days&size=25"]) {
      const parsed = parsePanelFilters(new URLSearchParams(query));
      if (!parsed.ok) throw new Error(`bad test query ${query}: ${parsed.problems.map((p) => p.reason).join("; ")}`);
      const before = await worklistPage(source, parsed.filters, { today });
      if (query === "scope=all&size=100") expect(before.total).toBe(patients);
      expect(await worklistPage(restoredPool, parsed.filters, { today })).toEqual(before);
    }

    const period = { from: "2020-01-01", to: "2027-12-31" };
    for (const measureId of MEASURE_IDS) {
      const request = { measureId, period, filters: {} };
      expect(await reportSummary(restoredPool, request)).toEqual(await reportSummary(source, request));
    }
  }, 300_000);
});
