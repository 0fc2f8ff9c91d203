/**
 * The reports as the app reads them (report_cases aggregated in PostgreSQL) equal the pure computation
 * (computeMeasure, itself checked against the cohort generator's oracle in cohort-measures.test.ts) on a cohort
 * synced from the sandbox EHR by the real Bulk Data path and evaluated by the worker's code: totals, exclusions,
 * strata, the monthly trend, the patient list in order, for several periods and filters; plus paging, outcome
 * filters and the keyset stream across batch boundaries.
 */
import { startSyncedCohort, type SyncedCohort } from "./synced-cohort.test-helper";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatePatient } from "../clinical/index";
import { computeMeasure, type MeasurePatientRow, type ReportPatient } from "./compute";
import { MEASURE_IDS } from "./measures";
import type { ReportCaseListRow, ReportRequest } from "./report-queries";

const COHORT = { patients: 80, seed: 11, asOf: "2026-11-01" };
const SOURCE = "cohort";

let cohort: SyncedCohort;
let pool: pg.Pool;
let queries: typeof import("./report-queries");
let patients: ReportPatient[] = [];

beforeAll(async () => {
  cohort = await startSyncedCohort(COHORT, SOURCE);
  pool = cohort.pool;
  const { loadPatientResources } = await import("../db/resource-store");
  const { coursePrescribers } = await import("../sync/evaluation-row");
  const { reportPatient } = await import("./report-cases");
  queries = await import("./report-queries");

  // The pure side: the same stored resources, the same engine, computed in memory.
  const ids = (await pool.query<{ id: string }>("SELECT id FROM patients WHERE source = $1 ORDER BY id", [SOURCE])).rows.map((r) => r.id);
  const resources = await loadPatientResources(pool, SOURCE, ids);
  patients = ids.map((id) => {
    const own = resources.get(id) ?? [];
    const evaluation = evaluatePatient(own, { asOf: COHORT.asOf, patientId: id, details: false, facts: true });
    return reportPatient(SOURCE, COHORT.asOf, evaluation, coursePrescribers(evaluation, own));
  });
}, 180_000);

afterAll(async () => {
  await cohort?.stop();
});

type Request = Omit<ReportRequest, "measureId">;
const REQUESTS: Request[] = [
  { period: { from: "2020-01-01", to: "2027-12-31" }, filters: {} },
  { period: { from: "2025-01-01", to: "2025-12-31" }, filters: { source: SOURCE } },
  { period: { from: "2024-06-01", to: "2026-11-30" }, filters: { drug: "upadacitinib" } },
  { period: { from: "2024-06-01", to: "2026-11-30" }, filters: { route: "topical" } },
  { period: { from: "2020-01-01", to: "2027-12-31" }, filters: { prescriber: "Practitioner pr-derm-2", route: "oral" } },
  { period: { from: "2020-01-01", to: "2027-12-31" }, filters: { source: "another-ehr" } },
];

function listOf(rows: readonly ReportCaseListRow[]): MeasurePatientRow[] {
  return rows.map((r) => {
    const row: MeasurePatientRow = {
      patientId: r.patientId, source: r.source, courseIndex: r.courseIndex, drug: r.drug, route: r.route, courseStart: r.courseStart,
      prescriber: r.prescriber, date: r.date, stratum: r.stratum, item: r.item, inNumerator: r.inNumerator,
    };
    if (r.excludedReason) row.excludedReason = r.excludedReason;
    return row;
  });
}

async function streamed(request: ReportRequest, batchSize: number): Promise<ReportCaseListRow[]> {
  const rows: ReportCaseListRow[] = [];
  for await (const row of queries.reportCaseStream(pool, request, { batchSize })) rows.push(row);
  return rows;
}

describe("reports read from PostgreSQL equal the pure computation", () => {
  it("the synced cohort has cases for every measure (the comparison below is not vacuous)", async () => {
    const counts = await queries.reportCatalogueCounts(pool);
    for (const id of MEASURE_IDS) expect(counts[id], id).toBeGreaterThan(0);
    const prescribers = new Set(patients.flatMap((p) => p.facts?.prescribers ?? []));
    expect(prescribers.has("Practitioner pr-derm-2")).toBe(true);
  });

  for (const measureId of MEASURE_IDS) {
    it(`${measureId}: figures, strata, trend and the patient list for each period and filter`, async () => {
      for (const r of REQUESTS) {
        const request: ReportRequest = { measureId, ...r };
        const expected = computeMeasure(measureId, patients, { period: r.period, filters: r.filters });
        const summary = await queries.reportSummary(pool, request);
        const { patients: expectedList, dataNotes: _notes, ...expectedFigures } = expected;
        const { dataNotes: _count, evaluations, ...figures } = summary;
        expect(figures, JSON.stringify(r)).toEqual(expectedFigures);
        expect(evaluations.asOfTo).toBe(r.filters.source === "another-ehr" ? null : COHORT.asOf);
        expect(listOf(await streamed(request, 7)), JSON.stringify(r)).toEqual(expectedList);
      }
    });
  }

  it("pages and outcome filters split the list exactly", async () => {
    const request: ReportRequest = { measureId: "follow-up-labs", ...REQUESTS[0]! };
    const summary = await queries.reportSummary(pool, request);
    const all = await streamed(request, 1000);
    expect(all.length).toBe(summary.initialPopulation);
    const pages: ReportCaseListRow[] = [];
    for (let page = 1; ; page++) {
      const p = await queries.reportCasePage(pool, request, { page, pageSize: 25 });
      expect(p.total).toBe(all.length);
      pages.push(...p.rows);
      if (p.rows.length < 25) break;
    }
    expect(pages).toEqual(all);
    const numerator = await queries.reportCasePage(pool, request, { page: 1, pageSize: 500, outcome: "numerator" });
    const excluded = await queries.reportCasePage(pool, request, { page: 1, pageSize: 500, outcome: "excluded" });
    const notMet = await queries.reportCasePage(pool, request, { page: 1, pageSize: 500, outcome: "not-met" });
    // The totals come from the figures; the rows from the list's own filter: they must agree.
    for (const p of [numerator, excluded, notMet]) expect(p.rows.length).toBe(Math.min(500, p.total));
    expect(numerator.total + notMet.total + excluded.total).toBe(all.length);
    expect(numerator.total).toBe(summary.numerator);
    expect(notMet.total).toBe(summary.denominator - summary.numerator);
    expect(excluded.total).toBe(summary.exclusions.reduce((n, e) => n + e.count, 0));
    expect(numerator.rows.every((r) => r.inNumerator)).toBe(true);
    expect(excluded.rows.every((r) => r.excludedReason !== null)).toBe(true);
    expect(await queries.reportCaseCount(pool, request, "denominator")).toBe(summary.denominator);
  });

  it("patient names come from the synced Patient for the internal list", async () => {
    const page = await queries.reportCasePage(pool, { measureId: "baseline-screening", ...REQUESTS[0]! }, { page: 1, pageSize: 5 });
    expect(page.rows.length).toBeGreaterThan(0);
    for (const row of page.rows) expect(row.patientName).toMatch(/\S/);
  });
});
