/**
 * The panel's numbers on the generated cohort equal those computed from the generator's expected.ndjson (its own
 * oracle, not the engine): the cohort is served by the sandbox EHR, synced by the real Bulk Data path, evaluated by
 * the worker's code, and read back through the panel's queries. Where the oracle leaves a checkpoint out (a value
 * near a threshold, a window after a course stopped), the patient is left out of the exact comparisons.
 */
// The sandbox first: it must load Medplum's definitions before anything imports Prisma's generated client.
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type RunningSandbox } from "../sandbox/index";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCohort, type CohortExpectation } from "../sandbox/cohort/index";
import { dayFromIso } from "../sandbox/cohort/dates";
import { CHECKPOINT_WINDOWS, DRUG_CHECKPOINTS } from "../sandbox/cohort/expectations";
import type { TestDatabase } from "../db/testing";
import type { PanelFilters } from "./filters";
import type { WorklistRow } from "./types";

const COHORT = { patients: 80, seed: 7, asOf: "2026-11-01" };
const SOURCE = "cohort";
const DECIDED = new Set(["responded", "not-responded", "not-assessable"]);

let sandbox: RunningSandbox;
let db: TestDatabase;
let pool: pg.Pool;
let queries: typeof import("./queries");
let filters: typeof import("./filters");
/** Expectations of the patients the JAK panel Group holds (every patient with a JAK course). */
let expected: CohortExpectation[];

beforeAll(async () => {
  const keys = await createBackendClientKeys("ES384");
  sandbox = await startSandbox({ port: 0, cohort: COHORT, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }], bulkMinJobMs: 0 });
  const { startTestDatabase } = await import("../db/testing");
  const { createPool } = await import("../db/pool");
  const { sandboxSourceConfig, syncSourcesTable } = await import("../sync/sources");
  const { createSyncRun, runSync } = await import("../sync/run-sync");
  const { evaluateDirtyPatients } = await import("../sync/evaluate-patients");
  queries = await import("./queries");
  filters = await import("./filters");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
  const source = sandboxSourceConfig({ id: SOURCE, fhirBase: sandbox.fhirBase, clientId: BULK_CLIENT_ID, privateJwk: keys.privateJwk });
  await syncSourcesTable(pool, [source]);
  const runId = await createSyncRun(pool, { sourceId: SOURCE, kind: "full", trigger: "manual" });
  const summary = await runSync(runId, { pool, sources: [source], evaluateChanged: (sourceId) => evaluateDirtyPatients(pool, sourceId, { asOf: COHORT.asOf }) });
  expect(summary.status).toBe("succeeded");
  expected = [...generateCohort(COHORT)].map((p) => p.expected).filter((e) => e.courses.length > 0);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
  await sandbox?.stop();
});

function worklistFilters(change: Partial<PanelFilters>): PanelFilters {
  return { ...filters.DEFAULT_FILTERS, source: SOURCE, scope: "all", size: 100, ...change };
}

/** Every row the worklist lists for these filters, over all its pages. */
async function allRows(change: Partial<PanelFilters>): Promise<WorklistRow[]> {
  const rows: WorklistRow[] = [];
  for (let page = 1; ; page++) {
    const result = await queries.worklistPage(pool, worklistFilters({ ...change, page }), { today: COHORT.asOf });
    rows.push(...result.rows);
    if (page >= result.pageCount) return rows;
  }
}

/**
 * The latest decided checkpoint of the patient's latest course as the oracle sees it, or undefined when the oracle
 * leaves out a checkpoint whose window has opened (its verdict could then be the latest decided one).
 */
function oracleLatestCheckpoint(expectation: CohortExpectation): { week: number; verdict: string } | null | undefined {
  const course = expectation.courses.at(-1)!;
  const startDay = dayFromIso(course.start);
  const asOfDay = dayFromIso(COHORT.asOf);
  let latest: { week: number; verdict: string } | null = null;
  for (const week of Object.keys(DRUG_CHECKPOINTS[course.drug]).sort((a, b) => Number(a) - Number(b))) {
    const window = CHECKPOINT_WINDOWS[week]!;
    if (asOfDay < startDay + window.from) continue;
    const verdict = course.checkpoints[week];
    if (verdict === undefined) return undefined;
    if (DECIDED.has(verdict)) latest = { week: Number(week), verdict };
  }
  return latest;
}

describe("panel numbers on the generated cohort equal the oracle's", () => {
  it("lists every patient of the JAK panel, once", async () => {
    const rows = await allRows({});
    expect(rows.map((r) => r.patientId).sort()).toEqual(expected.map((e) => e.patientId).sort());
  });

  it("counts patients by the drug and route of their latest JAK course", async () => {
    const oracle = new Map<string, number>();
    for (const e of expected) {
      const course = e.courses.at(-1)!;
      oracle.set(`${course.drug}/${course.route}`, (oracle.get(`${course.drug}/${course.route}`) ?? 0) + 1);
    }
    const panel = new Map<string, number>();
    for (const key of oracle.keys()) {
      const [drug, route] = key.split("/") as [PanelFilters["drug"], PanelFilters["route"]];
      const page = await queries.worklistPage(pool, worklistFilters({ drug, route }), { today: COHORT.asOf });
      panel.set(key, page.total);
    }
    expect(panel).toEqual(oracle);
    expect(oracle.size).toBeGreaterThanOrEqual(3);
  });

  it("gives each patient the oracle's latest decided checkpoint and verdict", async () => {
    const byPatient = new Map((await allRows({})).map((r) => [r.patientId, r]));
    let compared = 0;
    const mismatches: string[] = [];
    for (const e of expected) {
      const oracle = oracleLatestCheckpoint(e);
      if (oracle === undefined) continue;
      compared++;
      const row = byPatient.get(e.patientId);
      const panel = row && row.latestVerdict && row.latestCheckpointWeek !== null ? { week: row.latestCheckpointWeek, verdict: row.latestVerdict } : null;
      if (JSON.stringify(panel) !== JSON.stringify(oracle)) mismatches.push(`${e.patientId}: oracle ${JSON.stringify(oracle)}, panel ${JSON.stringify(panel)}`);
    }
    expect(mismatches).toEqual([]);
    // The comparison must cover most of the panel, or it proves little.
    expect(compared).toBeGreaterThanOrEqual(expected.length * 0.6);
  });

  it("lists as not responded exactly the patients whose latest decided checkpoint the oracle says was not met", async () => {
    const listed = new Set((await allRows({ verdict: "not-responded" })).map((r) => r.patientId));
    let oracleNonResponders = 0;
    for (const e of expected) {
      const oracle = oracleLatestCheckpoint(e);
      if (oracle === undefined) continue;
      const notResponded = oracle?.verdict === "not-responded";
      if (notResponded) oracleNonResponders++;
      expect({ patient: e.patientId, listed: listed.has(e.patientId) }).toEqual({ patient: e.patientId, listed: notResponded });
    }
    expect(oracleNonResponders).toBeGreaterThan(0);
  });

  it("raises, for each patient, at least the flag kinds the oracle requires, so each flag worklist holds them", async () => {
    const kinds = [...new Set(expected.flatMap((e) => e.flagKinds))];
    expect(kinds.length).toBeGreaterThanOrEqual(3);
    for (const kind of kinds) {
      const listed = new Set((await allRows({ flag: kind as PanelFilters["flag"] })).map((r) => r.patientId));
      const missing = expected.filter((e) => e.flagKinds.includes(kind) && !listed.has(e.patientId)).map((e) => e.patientId);
      expect({ kind, missing }).toEqual({ kind, missing: [] });
    }
  });

  it("summarises what the worklists list: on-JAK patients by drug, non-responders, and every patient of the panel", async () => {
    const summary = await queries.panelSummary(pool, { source: SOURCE, today: COHORT.asOf });
    const onJak = await allRows({ scope: "on-jak" });
    const onJakNonResponders = await queries.worklistPage(pool, worklistFilters({ scope: "on-jak", verdict: "not-responded" }), { today: COHORT.asOf });
    expect(summary.evaluatedPatients.count).toBe(expected.length);
    expect(summary.onJak.count).toBe(onJak.length);
    expect(summary.notResponded.count).toBe(onJakNonResponders.total);
    for (const { drug, route, count } of summary.onJak.byDrugRoute) {
      expect({ drug, route, count }).toEqual({ drug, route, count: onJak.filter((r) => r.drug === drug && r.route === route).length });
    }
  });
});
