/**
 * The worklist snapshot on a real PostgreSQL: for every filter set, sort, direction and page its answer equals
 * the SQL's (rows in the same order, the same total), over patients made to trip the edge cases (no name, equal
 * names, names with accents and in lower case, a flag kind and a severity on different flags, empty columns);
 * the worklist answers from it only while the evaluations have not changed, and never answers older rows.
 */
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays } from "../clinical/dates";
import { createPool } from "../db/pool";
import { startTestDatabase, type TestDatabase } from "../db/testing";
import { seededRandom } from "../sandbox/faults";
import {
  CHECKPOINT_WEEKS,
  DATE_FIELDS,
  DEFAULT_FILTERS,
  DRUGS,
  FLAG_KINDS,
  PAGE_SIZES,
  PRESETS,
  ROUTES,
  SCOPES,
  SEVERITIES,
  SORT_DIRECTIONS,
  SORT_KEYS,
  VERDICT_FILTERS,
  type PanelFilters,
} from "./filters";
import { DUE_SOON_DAYS, worklistOrder, worklistPage, worklistPageBySql, type Queryable } from "./queries";
import { insertTestPatient, type TestPatient } from "./rows.test-helper";
import { latestWorklistSnapshot, refreshWorklistSnapshot, WorklistSnapshot, worklistSnapshotInterval } from "./worklist-snapshot";

const TODAY = "2026-11-20";
const SOURCES = ["ehr-a", "ehr-b"];
const NAMES = ["Ada Able", "ada able", "Ábel Zoltán", "de la Cruz", "O'Brien", "Zoë Young", "Bea Best", "Bea Best", null];
const PRESCRIBERS = ["Dr Lee", "Dr Moss", null];
const OPTIONS = { dueSoonDays: DUE_SOON_DAYS, maxRows: 1000, order: worklistOrder };

let db: TestDatabase;
let pool: pg.Pool;

function randomPatient(random: () => number, n: number): TestPatient {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const maybe = (p: number): boolean => random() < p;
  const day = (): string => addDays(TODAY, Math.floor(random() * 120) - 90);
  const drug = maybe(0.85) ? pick(DRUGS) : null;
  return {
    source: pick(SOURCES),
    id: `p-${String(n).padStart(4, "0")}`,
    name: pick(NAMES),
    onJak: drug !== null && maybe(0.8),
    drug,
    route: drug === null ? null : drug === "ruxolitinib-cream" ? "topical" : "oral",
    courseStart: drug === null ? null : day(),
    courseWeek: drug === null || maybe(0.1) ? null : Math.floor(random() * 40),
    prescriber: pick(PRESCRIBERS),
    latestCheckpointWeek: maybe(0.3) ? null : pick(CHECKPOINT_WEEKS),
    latestVerdict: pick(["responded", "not-responded", "not-assessable", null]),
    nextDueDate: maybe(0.3) ? null : addDays(TODAY, Math.floor(random() * 60) - 10),
    nextCheckpointDate: maybe(0.3) ? null : addDays(TODAY, Math.floor(random() * 20) - 5),
    labsMissing: maybe(0.7) ? 0 : 1,
    labsOverdue: maybe(0.7) ? 0 : 2,
    labsAbnormal: maybe(0.8) ? 0 : 1,
    flags: Array.from({ length: Math.floor(random() * 4) }, () => ({ kind: pick(FLAG_KINDS), severity: pick(SEVERITIES) })),
  };
}

/** Mostly no filter on a field (so most filter sets match someone), else one of its values. */
const sometimes = <T,>(...values: T[]): fc.Arbitrary<T | null> => fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...values) });

const filterSets = (): fc.Arbitrary<PanelFilters> =>
  fc.record({
    source: sometimes(...SOURCES),
    scope: fc.constantFrom(...SCOPES),
    drug: sometimes(...DRUGS),
    route: sometimes(...ROUTES),
    week: sometimes(...CHECKPOINT_WEEKS),
    verdict: sometimes(...VERDICT_FILTERS),
    flag: sometimes(...FLAG_KINDS),
    severity: sometimes(...SEVERITIES),
    prescriber: sometimes("Dr Lee", "Dr Nobody"),
    dateOf: fc.constantFrom(...DATE_FIELDS),
    from: sometimes(addDays(TODAY, -60), TODAY),
    to: sometimes(addDays(TODAY, -30), addDays(TODAY, 20)),
    preset: sometimes(...PRESETS),
    sort: fc.constantFrom(...SORT_KEYS),
    dir: fc.constantFrom(...SORT_DIRECTIONS),
    page: fc.constantFrom(1, 1, 1, 2, 3, 40),
    size: fc.constantFrom(...PAGE_SIZES),
  });

/** A pool wrapper of its own: the snapshot state is kept per pool object, so each test starts without one. */
function freshDb(): Queryable & { statements: string[] } {
  const statements: string[] = [];
  return { statements, query: ((text: string, values?: unknown[]) => (statements.push(text), pool.query(text, values))) as Queryable["query"] };
}

beforeAll(async () => {
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
  const random = seededRandom(20261130);
  for (let n = 0; n < 400; n++) await insertTestPatient(pool, randomPatient(random, n));
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

describe("the worklist snapshot", () => {
  it("finds the same page and total as the SQL for every filter set, sort and page", async () => {
    const snapshot = (await WorklistSnapshot.read(pool, OPTIONS))!;
    expect(snapshot.size).toBe(400);
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(filterSets(), async (filters) => {
        const bySql = await worklistPageBySql(pool, filters, { today: TODAY });
        const found = snapshot.page(filters, TODAY);
        expect(found.total).toBe(bySql.total);
        expect(found.keys).toEqual(bySql.rows.map((r) => ({ source: r.source, patientId: r.patientId })));
        if (found.keys.length > 0) nonEmpty++;
      }),
      { numRuns: 1500, seed: 11 },
    );
    // The property saw pages with rows, not only empty ones.
    expect(nonEmpty).toBeGreaterThan(500);
  });

  it("answers the worklist from the snapshot only while the evaluations have not changed, never with older rows", async () => {
    const fresh = freshDb();
    const filters: PanelFilters = { ...DEFAULT_FILTERS, scope: "all", sort: "name", dir: "asc", size: 10 };
    // No snapshot yet: the SQL answers, and a snapshot is read in the background.
    expect(await worklistPage(fresh, filters, { today: TODAY })).toEqual(await worklistPageBySql(pool, filters, { today: TODAY }));
    await refreshWorklistSnapshot(fresh, OPTIONS);
    fresh.statements.length = 0;
    const fromSnapshot = await worklistPage(fresh, filters, { today: TODAY });
    expect(fromSnapshot).toEqual(await worklistPageBySql(pool, filters, { today: TODAY }));
    // One statement: the page's rows by key and the version; no scan of the evaluations.
    expect(fresh.statements).toHaveLength(1);
    expect(fresh.statements[0]).toContain("unnest(");

    // An evaluation written: the snapshot is behind, so the SQL answers with the new row at once.
    const first = fromSnapshot.rows[0]!;
    await pool.query("UPDATE evaluations SET patient_name = 'Aaron Aardvark', evaluated_at = clock_timestamp() WHERE source = $1 AND patient_id = $2", [
      fromSnapshot.rows[3]!.source,
      fromSnapshot.rows[3]!.patientId,
    ]);
    fresh.statements.length = 0;
    const afterWrite = await worklistPage(fresh, filters, { today: TODAY });
    expect(afterWrite.rows[0]!.name).toBe("Aaron Aardvark");
    expect(afterWrite.rows[1]!.patientId).toBe(first.patientId);
    expect(fresh.statements.some((s) => s.includes("WITH page AS"))).toBe(true);
    expect(afterWrite).toEqual(await worklistPageBySql(pool, filters, { today: TODAY }));
  });

  it("reads less often while the evaluations change faster than a snapshot answers, and again once one answers", async () => {
    const fresh = freshDb();
    let clock = 0;
    const options = { ...OPTIONS, now: () => clock };
    const filters: PanelFilters = { ...DEFAULT_FILTERS, scope: "all", size: 10 };
    const write = () => pool.query("UPDATE evaluations SET evaluated_at = clock_timestamp() WHERE patient_id = 'p-0007'");
    await refreshWorklistSnapshot(fresh, options);
    expect(worklistSnapshotInterval(fresh)).toBe(1000);
    // Too soon after the last read: none starts.
    clock += 500;
    expect(refreshWorklistSnapshot(fresh, options)).toBeNull();
    // Replaced twice without answering a page (a write before each use): the wait doubles each time.
    for (const expected of [2000, 4000]) {
      await write();
      clock += 60_000;
      await refreshWorklistSnapshot(fresh, options);
      expect(worklistSnapshotInterval(fresh)).toBe(expected);
    }
    clock += 3000;
    expect(refreshWorklistSnapshot(fresh, options)).toBeNull();
    // A snapshot that answers a page brings the wait back to a second.
    fresh.statements.length = 0;
    await worklistPage(fresh, filters, { today: TODAY });
    expect(fresh.statements[0]).toContain("unnest(");
    await write();
    clock += 60_000;
    await refreshWorklistSnapshot(fresh, options);
    expect(worklistSnapshotInterval(fresh)).toBe(1000);
  });

  it("keeps no snapshot past PANEL_WORKLIST_SNAPSHOT_MAX evaluations, so memory stays bounded: the SQL answers alone", async () => {
    expect(await WorklistSnapshot.read(pool, { ...OPTIONS, maxRows: 399 })).toBeNull();
    expect((await WorklistSnapshot.read(pool, { ...OPTIONS, maxRows: 400 }))?.size).toBe(400);
    // Past the bound, the count is read less and less often.
    const counted = freshDb();
    let clock = 0;
    for (const expected of [2000, 4000, 8000]) {
      clock += 60_000;
      await refreshWorklistSnapshot(counted, { ...OPTIONS, maxRows: 399, now: () => clock });
      expect(worklistSnapshotInterval(counted)).toBe(expected);
    }
    expect(latestWorklistSnapshot(counted)).toBeNull();

    const previous = process.env.PANEL_WORKLIST_SNAPSHOT_MAX;
    try {
      const filters: PanelFilters = { ...DEFAULT_FILTERS, sort: "week", size: 50 };
      for (const max of ["399", "0"]) {
        process.env.PANEL_WORKLIST_SNAPSHOT_MAX = max;
        const fresh = freshDb();
        await worklistPage(fresh, filters, { today: TODAY });
        await refreshWorklistSnapshot(fresh, { ...OPTIONS, maxRows: Number(max) });
        expect(await worklistPage(fresh, filters, { today: TODAY })).toEqual(await worklistPageBySql(pool, filters, { today: TODAY }));
        expect(fresh.statements.filter((text) => text.includes("unnest("))).toEqual([]);
        // Off: not even the count is read.
        if (max === "0") expect(fresh.statements.filter((text) => text.includes("json_agg"))).toEqual([]);
      }
    } finally {
      if (previous === undefined) delete process.env.PANEL_WORKLIST_SNAPSHOT_MAX;
      else process.env.PANEL_WORKLIST_SNAPSHOT_MAX = previous;
    }
  });

  it("reads a snapshot of no evaluations, and a read that fails leaves the SQL answering", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("DELETE FROM evaluations");
      const empty = (await WorklistSnapshot.read(client, OPTIONS))!;
      expect(empty.size).toBe(0);
      expect(empty.page({ ...DEFAULT_FILTERS }, TODAY)).toEqual({ keys: [], total: 0 });
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }

    const failing: Queryable = {
      query: ((text: string, values?: unknown[]) => (text.includes("json_agg") ? Promise.reject(new Error("connection lost")) : pool.query(text, values))) as Queryable["query"],
    };
    await refreshWorklistSnapshot(failing, OPTIONS);
    const filters: PanelFilters = { ...DEFAULT_FILTERS, sort: "due", size: 25 };
    expect(await worklistPage(failing, filters, { today: TODAY })).toEqual(await worklistPageBySql(pool, filters, { today: TODAY }));
  });
});
