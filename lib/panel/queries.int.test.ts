/**
 * The panel's queries on a real PostgreSQL with rows inserted by hand: the summary's figures and their
 * denominators (not-assessable left out and counted), the worklist's filters, sorts and paging, and the
 * chart series; then rows written by the evaluation store (next checkpoint date, checkpoints after a course
 * ended, readable prescribers) and the summary cache, which must never serve figures older than the rows.
 */
import type { Resource } from "@medplum/fhirtypes";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RULES_VERSION } from "../clinical";
import type { CheckpointEvaluation, CourseEvaluation, MeasureAtCheckpoint } from "../clinical/types";
import { writeEvaluations } from "../db/evaluation-store";
import { createPool } from "../db/pool";
import type { TestDatabase } from "../db/testing";
import { evaluationRows } from "../sync/evaluation-row";
import { DEFAULT_FILTERS, parsePanelFilters, type PanelFilters } from "./filters";
import { filterOptions, panelCharts, panelSummary, worklistPage, type Queryable } from "./queries";
import { clearPanelTables, insertTestPatient, type TestPatient } from "./rows.test-helper";

const TODAY = "2026-11-01";
let db: TestDatabase;
let pool: pg.Pool;

/** A small clinic in two EHRs; each patient is there for a reason given beside it. */
const PATIENTS: TestPatient[] = [
  {
    // Upadacitinib non-responder at week 16 (and 12), overdue lipids.
    source: "ehr-a",
    id: "a1",
    name: "Ada Able",
    drug: "upadacitinib",
    route: "oral",
    courseStart: "2026-05-01",
    courseWeek: 26,
    prescriber: "Dr Lee",
    latestCheckpointWeek: 16,
    latestVerdict: "not-responded",
    nextDueDate: "2026-11-20",
    nextDueKind: "lab:periodic:cbc",
    flags: [
      { kind: "non-response", severity: "warning" },
      { kind: "overdue-lab", severity: "warning" },
      { kind: "vaccination", severity: "info" },
    ],
    checkpoints: [
      { week: 2, verdict: "responded", itch: { status: "met", baseline: 8, value: 3 }, pain: { status: "not-met", baseline: 6, value: 5 } },
      { week: 4, verdict: "responded", itch: { status: "met", baseline: 8, value: 3 } },
      {
        week: 12,
        verdict: "not-responded",
        easi: { status: "not-met", baseline: 20, value: 11, percent: 45, band: "below-EASI-50" },
        iga: { status: "not-met", baseline: 3, value: 2 },
        itch: { status: "not-met", baseline: 8, value: 6 },
      },
      {
        week: 16,
        verdict: "not-responded",
        easi: { status: "not-met", baseline: 20, value: 12, percent: 40, band: "below-EASI-50" },
        iga: { status: "no-value", baseline: 3, value: null },
        itch: { status: "no-baseline", baseline: null, value: 5 },
      },
    ],
    labs: [
      { requirement: "baseline:cbc", status: "done", dueBy: "2026-05-04" },
      { requirement: "week-12:lipids", status: "overdue", dueBy: "2026-08-21" },
    ],
  },
  {
    // Upadacitinib responder: EASI-75, IGA success, itch at week 12 and 16.
    source: "ehr-a",
    id: "a2",
    name: "Bea Best",
    drug: "upadacitinib",
    route: "oral",
    courseStart: "2026-06-01",
    courseWeek: 21,
    prescriber: "Dr Lee",
    latestCheckpointWeek: 16,
    latestVerdict: "responded",
    nextDueDate: "2026-12-20",
    nextDueKind: "lab:periodic:cbc",
    checkpoints: [
      { week: 2, verdict: "responded", itch: { status: "met", baseline: 7, value: 2 }, pain: { status: "met", baseline: 6, value: 1 } },
      {
        week: 12,
        verdict: "responded",
        easi: { status: "met", baseline: 24, value: 5, percent: 79, band: "EASI-75" },
        iga: { status: "met", baseline: 3, value: 1 },
        itch: { status: "met", baseline: 7, value: 2 },
      },
      {
        week: 16,
        verdict: "responded",
        easi: { status: "met", baseline: 24, value: 2, percent: 92, band: "EASI-90" },
        iga: { status: "met", baseline: 3, value: 0 },
        itch: { status: "met", baseline: 7, value: 1 },
      },
    ],
    labs: [
      { requirement: "baseline:cbc", status: "done", dueBy: "2026-06-04" },
      { requirement: "week-12:lipids", status: "done", dueBy: "2026-09-21" },
      { requirement: "baseline:tb-screen", status: "missing", dueBy: "2026-09-04" },
    ],
    flags: [{ kind: "missing-lab", severity: "warning" }],
  },
  {
    // Ruxolitinib cream: week 4 target is today and the window is open: due in the next 7 days.
    source: "ehr-a",
    id: "a3",
    name: "Cy Cream",
    drug: "ruxolitinib-cream",
    route: "topical",
    courseStart: "2026-10-04",
    courseWeek: 4,
    prescriber: "Dr Moss",
    latestCheckpointWeek: 2,
    latestVerdict: "responded",
    nextDueDate: "2026-11-01",
    nextDueKind: "checkpoint:4",
    checkpoints: [
      { week: 2, verdict: "responded", itch: { status: "met", baseline: 6, value: 1 }, pain: { status: "not-applicable", baseline: 2, value: 1 } },
      { week: 4, verdict: "open", itch: { status: "no-value", baseline: 6, value: null } },
      { week: 8, verdict: "not-due" },
    ],
  },
  {
    // Abrocitinib, started ten days ago: week 2 target in 4 days (window open); abnormal and missing labs.
    source: "ehr-a",
    id: "a4",
    name: "Dee Due",
    drug: "abrocitinib",
    route: "oral",
    courseStart: "2026-10-22",
    courseWeek: 1,
    prescriber: "Dr Moss",
    nextDueDate: "2026-11-05",
    nextDueKind: "checkpoint:2",
    labsMissing: 2,
    flags: [
      { kind: "abnormal-lab", severity: "critical" },
      { kind: "missing-lab", severity: "warning" },
      { kind: "missing-lab", severity: "warning" },
    ],
    checkpoints: [
      // Open and not met: not decided, so it counts in no rate.
      { week: 2, verdict: "open", itch: { status: "not-met", baseline: 8, value: 7 }, pain: { status: "not-met", baseline: 7, value: 6 } },
      { week: 4, verdict: "not-due" },
    ],
    labs: [
      { requirement: "baseline:tb-screen", status: "missing", dueBy: "2026-10-25" },
      { requirement: "baseline:lipids", status: "missing", dueBy: "2026-10-25" },
      { requirement: "week-4:cbc", status: "not-due", dueBy: "2026-12-03" },
    ],
  },
  {
    // Baricitinib course that ended: not on a JAK now, but its decided checkpoints count in the rates. Before it,
    // an upadacitinib course stopped after 6 weeks: its week-12 window opened after it ended (not assessable),
    // which is no response failure and counts nowhere.
    source: "ehr-a",
    id: "a5",
    name: "Ed Ended",
    onJak: false,
    courseIndex: 1,
    drug: "baricitinib",
    route: "oral",
    courseStart: "2025-09-01",
    courseEnd: "2026-01-10",
    latestCheckpointWeek: 8,
    latestVerdict: "not-responded",
    labsOverdue: 1,
    flags: [{ kind: "non-response", severity: "warning" }],
    checkpoints: [
      { week: 8, verdict: "not-responded", easi: { status: "not-met", baseline: 30, value: 25, percent: 17, band: "below-EASI-50" }, iga: { status: "not-met", criterion: "iga-improved", baseline: 4, value: 4 } },
      {
        courseIndex: 0,
        drug: "upadacitinib",
        courseStart: "2025-03-03",
        week: 12,
        verdict: "not-assessable",
        afterCourseEnd: true,
        easi: { status: "no-value", baseline: 22, value: null },
        iga: { status: "no-value", baseline: 3, value: null },
        itch: { status: "no-value", baseline: 7, value: null },
      },
    ],
    labs: [
      { requirement: "baseline:cbc", status: "done", dueBy: "2025-09-04" },
      // More than 24 months before today's month: outside the completeness chart.
      { requirement: "baseline:liver", status: "missing", dueBy: "2024-09-04" },
    ],
  },
  { source: "ehr-a", id: "a6", name: "Flo None", onJak: false, flags: [{ kind: "data-quality", severity: "info" }] },
  {
    // Upadacitinib responding early at week 2 while the window is still open: decided, and not "due".
    source: "ehr-a",
    id: "a7",
    name: "Gil Early",
    drug: "upadacitinib",
    route: "oral",
    courseStart: "2026-10-20",
    courseWeek: 1,
    prescriber: "Dr Lee",
    latestCheckpointWeek: 2,
    latestVerdict: "responded",
    nextDueDate: "2026-11-17",
    nextDueKind: "checkpoint:4",
    checkpoints: [
      { week: 2, verdict: "responded", itch: { status: "met", baseline: 9, value: 4 }, pain: { status: "no-value", baseline: 5, value: null } },
      { week: 4, verdict: "not-due" },
    ],
  },
  {
    // Second EHR: upadacitinib with nothing assessable at week 12.
    source: "ehr-b",
    id: "b1",
    name: "Hal Unknown",
    drug: "upadacitinib",
    route: "oral",
    courseStart: "2026-07-01",
    courseWeek: 17,
    prescriber: "Dr Quinn",
    latestCheckpointWeek: 12,
    latestVerdict: "not-assessable",
    nextDueDate: "2026-11-03",
    nextDueKind: "checkpoint:16",
    checkpoints: [
      {
        week: 12,
        verdict: "not-assessable",
        easi: { status: "no-baseline", baseline: null, value: 10 },
        iga: { status: "no-baseline", baseline: null, value: 2 },
        itch: { status: "not-applicable", baseline: 3, value: 2 },
      },
      // Target 2026-10-21 + ... : start 2026-07-01 + 112 days = 2026-10-21, already past: not due soon.
      { week: 16, verdict: "open" },
    ],
    labs: [{ requirement: "week-12:lipids", status: "done", dueBy: "2026-10-07" }],
  },
  {
    source: "ehr-b",
    id: "b2",
    name: null,
    drug: "abrocitinib",
    route: "oral",
    courseStart: "2026-07-15",
    courseWeek: 15,
    prescriber: "Dr Quinn",
    latestCheckpointWeek: 12,
    latestVerdict: "not-responded",
    flags: [{ kind: "non-response", severity: "info" }],
    checkpoints: [
      { week: 12, verdict: "not-responded", easi: { status: "not-met", baseline: 18, value: 12, percent: 33, band: "below-EASI-50" }, itch: { status: "not-met", baseline: 6, value: 5 } },
    ],
    labs: [
      { requirement: "week-4:cbc", status: "overdue", dueBy: "2026-08-26" },
      { requirement: "week-4:lipids", status: "due", dueBy: "2026-11-05" },
    ],
  },
];

/** Twelve plain upadacitinib patients in ehr-b for paging. */
const FILLER: TestPatient[] = Array.from({ length: 12 }, (_, i) => ({
  source: "ehr-b",
  id: `p${String(i + 1).padStart(2, "0")}`,
  name: `Pat ${String(i + 1).padStart(2, "0")}`,
  drug: "upadacitinib",
  route: "oral",
  courseStart: `2026-0${(i % 5) + 1}-10`,
  courseWeek: 30 - i,
  prescriber: "Dr Quinn",
  nextDueDate: `2026-12-${String(i + 10).padStart(2, "0")}`,
  nextDueKind: "lab:periodic:cbc",
}));

beforeAll(async () => {
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
  await clearPanelTables(pool);
  await pool.query(
    `INSERT INTO sources (id, name, fhir_base, client_id, last_success_at, updated_at) VALUES
       ('ehr-a', 'EHR A', 'http://a.example/fhir', 'app', '2026-11-01T02:00:00Z', now()),
       ('ehr-b', 'EHR B', 'http://b.example/fhir', 'app', NULL, now())`,
  );
  await pool.query(
    `INSERT INTO sync_runs (source, kind, status, started_at, finished_at) VALUES
       ('ehr-a', 'full', 'succeeded', '2026-11-01T01:00:00Z', '2026-11-01T02:00:00Z'),
       ('ehr-b', 'full', 'failed', '2026-10-31T01:00:00Z', '2026-10-31T01:05:00Z')`,
  );
  for (const p of [...PATIENTS, ...FILLER]) await insertTestPatient(pool, p);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

function filters(query: string): PanelFilters {
  const parsed = parsePanelFilters(new URLSearchParams(query));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.filters;
}

async function ids(query: string): Promise<string[]> {
  const page = await worklistPage(pool, { ...filters(query), size: 100 }, { today: TODAY });
  return page.rows.map((r) => r.patientId);
}

describe("panel summary", () => {
  it("counts patients on a JAK inhibitor by drug and route, leaving out ended courses and patients without one", async () => {
    const s = await panelSummary(pool, { source: null, today: TODAY });
    expect(s.evaluatedPatients.count).toBe(21);
    expect(s.onJak.count).toBe(19);
    expect(s.onJak.byDrugRoute).toEqual([
      { drug: "upadacitinib", route: "oral", count: 16 },
      { drug: "abrocitinib", route: "oral", count: 2 },
      { drug: "ruxolitinib-cream", route: "topical", count: 1 },
    ]);
    expect(s.onJak.definition).toMatch(/has not ended/);
  });

  it("gives response rates per drug and week over decided checkpoints, with not-assessable left out of the denominator and counted", async () => {
    const s = await panelSummary(pool, { source: null, today: TODAY });
    const row = (drug: string, week: number) => s.responseRates.rows.find((r) => r.drug === drug && r.week === week);
    // Upadacitinib week 12: a1 not responded, a2 responded, b1 not assessable; a5's window after its course ended is left out.
    expect(row("upadacitinib", 12)).toEqual({
      drug: "upadacitinib",
      week: 12,
      decided: 3,
      rates: {
        easi75: { numerator: 1, denominator: 2, notAssessable: 1, percent: 50 },
        igaSuccess: { numerator: 1, denominator: 2, notAssessable: 1, percent: 50 },
        itch4: { numerator: 1, denominator: 2, notAssessable: 1, percent: 50 },
      },
    });
    // Week 16: a1's IGA has no value and its itch no baseline: both not assessable.
    expect(row("upadacitinib", 16)?.rates).toEqual({
      easi75: { numerator: 1, denominator: 2, notAssessable: 0, percent: 50 },
      igaSuccess: { numerator: 1, denominator: 1, notAssessable: 1, percent: 100 },
      itch4: { numerator: 1, denominator: 1, notAssessable: 1, percent: 100 },
    });
    // Week 2: a7 responded early (window still open) and counts; its pain has no value.
    expect(row("upadacitinib", 2)?.rates).toEqual({
      itch4: { numerator: 3, denominator: 3, notAssessable: 0, percent: 100 },
      pain3: { numerator: 1, denominator: 2, notAssessable: 1, percent: 50 },
    });
    // Ruxolitinib cream week 2: skin-pain baseline below 3 is not applicable, so not in the denominator.
    expect(row("ruxolitinib-cream", 2)?.rates.pain3).toEqual({ numerator: 0, denominator: 0, notAssessable: 1, percent: null });
    // Open and not-due checkpoints are not decided: abrocitinib week 2 and cream week 4 are absent.
    expect(row("abrocitinib", 2)).toBeUndefined();
    expect(row("ruxolitinib-cream", 4)).toBeUndefined();
    // An ended course's checkpoints count; IGA success is judged from the values even under iga-improved.
    expect(row("baricitinib", 8)?.rates.igaSuccess).toEqual({ numerator: 0, denominator: 1, notAssessable: 0, percent: 0 });
    expect(s.responseRates.rows.map((r) => `${r.drug}:${r.week}`)).toEqual([
      "upadacitinib:2",
      "upadacitinib:4",
      "upadacitinib:12",
      "upadacitinib:16",
      "abrocitinib:12",
      "baricitinib:8",
      "ruxolitinib-cream:2",
    ]);
    expect(s.responseRates.definitions.easi75).toMatch(/EASI-75/);
  });

  it("leaves checkpoints whose window opened after the course ended out of the rates, and says so", async () => {
    const s = await panelSummary(pool, { source: "ehr-a", today: TODAY });
    const week12 = s.responseRates.rows.find((r) => r.drug === "upadacitinib" && r.week === 12);
    // Only a1 (not responded) and a2 (responded) in ehr-a: a5's stopped course adds neither a decided checkpoint nor a not-assessable one.
    expect(week12).toMatchObject({ decided: 2, rates: { easi75: { numerator: 1, denominator: 2, notAssessable: 0 }, itch4: { numerator: 1, denominator: 2, notAssessable: 0 } } });
    expect(s.responseRates.scope).toMatch(/opened only after the course had ended/);
    expect(s.responseRates.scope).toMatch(/not a non-responder/);
  });

  it("counts non-responders at the latest decided checkpoint among patients whose latest one was assessable", async () => {
    const s = await panelSummary(pool, { source: null, today: TODAY });
    // a1 and b2 not responded (a5 ended); a2, a3, a7 responded; b1's not-assessable is left out.
    expect(s.notResponded).toMatchObject({ count: 2, denominator: 5 });
  });

  it("counts patients with overdue or missing labs and with abnormal results, among patients on a JAK inhibitor", async () => {
    const s = await panelSummary(pool, { source: null, today: TODAY });
    // a1 overdue lipids, a2 missing TB, a4 two missing, b2 overdue CBC; a5 has ended.
    expect(s.overdueLabs).toMatchObject({ count: 4, requirements: 5, denominator: 19 });
    expect(s.abnormalLabs).toMatchObject({ count: 1, results: 1, denominator: 19 });
  });

  it("counts patients whose next undecided checkpoint target falls in the next 7 days", async () => {
    const s = await panelSummary(pool, { source: null, today: TODAY });
    // a3 week 4 (target today, open) and a4 week 2 (target in 4 days); a7's week 2 has already responded and its
    // week 4 is 16 days away; b1's week 16 target has passed while its window is open.
    expect(s.dueNext7Days).toMatchObject({ count: 2, patients: 2 });
    expect(s.dueNext7Days.definition).toMatch(/next undecided checkpoint/);
    const later = await panelSummary(pool, { source: null, today: "2026-11-06" });
    expect(later.dueNext7Days.count).toBe(0);
  });

  it("narrows every figure to one source", async () => {
    const s = await panelSummary(pool, { source: "ehr-b", today: TODAY });
    expect(s.source).toBe("ehr-b");
    expect(s.onJak.count).toBe(14);
    expect(s.notResponded).toMatchObject({ count: 1, denominator: 1 });
    expect(s.responseRates.rows.map((r) => `${r.drug}:${r.week}`)).toEqual(["upadacitinib:12", "abrocitinib:12"]);
    expect(s.lastSync).toMatchObject({ source: "ehr-b", status: "failed" });
    expect(s.dueNext7Days.count).toBe(0);
  });

  it("reports the sources, the latest sync and an empty panel as zeros", async () => {
    const s = await panelSummary(pool, { source: null, today: TODAY });
    expect(s.sources.map((x) => [x.id, x.name, x.lastSuccessAt])).toEqual([
      ["ehr-a", "EHR A", "2026-11-01T02:00:00.000Z"],
      ["ehr-b", "EHR B", null],
    ]);
    expect(s.lastSync).toMatchObject({ source: "ehr-a", status: "succeeded", finishedAt: "2026-11-01T02:00:00.000Z" });
    const empty = await panelSummary(pool, { source: "nowhere", today: TODAY });
    expect(empty.evaluatedPatients.count).toBe(0);
    expect(empty.notResponded).toMatchObject({ count: 0, denominator: 0 });
    expect(empty.responseRates.rows).toEqual([]);
    expect(empty.lastSync).toBeNull();
  });
});

describe("worklist", () => {
  it("lists patients on a JAK inhibitor, most severe flags first, with each row's facts and link", async () => {
    const page = await worklistPage(pool, DEFAULT_FILTERS, { today: TODAY });
    expect(page.total).toBe(19);
    expect(page.pageCount).toBe(1);
    expect(page.rows.slice(0, 4).map((r) => r.patientId)).toEqual(["a4", "a1", "a2", "b2"]);
    const a1 = page.rows[1]!;
    expect(a1).toEqual({
      source: "ehr-a",
      patientId: "a1",
      name: "Ada Able",
      onJak: true,
      drug: "upadacitinib",
      route: "oral",
      courseStart: "2026-05-01",
      courseWeek: 26,
      prescriber: "Dr Lee",
      latestCheckpointWeek: 16,
      latestVerdict: "not-responded",
      flags: { critical: 0, warning: 2, info: 1 },
      labs: { overdue: 1, missing: 0, abnormal: 0 },
      nextDue: { date: "2026-11-20", kind: "lab:periodic:cbc" },
      href: "/panel/patients/ehr-a/a1",
    });
    expect(page.query).toBe("");
    expect(page.describedFilters).toEqual(["on a JAK inhibitor now"]);
  });

  it("filters by source, drug, route and prescriber", async () => {
    expect(await ids("source=ehr-a&sort=name")).toEqual(["a1", "a2", "a3", "a4", "a7"]);
    expect(await ids("drug=abrocitinib&sort=name")).toEqual(["a4", "b2"]);
    expect(await ids("route=topical")).toEqual(["a3"]);
    expect(await ids("prescriber=Dr%20Moss&sort=name")).toEqual(["a3", "a4"]);
    expect(await ids("source=ehr-a&drug=abrocitinib")).toEqual(["a4"]);
  });

  it("filters by the latest decided checkpoint's week and verdict, including none decided yet", async () => {
    expect(await ids("verdict=not-responded&sort=name")).toEqual(["a1", "b2"]);
    expect(await ids("week=12&sort=name")).toEqual(["b1", "b2"]);
    expect(await ids("week=12&verdict=not-assessable")).toEqual(["b1"]);
    expect((await ids("verdict=none")).sort()).toEqual(["a4", ...FILLER.map((p) => p.id)].sort());
  });

  it("filters by flag kind, by severity, and by both on the same flag", async () => {
    expect(await ids("flag=missing-lab&sort=name")).toEqual(["a2", "a4"]);
    expect(await ids("severity=critical")).toEqual(["a4"]);
    expect(await ids("severity=info&sort=name")).toEqual(["a1", "b2"]);
    expect(await ids("flag=non-response&severity=warning")).toEqual(["a1"]);
    expect(await ids("flag=non-response&severity=info")).toEqual(["b2"]);
    expect(await ids("flag=abnormal-lab&severity=warning")).toEqual([]);
  });

  it("applies the date range to the course start or to the next due date, as chosen", async () => {
    expect(await ids("from=2026-10-01&to=2026-10-31&sort=name")).toEqual(["a3", "a4", "a7"]);
    expect(await ids("dateOf=start&from=2026-10-21")).toEqual(["a4"]);
    expect(await ids("dateOf=due&from=2026-11-01&to=2026-11-05&sort=due")).toEqual(["a3", "b1", "a4"]);
    expect(await ids("dateOf=due&to=2026-11-01")).toEqual(["a3"]);
  });

  it("has presets for the lead's worklists", async () => {
    expect(await ids("preset=not-responded&sort=name")).toEqual(["a1", "b2"]);
    expect(await ids("preset=overdue-labs&sort=name")).toEqual(["a1", "a2", "a4", "b2"]);
    expect(await ids("preset=abnormal-labs")).toEqual(["a4"]);
    expect(await ids("preset=due-7-days&sort=name")).toEqual(["a3", "a4"]);
    // Presets combine with the other filters.
    expect(await ids("preset=overdue-labs&source=ehr-b")).toEqual(["b2"]);
  });

  it("shows ended courses and patients without a course only when asked for every synced patient", async () => {
    const all = await ids("scope=all");
    expect(all).toHaveLength(21);
    expect(await ids("scope=all&verdict=not-responded&sort=name")).toEqual(["a1", "a5", "b2"]);
    expect(await ids("preset=not-responded&sort=name")).not.toContain("a5");
  });

  it("sorts by name, drug, course week, latest verdict, next due and severity, empty values last either way", async () => {
    const named = await ids("source=ehr-b&sort=name");
    expect(named[0]).toBe("b1");
    expect(named.at(-1)).toBe("b2");
    const namedDesc = await ids("source=ehr-b&sort=name&dir=desc");
    expect(namedDesc[0]).toBe("p12");
    expect(namedDesc.at(-1)).toBe("b2");
    expect(await ids("source=ehr-a&sort=drug")).toEqual(["a4", "a3", "a1", "a2", "a7"]);
    expect(await ids("source=ehr-a&sort=week")).toEqual(["a1", "a2", "a3", "a4", "a7"]);
    expect(await ids("source=ehr-a&sort=week&dir=asc")).toEqual(["a4", "a7", "a3", "a2", "a1"]);
    // Not responded first; equal verdicts by the later checkpoint, then name; none decided last.
    expect(await ids("sort=verdict&source=ehr-a")).toEqual(["a1", "a2", "a3", "a7", "a4"]);
    expect(await ids("sort=due&source=ehr-a")).toEqual(["a3", "a4", "a7", "a1", "a2"]);
    expect(await ids("sort=due&dir=desc&source=ehr-a")).toEqual(["a2", "a1", "a7", "a4", "a3"]);
    expect(await ids("sort=severity&dir=asc&source=ehr-a")).toEqual(["a3", "a7", "a2", "a1", "a4"]);
  });

  it("pages without overlap or gaps, with the total over all pages", async () => {
    const base = filters("source=ehr-b&sort=name&size=10");
    const first = await worklistPage(pool, base, { today: TODAY });
    const second = await worklistPage(pool, { ...base, page: 2 }, { today: TODAY });
    expect(first).toMatchObject({ total: 14, page: 1, pageSize: 10, pageCount: 2 });
    expect(first.rows).toHaveLength(10);
    expect(second.rows).toHaveLength(4);
    const seen = [...first.rows, ...second.rows].map((r) => r.patientId);
    expect(new Set(seen).size).toBe(14);
    expect(second.query).toBe("source=ehr-b&sort=name&page=2&size=10");
    const beyond = await worklistPage(pool, { ...base, page: 5 }, { today: TODAY });
    expect(beyond).toMatchObject({ total: 14, rows: [], page: 5, pageCount: 2 });
  });

  it("gives the same totals from the kept counts as from counting the rows, for every filter set the counts answer", async () => {
    const queries = [
      "",
      "scope=all",
      "source=ehr-a",
      "source=ehr-b&scope=all",
      "drug=upadacitinib",
      "route=topical",
      "drug=ruxolitinib-cream&route=topical&source=ehr-a",
      "preset=not-responded",
      "preset=overdue-labs&source=ehr-b",
      "preset=abnormal-labs&route=oral",
      "preset=due-7-days",
      "scope=all&preset=not-responded",
      "week=4",
      "sort=name&page=3&size=10",
    ];
    const totals = async (): Promise<Array<[string, number, number]>> =>
      Promise.all(queries.map(async (q) => [q, (await worklistPage(pool, filters(q), { today: TODAY })).total, (await worklistPage(pool, { ...filters(q), page: 9, size: 10 }, { today: TODAY })).total] as [string, number, number]));
    const fromKept = await totals();
    const previous = process.env.PANEL_COUNTS;
    process.env.PANEL_COUNTS = "rows";
    try {
      expect(await totals()).toEqual(fromKept);
    } finally {
      if (previous === undefined) delete process.env.PANEL_COUNTS;
      else process.env.PANEL_COUNTS = previous;
    }
    for (const [query, total, beyond] of fromKept) expect(beyond, query).toBe(total);
    expect(fromKept.filter(([, total]) => total > 0).length).toBeGreaterThanOrEqual(8);
    expect(new Set(fromKept.map(([, total]) => total)).size).toBeGreaterThanOrEqual(5);
  });

  it("keeps a stable order between equal keys so pages are repeatable", async () => {
    const base = filters("source=ehr-b&sort=drug&size=10");
    const a = await worklistPage(pool, { ...base, page: 2 }, { today: TODAY });
    const b = await worklistPage(pool, { ...base, page: 2 }, { today: TODAY });
    expect(a.rows.map((r) => r.patientId)).toEqual(b.rows.map((r) => r.patientId));
  });

  it("offers the sources and the prescribers seen as filter choices", async () => {
    const options = await filterOptions(pool, { source: null });
    expect(options.sources.map((s) => s.id)).toEqual(["ehr-a", "ehr-b"]);
    expect(options.prescribers).toEqual(["Dr Lee", "Dr Moss", "Dr Quinn"]);
    expect((await filterOptions(pool, { source: "ehr-b" })).prescribers).toEqual(["Dr Quinn"]);
  });
});

describe("panel charts", () => {
  it("draws response over weeks per drug from decided checkpoints, not-assessable counted beside the percent", async () => {
    const c = await panelCharts(pool, { source: null, today: TODAY });
    const upa = c.responseCurves.series.find((s) => s.drug === "upadacitinib")!;
    // Week 12's one not assessable is b1's; a5's window after its course ended is left out.
    expect(upa.points).toEqual([
      { week: 2, responded: 3, notResponded: 0, notAssessable: 0, percent: 100 },
      { week: 4, responded: 1, notResponded: 0, notAssessable: 0, percent: 100 },
      { week: 12, responded: 1, notResponded: 1, notAssessable: 1, percent: 50 },
      { week: 16, responded: 1, notResponded: 1, notAssessable: 0, percent: 50 },
    ]);
    expect(c.responseCurves.series.map((s) => s.drug)).toEqual(["upadacitinib", "abrocitinib", "baricitinib", "ruxolitinib-cream"]);
    expect(c.responseCurves.definition).toMatch(/opened only after the course had ended are left out/);
  });

  it("gives lab completeness per month of due date over the last 24 months, leaving out labs still due", async () => {
    const c = await panelCharts(pool, { source: null, today: TODAY });
    expect(c.labCompleteness.points).toEqual([
      { month: "2025-09", done: 1, missing: 0, overdue: 0, percent: 100 },
      { month: "2026-05", done: 1, missing: 0, overdue: 0, percent: 100 },
      { month: "2026-06", done: 1, missing: 0, overdue: 0, percent: 100 },
      { month: "2026-08", done: 0, missing: 0, overdue: 2, percent: 0 },
      { month: "2026-09", done: 1, missing: 1, overdue: 0, percent: 50 },
      { month: "2026-10", done: 1, missing: 2, overdue: 0, percent: 33.3 },
    ]);
    const b = await panelCharts(pool, { source: "ehr-b", today: TODAY });
    expect(b.labCompleteness.points.map((p) => p.month)).toEqual(["2026-08", "2026-10"]);
  });
});

/** A hand-made engine result for one patient of source ehr-c, written with the evaluation store. */
function checkpoint(week: number, windowStart: string, verdict: CheckpointEvaluation["verdict"], targetDate: string): CheckpointEvaluation {
  const status = verdict === "responded" ? "met" : verdict === "not-responded" ? "not-met" : "no-value";
  const value = status === "met" ? 3 : status === "not-met" ? 6 : null;
  const itch: MeasureAtCheckpoint = { criterion: "itch-4", status, baseline: 8, value, improvement: value === null ? null : 8 - value };
  return { week, windowStart, windowEnd: windowStart, verdict, targetDate, measures: verdict === "open" ? {} : { itch } };
}

function storeRows(patientId: string, course: Omit<CourseEvaluation, "drug" | "route" | "labs">, resources: Resource[] = []) {
  const evaluation = { patientId, courses: [{ drug: "upadacitinib" as const, route: "oral" as const, labs: [], ...course }], flags: [], dataQuality: [] };
  return { rows: evaluationRows(evaluation, { source: "ehr-c", asOf: TODAY, rulesVersion: RULES_VERSION, patient: null, resources }), dataChangedAt: null };
}

/** c1: running, week 2 decided, week 4's target is today; prescribed by a reference without a display. */
function c1(week2: "responded" | "not-responded") {
  const start: Resource = { resourceType: "MedicationRequest", id: "mr-c1", status: "active", intent: "order", subject: { reference: "Patient/c1" }, requester: { reference: "Practitioner/pr-derm-1" } };
  return storeRows(
    "c1",
    { start: "2026-10-04", end: null, startSource: "MedicationRequest/mr-c1", checkpoints: [checkpoint(2, "2026-10-12", week2, "2026-10-18"), checkpoint(4, "2026-10-26", "open", "2026-11-01")] },
    [start],
  );
}

/** c2: stopped on day 40; week 4 not responded, week 12's window opened after the end. */
function c2() {
  return storeRows("c2", {
    start: "2026-03-02",
    end: "2026-04-11",
    startSource: "MedicationStatement/ms-c2",
    checkpoints: [checkpoint(4, "2026-03-24", "not-responded", "2026-03-30"), checkpoint(12, "2026-05-12", "not-assessable", "2026-05-25")],
  });
}

async function write(client: pg.ClientBase, batch: ReturnType<typeof storeRows>[]): Promise<void> {
  await client.query("BEGIN");
  await writeEvaluations(client, "ehr-c", batch);
  await client.query("COMMIT");
}

/** A Queryable that records the SQL it runs, to see whether figures were aggregated or served from the cache. */
function recording(): Queryable & { sql: string[] } {
  const sql: string[] = [];
  return { sql, query: ((text: string, values?: unknown[]) => (sql.push(text), pool.query(text, values))) as Queryable["query"] };
}

// The figures' statements; the cache's version check (max(evaluated_at) and the kept row count) is not one of them.
const FIGURES = /FROM panel_\w+_deltas|FROM evaluation_checkpoints|FROM evaluation_labs|GROUPING SETS|next_checkpoint_date BETWEEN/;
const AGGREGATES = { test: (sql: string): boolean => FIGURES.test(sql) && !sql.includes("max(e.evaluated_at)") };

describe("rows written by the evaluation store", () => {
  beforeAll(async () => {
    await pool.query(`INSERT INTO patients (source, id, updated_at) VALUES ('ehr-c', 'c1', now()), ('ehr-c', 'c2', now())`);
    const client = await pool.connect();
    try {
      await write(client, [c1("responded"), c2()]);
    } finally {
      client.release();
    }
  });

  afterAll(async () => {
    for (const table of ["evaluations", "evaluation_checkpoints", "evaluation_labs", "evaluation_flags", "patients"]) await pool.query(`DELETE FROM ${table} WHERE source = 'ehr-c'`);
  });

  it("lists a running course whose next checkpoint target is within 7 days as due, by the stored next checkpoint date", async () => {
    const { rows } = await pool.query("SELECT patient_id, next_checkpoint_date FROM evaluations WHERE source = 'ehr-c' ORDER BY patient_id");
    expect(rows).toEqual([
      { patient_id: "c1", next_checkpoint_date: "2026-11-01" },
      { patient_id: "c2", next_checkpoint_date: null },
    ]);
    expect(await ids("source=ehr-c&preset=due-7-days")).toEqual(["c1"]);
    expect((await panelSummary(pool, { source: "ehr-c", today: TODAY })).dueNext7Days).toMatchObject({ count: 1, patients: 1 });
    expect((await panelSummary(pool, { source: "ehr-c", today: "2026-11-02" })).dueNext7Days.count).toBe(0);
  });

  it("stores which checkpoints opened after the course ended and leaves them out of rates and curves", async () => {
    const { rows } = await pool.query("SELECT patient_id, week, after_course_end FROM evaluation_checkpoints WHERE source = 'ehr-c' AND patient_id = 'c2' ORDER BY week");
    expect(rows).toEqual([
      { patient_id: "c2", week: 4, after_course_end: false },
      { patient_id: "c2", week: 12, after_course_end: true },
    ]);
    const s = await panelSummary(pool, { source: "ehr-c", today: TODAY });
    expect(s.responseRates.rows.map((r) => [r.week, r.decided, r.rates.itch4?.notAssessable])).toEqual([
      [2, 1, 0],
      [4, 1, 0],
    ]);
    const charts = await panelCharts(pool, { source: "ehr-c", today: TODAY });
    expect(charts.responseCurves.series[0]!.points.map((p) => p.week)).toEqual([2, 4]);
  });

  it("shows a prescriber known only by reference readably, offers it as a choice and filters on it", async () => {
    const page = await worklistPage(pool, filters("source=ehr-c"), { today: TODAY });
    expect(page.rows.map((r) => [r.patientId, r.prescriber])).toEqual([["c1", "Practitioner pr-derm-1"]]);
    expect((await filterOptions(pool, { source: "ehr-c" })).prescribers).toEqual(["Practitioner pr-derm-1"]);
    const choice = encodeURIComponent("Practitioner pr-derm-1");
    expect(await ids(`source=ehr-c&prescriber=${choice}`)).toEqual(["c1"]);
    expect(await ids(`source=ehr-c&prescriber=${encodeURIComponent("Practitioner/pr-derm-1")}`)).toEqual([]);
  });
});

describe("summary cache", () => {
  let client: pg.PoolClient;
  let early: pg.PoolClient;

  beforeAll(async () => {
    await pool.query(`INSERT INTO patients (source, id, updated_at) VALUES ('ehr-c', 'c1', now()), ('ehr-c', 'c2', now())`);
    client = await pool.connect();
    early = await pool.connect();
    await write(client, [c1("responded"), c2()]);
  });

  afterAll(async () => {
    client?.release();
    early?.release();
    for (const table of ["evaluations", "evaluation_checkpoints", "evaluation_labs", "evaluation_flags", "patients"]) await pool.query(`DELETE FROM ${table} WHERE source = 'ehr-c'`);
  });

  it("serves repeated summary and charts calls from the cache while no evaluation changed", async () => {
    const db = recording();
    const first = await panelSummary(db, { source: "ehr-c", today: TODAY });
    const firstCharts = await panelCharts(db, { source: "ehr-c", today: TODAY });
    expect(db.sql.filter((q) => AGGREGATES.test(q)).length).toBeGreaterThanOrEqual(5);
    db.sql.length = 0;
    expect(await panelSummary(db, { source: "ehr-c", today: TODAY })).toEqual(first);
    expect(await panelCharts(db, { source: "ehr-c", today: TODAY })).toEqual(firstCharts);
    expect(db.sql.filter((q) => AGGREGATES.test(q))).toEqual([]);
    // Another day or another source is another entry.
    await panelSummary(db, { source: "ehr-c", today: "2026-11-02" });
    await panelSummary(db, { source: null, today: TODAY });
    expect(db.sql.filter((q) => AGGREGATES.test(q)).length).toBeGreaterThanOrEqual(6);
  });

  it("shares the cached figures frozen: no caller can change them for the next", async () => {
    const a = await panelSummary(pool, { source: "ehr-c", today: TODAY });
    expect(() => {
      a.responseRates.rows.length = 0;
    }).toThrow(TypeError);
    expect(() => {
      (a.onJak.byDrugRoute[0] as { count: number }).count = -1;
    }).toThrow(TypeError);
    const b = await panelSummary(pool, { source: "ehr-c", today: TODAY });
    expect(b.responseRates.rows.length).toBeGreaterThan(0);
    expect(b.onJak.byDrugRoute[0]!.count).toBeGreaterThan(0);
  });

  it("recomputes after a new evaluation, even one whose transaction began before the write the cache saw", async () => {
    const db = recording();
    // `early` begins now (its now() is fixed here), then another writer rewrites c2 and commits first.
    await early.query("BEGIN");
    await early.query("SELECT now()");
    await write(client, [c2()]);
    const before = await panelSummary(db, { source: "ehr-c", today: TODAY });
    expect(before.notResponded).toMatchObject({ count: 0, denominator: 1 });
    // The early transaction now rewrites c1 (same number of rows) as a non-responder and commits last.
    await writeEvaluations(early, "ehr-c", [c1("not-responded")]);
    await early.query("COMMIT");
    const after = await panelSummary(db, { source: "ehr-c", today: TODAY });
    expect(after.notResponded).toMatchObject({ count: 1, denominator: 1 });
    const { rows } = await pool.query<{ patient_id: string }>("SELECT patient_id FROM evaluations WHERE source = 'ehr-c' ORDER BY evaluated_at DESC LIMIT 1");
    expect(rows[0]!.patient_id).toBe("c1");
  });

  it("makes a second writer wait for the first one's commit, so evaluation stamps follow commit order", async () => {
    await early.query("BEGIN");
    await writeEvaluations(early, "ehr-c", [c1("responded")]);
    let secondDone = false;
    const second = write(client, [c2()]).then(() => {
      secondDone = true;
    });
    const waiting = async () => (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0]!.n;
    while (!secondDone && (await waiting()) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(secondDone).toBe(false);
    await early.query("COMMIT");
    await second;
    const { rows } = await pool.query<{ patient_id: string }>("SELECT patient_id FROM evaluations WHERE source = 'ehr-c' ORDER BY evaluated_at");
    expect(rows.map((r) => r.patient_id)).toEqual(["c1", "c2"]);
  });

  it("recomputes after an evaluation is removed", async () => {
    const before = await panelSummary(pool, { source: "ehr-c", today: TODAY });
    expect(before.evaluatedPatients.count).toBe(2);
    await pool.query("DELETE FROM evaluations WHERE source = 'ehr-c' AND patient_id = 'c2'");
    expect((await panelSummary(pool, { source: "ehr-c", today: TODAY })).evaluatedPatients.count).toBe(1);
  });
});
