import { describe, expect, it } from "vitest";
import { addDays } from "../clinical/dates";
import type {
  CheckpointEvaluation,
  CheckpointMeasure,
  CheckpointVerdict,
  CourseEvaluation,
  Criterion,
  DrugId,
  EasiBand,
  Flag,
  LabStatus,
  MeasureAtCheckpoint,
  MeasureStatus,
  PatientEvaluation,
} from "../clinical/types";
import { computeMeasure, periodMonths, type MeasureResult, type PatientFacts, type ReportFilters, type ReportPatient, type ReportPeriod } from "./compute";
import { MEASURES, REPORTS_VERSION, type ExclusionReason, type MeasureId } from "./measures";

// Hand-made engine outputs, in the section-7 vocabulary, with the reference's windows (days from start).
const AS_OF = "2026-11-01";
const PERIOD: ReportPeriod = { from: "2026-01-01", to: "2026-10-31" };
const WINDOWS: Record<number, [number, number]> = { 2: [8, 21], 4: [22, 42], 8: [43, 70], 12: [71, 98], 16: [99, 140], 24: [141, 196] };

function courseOf(drug: DrugId, start: string, over: Partial<CourseEvaluation> = {}): CourseEvaluation {
  return { drug, route: drug === "ruxolitinib-cream" ? "topical" : "oral", start, end: null, startSource: "MedicationRequest/mr-1", checkpoints: [], labs: [], ...over };
}

function checkpointOf(start: string, week: number, verdict: CheckpointVerdict, measures: Partial<Record<CheckpointMeasure, MeasureAtCheckpoint>> = {}): CheckpointEvaluation {
  const [from, to] = WINDOWS[week]!;
  return { week, windowStart: addDays(start, from), windowEnd: addDays(start, to), verdict, measures, targetDate: addDays(start, week * 7) };
}

function measureOf(criterion: Criterion, status: MeasureStatus, baseline: number | null, value: number | null, band?: EasiBand | null): MeasureAtCheckpoint {
  const m: MeasureAtCheckpoint = { criterion, status, baseline, value, improvement: baseline !== null && value !== null ? baseline - value : null };
  if (criterion === "easi-50") {
    m.band = band ?? null;
    m.percentImprovement = baseline !== null && value !== null && baseline > 0 ? ((baseline - value) / baseline) * 100 : null;
  }
  return m;
}

function easi(baseline: number | null, value: number | null): MeasureAtCheckpoint {
  if (baseline === null) return measureOf("easi-50", "no-baseline", null, value);
  if (baseline <= 0) return measureOf("easi-50", "not-applicable", baseline, value);
  if (value === null) return measureOf("easi-50", "no-value", baseline, null);
  const pct = ((baseline - value) / baseline) * 100;
  const band: EasiBand = pct >= 90 ? "EASI-90" : pct >= 75 ? "EASI-75" : pct >= 50 ? "EASI-50" : "below-EASI-50";
  return measureOf("easi-50", pct >= 50 ? "met" : "not-met", baseline, value, band);
}

function labOf(start: string, requirement: string, status: LabStatus): CourseEvaluation["labs"][number] {
  const phase = requirement.split(":")[0];
  if (phase === "baseline") return { requirement, status, dueBy: addDays(start, 3), windowStart: addDays(start, -90), windowEnd: addDays(start, 3) };
  if (phase === "week-4") return { requirement, status, dueBy: addDays(start, 42), windowStart: addDays(start, 14), windowEnd: addDays(start, 42) };
  if (phase === "week-12") return { requirement, status, dueBy: addDays(start, 112), windowStart: addDays(start, 56), windowEnd: addDays(start, 112) };
  return { requirement, status, dueBy: addDays(start, 196), windowStart: addDays(start, 113), windowEnd: addDays(start, 224), occurrence: 1 };
}

function patientOf(patientId: string, courses: CourseEvaluation[], options: { flags?: Flag[]; facts?: PatientFacts; asOf?: string; source?: string } = {}): ReportPatient {
  const evaluation: PatientEvaluation = { patientId, courses, flags: options.flags ?? [], dataQuality: [] };
  return { source: options.source ?? "main", asOf: options.asOf ?? AS_OF, evaluation, facts: options.facts ?? { prescribers: courses.map(() => "Dr Derm"), zosterVaccinations: [], labResults: [] } };
}

function compute(measureId: MeasureId, patients: ReportPatient[], filters?: ReportFilters, period: ReportPeriod = PERIOD): MeasureResult {
  return computeMeasure(measureId, patients, { period, ...(filters ? { filters } : {}) });
}

/** The one case of a single-patient computation: whether it is in the numerator and why it was left out. */
function onlyCase(result: MeasureResult): { inNumerator: boolean; excludedReason: ExclusionReason | undefined } {
  expect(result.patients).toHaveLength(1);
  const row = result.patients[0]!;
  return { inNumerator: row.inNumerator, excludedReason: row.excludedReason };
}

const IN_NUMERATOR = { inNumerator: true, excludedReason: undefined };
const IN_DENOMINATOR_ONLY = { inNumerator: false, excludedReason: undefined };
const excludedFor = (reason: ExclusionReason) => ({ inNumerator: false, excludedReason: reason });

const UPA_BASELINE = ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver"];

describe("the measure catalogue", () => {
  it("defines the eight measures of issue 9 in order, each with its texts, period and a clinical-reference source", () => {
    expect(MEASURES.map((m) => m.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(MEASURES.map((m) => m.id)).size).toBe(8);
    for (const m of MEASURES) {
      for (const text of [m.title, m.description, m.initialPopulation, m.denominator, m.numerator, m.period.description]) expect(text.length).toBeGreaterThan(10);
      expect(m.sources.some((s) => s.kind === "reference" && s.citation.startsWith("clinical-reference.md section"))).toBe(true);
      expect(new Set(m.exclusions.map((e) => e.reason)).size).toBe(m.exclusions.length);
    }
  });

  it("reports every exclusion reason of the definition, with zero counts, and the rules version", () => {
    const result = compute("easi-75-primary", []);
    expect(result.exclusions.map((e) => [e.reason, e.count])).toEqual([
      ["window-after-course-end", 0],
      ["not-yet-due", 0],
      ["window-open", 0],
      ["no-baseline", 0],
      ["no-value", 0],
    ]);
    expect(result).toMatchObject({ reportsVersion: REPORTS_VERSION, numerator: 0, denominator: 0, rate: null, initialPopulation: 0 });
  });
});

describe("1. baseline safety screening", () => {
  const start = "2026-05-04";
  const screened = (status: (req: string) => LabStatus, drug: DrugId = "upadacitinib", requirements = UPA_BASELINE) =>
    courseOf(drug, start, { labs: requirements.map((lab) => labOf(start, `baseline:${lab}`, status(lab))) });

  it("upadacitinib-all-baseline-screening-done-in-numerator", () => {
    expect(onlyCase(compute("baseline-screening", [patientOf("p1", [screened(() => "done")])]))).toEqual(IN_NUMERATOR);
  });

  it("upadacitinib-baseline-tb-missing-not-in-numerator", () => {
    const result = compute("baseline-screening", [patientOf("p1", [screened((lab) => (lab === "tb-screen" ? "missing" : "done"))])]);
    expect(onlyCase(result)).toEqual(IN_DENOMINATOR_ONLY);
    expect(result).toMatchObject({ numerator: 0, denominator: 1, rate: 0 });
  });

  it("pregnancy-test-missing-does-not-fail-screening", () => {
    const course = screened(() => "done");
    course.labs.push(labOf(start, "baseline:pregnancy", "missing"));
    expect(onlyCase(compute("baseline-screening", [patientOf("p1", [course])]))).toEqual(IN_NUMERATOR);
  });

  it("abrocitinib-started-two-days-before-evaluation-screening-due-excluded-window-open", () => {
    const recent = "2026-10-30";
    const course = courseOf("abrocitinib", recent, { labs: ["tb-screen", "cbc"].map((lab) => labOf(recent, `baseline:${lab}`, lab === "cbc" ? "due" : "done")) });
    const result = compute("baseline-screening", [patientOf("p1", [course])]);
    expect(onlyCase(result)).toEqual(excludedFor("baseline-window-open"));
    expect(result.exclusions.find((e) => e.reason === "baseline-window-open")?.count).toBe(1);
    expect(result.denominator).toBe(0);
  });

  it("oral-course-without-baseline-requirements-excluded-no-requirements", () => {
    expect(onlyCase(compute("baseline-screening", [patientOf("p1", [courseOf("baricitinib", start)])]))).toEqual(excludedFor("no-requirements"));
  });

  it("ruxolitinib-cream-course-not-in-population", () => {
    expect(compute("baseline-screening", [patientOf("p1", [courseOf("ruxolitinib-cream", start)])]).initialPopulation).toBe(0);
  });

  it("course-started-before-the-period-not-in-population", () => {
    const early = "2025-12-31";
    const course = courseOf("upadacitinib", early, { labs: [labOf(early, "baseline:cbc", "done")] });
    expect(compute("baseline-screening", [patientOf("p1", [course])]).initialPopulation).toBe(0);
  });

  it("switch-to-a-second-oral-jak-counts-as-its-own-course", () => {
    const first = screened(() => "done");
    first.end = "2026-08-01";
    const second = courseOf("abrocitinib", "2026-08-01", { labs: [labOf("2026-08-01", "baseline:cbc", "missing")] });
    const result = compute("baseline-screening", [patientOf("p1", [first, second])]);
    expect(result.patients.map((r) => [r.courseIndex, r.drug, r.inNumerator])).toEqual([
      [0, "upadacitinib", true],
      [1, "abrocitinib", false],
    ]);
    expect(result.strata.map((s) => [s.key, s.numerator, s.denominator])).toEqual([
      ["upadacitinib", 1, 1],
      ["abrocitinib", 0, 1],
    ]);
  });
});

describe("2. follow-up labs on time", () => {
  const start = "2026-03-02";
  const caseFor = (course: CourseEvaluation, requirement: string, asOf = AS_OF) => {
    const row = compute("follow-up-labs", [patientOf("p1", [course], { asOf })]).patients.find((r) => r.item === requirement);
    return row ? { inNumerator: row.inNumerator, excludedReason: row.excludedReason } : null;
  };

  it("abrocitinib-week-4-cbc-done-in-numerator", () => {
    expect(caseFor(courseOf("abrocitinib", start, { labs: [labOf(start, "week-4:cbc", "done")] }), "week-4:cbc")).toEqual(IN_NUMERATOR);
  });

  it("upadacitinib-week-12-lipids-overdue-in-denominator-not-numerator", () => {
    expect(caseFor(courseOf("upadacitinib", start, { labs: [labOf(start, "week-12:lipids", "overdue")] }), "week-12:lipids")).toEqual(IN_DENOMINATOR_ONLY);
  });

  it("week-12-lipids-window-still-open-excluded-window-open", () => {
    // Evaluated on 2026-10-01: the window (to start + 112 = 2026-10-21) is still open.
    const recent = "2026-07-01";
    expect(caseFor(courseOf("baricitinib", recent, { labs: [labOf(recent, "week-12:lipids", "due")] }), "week-12:lipids", "2026-10-01")).toEqual(excludedFor("window-open"));
  });

  it("periodic-cbc-not-yet-due-excluded-not-yet-due", () => {
    const recent = "2026-07-01";
    const course = courseOf("upadacitinib", recent, { labs: [{ ...labOf(recent, "periodic:cbc", "not-due") }] });
    const result = compute("follow-up-labs", [patientOf("p1", [course])], undefined, { from: "2026-01-01", to: "2027-03-31" });
    expect(onlyCase(result)).toEqual(excludedFor("not-yet-due"));
  });

  it("stopped-course-periodic-liver-overdue-excluded-course-ended-before-window-closed", () => {
    const early = "2025-11-01";
    const course = courseOf("upadacitinib", early, { end: addDays(early, 160), labs: [labOf(early, "periodic:liver", "overdue")] });
    expect(caseFor(course, "periodic:liver")).toEqual(excludedFor("course-ended-before-window-closed"));
  });

  it("stopped-course-lab-done-before-the-stop-still-counts-on-time", () => {
    const course = courseOf("abrocitinib", start, { end: addDays(start, 30), labs: [labOf(start, "week-4:lipids", "done")] });
    expect(caseFor(course, "week-4:lipids")).toEqual(IN_NUMERATOR);
  });

  it("baseline-requirements-are-not-follow-up-labs", () => {
    expect(caseFor(courseOf("abrocitinib", start, { labs: [labOf(start, "baseline:cbc", "missing")] }), "baseline:cbc")).toBeNull();
  });

  it("a-requirement-counts-in-the-month-of-its-due-date-and-strata-list-requirements-by-phase", () => {
    const course = courseOf("abrocitinib", start, {
      labs: [labOf(start, "periodic:cbc", "done"), labOf(start, "week-4:lipids", "overdue"), labOf(start, "week-4:cbc", "done")],
    });
    const result = compute("follow-up-labs", [patientOf("p1", [course])]);
    expect(result.strata.map((s) => s.key)).toEqual(["week-4:cbc", "week-4:lipids", "periodic:cbc"]);
    expect(result).toMatchObject({ numerator: 2, denominator: 3 });
    const april = result.trend.find((t) => t.month === "2026-04");
    expect(april).toEqual({ month: "2026-04", numerator: 1, denominator: 2, rate: 0.5 }); // due start + 42 = 2026-04-13
    expect(result.trend.find((t) => t.month === addDays(start, 196).slice(0, 7))).toMatchObject({ numerator: 1, denominator: 1 });
  });
});

describe("3. response assessed at the primary checkpoint", () => {
  const start = "2026-03-02";
  const one = (course: CourseEvaluation, asOf = AS_OF) => onlyCase(compute("response-assessed", [patientOf("p1", [course], { asOf })]));

  it("upadacitinib-easi-in-week-16-window-in-numerator", () => {
    const cp = checkpointOf(start, 16, "responded", { easi: easi(20, 4), iga: measureOf("iga-success", "no-value", 3, null), itch: measureOf("itch-4", "no-value", 7, null) });
    expect(one(courseOf("upadacitinib", start, { checkpoints: [cp] }))).toEqual(IN_NUMERATOR);
  });

  it("iga-without-baseline-still-counts-as-assessed", () => {
    const cp = checkpointOf(start, 16, "not-assessable", { easi: easi(null, null), iga: measureOf("iga-success", "no-baseline", null, 2) });
    expect(one(courseOf("abrocitinib", start, { checkpoints: [cp] }))).toEqual(IN_NUMERATOR);
  });

  it("itch-only-at-week-16-window-closed-not-in-numerator", () => {
    const cp = checkpointOf(start, 16, "not-responded", { easi: easi(20, null), iga: measureOf("iga-success", "no-value", 3, null), itch: measureOf("itch-4", "not-met", 7, 5) });
    expect(one(courseOf("upadacitinib", start, { checkpoints: [cp] }))).toEqual(IN_DENOMINATOR_ONLY);
  });

  it("responded-early-on-itch-with-no-easi-yet-excluded-window-open", () => {
    const cp = checkpointOf(start, 16, "responded", { easi: easi(20, null), iga: measureOf("iga-success", "no-value", 3, null), itch: measureOf("itch-4", "met", 8, 2) });
    expect(one(courseOf("upadacitinib", start, { checkpoints: [cp] }), addDays(start, 110))).toEqual(excludedFor("window-open"));
  });

  it("week-16-window-not-yet-open-excluded-not-yet-due", () => {
    const cp = checkpointOf(start, 16, "not-due");
    expect(one(courseOf("upadacitinib", start, { checkpoints: [cp] }), addDays(start, 90))).toEqual(excludedFor("not-yet-due"));
  });

  it("course-stopped-before-week-16-window-excluded-window-after-course-end", () => {
    const cp = checkpointOf(start, 16, "not-assessable", { easi: easi(20, null) });
    expect(one(courseOf("upadacitinib", start, { end: addDays(start, 80), checkpoints: [cp] }))).toEqual(excludedFor("window-after-course-end"));
  });

  it("course-stopped-inside-the-window-without-easi-or-iga-not-in-numerator", () => {
    const cp = checkpointOf(start, 16, "not-assessable", { easi: easi(20, null), iga: measureOf("iga-success", "no-value", 3, null) });
    // Evaluated before the window's own end but after the course's: the window closed with the course.
    expect(one(courseOf("upadacitinib", start, { end: addDays(start, 105), checkpoints: [cp] }), addDays(start, 120))).toEqual(IN_DENOMINATOR_ONLY);
  });

  it("ruxolitinib-cream-is-judged-at-week-8-not-week-16", () => {
    const course = courseOf("ruxolitinib-cream", start, {
      checkpoints: [checkpointOf(start, 8, "responded", { iga: measureOf("iga-improved", "met", 3, 1) })],
    });
    const result = compute("response-assessed", [patientOf("p1", [course])]);
    expect(result.patients.map((r) => [r.item, r.date, r.inNumerator])).toEqual([["week-8", addDays(start, 56), true]]);
  });
});

describe("4. EASI-75 at the primary checkpoint", () => {
  const start = "2026-03-02";
  const one = (cp: CheckpointEvaluation, drug: DrugId = "upadacitinib", end: string | null = null) =>
    onlyCase(compute("easi-75-primary", [patientOf("p1", [courseOf(drug, start, { end, checkpoints: [cp] })])]));

  it("easi-90-at-week-16-in-numerator", () => expect(one(checkpointOf(start, 16, "responded", { easi: easi(20, 1) }))).toEqual(IN_NUMERATOR));
  it("easi-exactly-75-percent-in-numerator", () => expect(one(checkpointOf(start, 16, "responded", { easi: easi(20, 5) }))).toEqual(IN_NUMERATOR));
  it("easi-60-percent-responded-but-not-in-numerator", () => expect(one(checkpointOf(start, 16, "responded", { easi: easi(20, 8) }))).toEqual(IN_DENOMINATOR_ONLY));
  it("no-easi-baseline-excluded-no-baseline", () => expect(one(checkpointOf(start, 16, "not-assessable", { easi: easi(null, 6) }))).toEqual(excludedFor("no-baseline")));
  it("easi-baseline-zero-excluded-no-baseline", () => expect(one(checkpointOf(start, 16, "not-assessable", { easi: easi(0, 0) }))).toEqual(excludedFor("no-baseline")));
  it("no-easi-in-window-excluded-no-value", () => expect(one(checkpointOf(start, 16, "not-responded", { easi: easi(20, null), itch: measureOf("itch-4", "not-met", 7, 6) }))).toEqual(excludedFor("no-value")));
  it("window-open-excluded-window-open", () => expect(one(checkpointOf(start, 16, "open", { easi: easi(20, 9) }))).toEqual(excludedFor("window-open")));
  it("window-not-open-excluded-not-yet-due", () => expect(one(checkpointOf(start, 16, "not-due"))).toEqual(excludedFor("not-yet-due")));
  it("stopped-before-the-window-excluded-window-after-course-end", () =>
    expect(one(checkpointOf(start, 16, "not-assessable", { easi: easi(20, null) }), "upadacitinib", addDays(start, 60))).toEqual(excludedFor("window-after-course-end")));

  it("reports-by-drug-with-cream-at-week-8", () => {
    const patients = [
      patientOf("p1", [courseOf("upadacitinib", start, { checkpoints: [checkpointOf(start, 16, "responded", { easi: easi(20, 2) })] })]),
      patientOf("p2", [courseOf("upadacitinib", start, { checkpoints: [checkpointOf(start, 16, "not-responded", { easi: easi(20, 15) })] })]),
      patientOf("p3", [courseOf("ruxolitinib-cream", start, { checkpoints: [checkpointOf(start, 8, "responded", { easi: easi(10, 2) }), checkpointOf(start, 16, "responded", { easi: easi(10, 9) })] })]),
    ];
    const result = compute("easi-75-primary", patients);
    expect(result.strata.map((s) => [s.key, s.label, s.numerator, s.denominator, s.rate])).toEqual([
      ["upadacitinib", "Upadacitinib", 1, 2, 0.5],
      ["ruxolitinib-cream", "Ruxolitinib cream", 1, 1, 1],
    ]);
    expect(result).toMatchObject({ numerator: 2, denominator: 3 });
  });
});

describe("5. itch and skin-pain response", () => {
  const start = "2026-03-02";
  const rowsFor = (checkpoints: CheckpointEvaluation[]) =>
    Object.fromEntries(compute("symptom-response", [patientOf("p1", [courseOf("abrocitinib", start, { checkpoints })])]).patients.map((r) => [r.stratum, { inNumerator: r.inNumerator, excludedReason: r.excludedReason }]));

  it("itch-4-points-better-at-week-4-in-numerator", () => {
    expect(rowsFor([checkpointOf(start, 4, "responded", { itch: measureOf("itch-4", "met", 8, 3) })]).itch).toEqual(IN_NUMERATOR);
  });
  it("itch-3-points-better-at-week-4-not-in-numerator", () => {
    expect(rowsFor([checkpointOf(start, 4, "not-responded", { itch: measureOf("itch-4", "not-met", 8, 5) })]).itch).toEqual(IN_DENOMINATOR_ONLY);
  });
  it("itch-baseline-3-excluded-baseline-below-threshold", () => {
    expect(rowsFor([checkpointOf(start, 4, "not-assessable", { itch: measureOf("itch-4", "not-applicable", 3, 1) })]).itch).toEqual(excludedFor("baseline-below-threshold"));
  });
  it("no-itch-baseline-excluded-no-baseline", () => {
    expect(rowsFor([checkpointOf(start, 4, "not-assessable", { itch: measureOf("itch-4", "no-baseline", null, 2) })]).itch).toEqual(excludedFor("no-baseline"));
  });
  it("no-itch-value-at-week-4-excluded-no-value", () => {
    expect(rowsFor([checkpointOf(start, 4, "not-assessable", { itch: measureOf("itch-4", "no-value", 7, null) })]).itch).toEqual(excludedFor("no-value"));
  });
  it("skin-pain-3-points-better-at-week-2-in-numerator-even-when-itch-did-not-respond", () => {
    const rows = rowsFor([checkpointOf(start, 2, "responded", { pain: measureOf("pain-3", "met", 6, 2), itch: measureOf("itch-4", "not-met", 8, 7) })]);
    expect(rows.pain).toEqual(IN_NUMERATOR);
    expect(rows.itch).toBeUndefined(); // itch is judged at week 4, not at week 2
  });
  it("skin-pain-baseline-2-excluded-baseline-below-threshold", () => {
    expect(rowsFor([checkpointOf(start, 2, "not-responded", { pain: measureOf("pain-3", "not-applicable", 2, 0), itch: measureOf("itch-4", "not-met", 8, 7) })]).pain).toEqual(excludedFor("baseline-below-threshold"));
  });
  it("week-2-window-open-excluded-window-open", () => {
    expect(rowsFor([checkpointOf(start, 2, "open", { pain: measureOf("pain-3", "not-met", 6, 5) })]).pain).toEqual(excludedFor("window-open"));
  });
  it("week-4-not-yet-open-excluded-not-yet-due", () => {
    expect(rowsFor([checkpointOf(start, 4, "not-due")]).itch).toEqual(excludedFor("not-yet-due"));
  });
  it("stopped-before-week-4-window-excluded-window-after-course-end", () => {
    const cp = checkpointOf(start, 4, "not-assessable", { itch: measureOf("itch-4", "no-value", 8, null) });
    const result = compute("symptom-response", [patientOf("p1", [courseOf("abrocitinib", start, { end: addDays(start, 18), checkpoints: [cp] })])]);
    expect(onlyCase(result)).toEqual(excludedFor("window-after-course-end"));
  });
  it("pools-both-symptoms-in-the-total-and-splits-them-in-strata", () => {
    const result = compute("symptom-response", [
      patientOf("p1", [courseOf("abrocitinib", start, { checkpoints: [checkpointOf(start, 2, "responded", { pain: measureOf("pain-3", "met", 6, 1) }), checkpointOf(start, 4, "not-responded", { itch: measureOf("itch-4", "not-met", 8, 6) })] })]),
    ]);
    expect(result.strata.map((s) => [s.key, s.numerator, s.denominator])).toEqual([
      ["itch", 0, 1],
      ["pain", 1, 1],
    ]);
    expect(result).toMatchObject({ numerator: 1, denominator: 2, rate: 0.5 });
  });
});

describe("6. not responded at week 16 and still on the same JAK 8 weeks later", () => {
  const start = "2026-01-05";
  const notResponded = () => checkpointOf(start, 16, "not-responded", { easi: easi(20, 18) });
  const one = (course: CourseEvaluation, asOf = AS_OF) => onlyCase(compute("possible-missed-switch", [patientOf("p1", [course], { asOf })]));

  it("week-16-non-responder-still-on-upadacitinib-at-week-24-in-numerator", () => {
    expect(one(courseOf("upadacitinib", start, { checkpoints: [notResponded()] }))).toEqual(IN_NUMERATOR);
  });
  it("week-16-non-responder-switched-at-day-150-not-in-numerator", () => {
    expect(one(courseOf("upadacitinib", start, { end: addDays(start, 150), checkpoints: [notResponded()] }))).toEqual(IN_DENOMINATOR_ONLY);
  });
  it("course-ending-on-day-168-counts-as-still-on", () => {
    expect(one(courseOf("baricitinib", start, { end: addDays(start, 168), checkpoints: [notResponded()] }))).toEqual(IN_NUMERATOR);
  });
  it("evaluated-before-day-168-excluded-not-yet-observable", () => {
    expect(one(courseOf("abrocitinib", start, { checkpoints: [notResponded()] }), addDays(start, 150))).toEqual(excludedFor("not-yet-observable"));
  });
  it("week-16-responder-or-not-assessable-not-in-population", () => {
    const result = compute("possible-missed-switch", [
      patientOf("p1", [courseOf("upadacitinib", start, { checkpoints: [checkpointOf(start, 16, "responded", { easi: easi(20, 5) })] })]),
      patientOf("p2", [courseOf("upadacitinib", start, { checkpoints: [checkpointOf(start, 16, "not-assessable", { easi: easi(null, 5) })] })]),
    ]);
    expect(result.initialPopulation).toBe(0);
  });
  it("week-24-date-outside-the-period-not-in-population", () => {
    expect(compute("possible-missed-switch", [patientOf("p1", [courseOf("upadacitinib", "2025-06-01", { checkpoints: [checkpointOf("2025-06-01", 16, "not-responded")] })])]).initialPopulation).toBe(0);
  });
  it("is-an-inverse-measure", () => {
    expect(MEASURES.find((m) => m.id === "possible-missed-switch")?.improvementNotation).toBe("decrease");
  });
});

describe("7. abnormal safety lab without a repeat within 4 weeks", () => {
  const start = "2026-02-02";
  const lowAnc = "2026-04-01";
  const ancFlag = (course = 0, resource = "Observation/anc-1"): Flag => ({ ruleId: "abnormal.anc-low", kind: "abnormal-lab", severity: "critical", message: "ANC low", source: "label", sourceLabel: "label", sourceUrl: "https://example.org/label", resource, course });
  const withLabs = (labResults: PatientFacts["labResults"], flags: Flag[] = [ancFlag()], asOf = AS_OF, courses = [courseOf("upadacitinib", start)]) =>
    compute("abnormal-lab-no-repeat", [patientOf("p1", courses, { flags, asOf, facts: { labResults, zosterVaccinations: [], prescribers: courses.map(() => null) } })]);
  const abnormal = { resource: "Observation/anc-1", lab: "anc" as const, date: lowAnc };

  it("low-neutrophils-never-repeated-in-numerator", () => {
    const result = withLabs([abnormal, { resource: "Observation/anc-0", lab: "anc", date: "2026-01-20" }]);
    expect(onlyCase(result)).toEqual(IN_NUMERATOR);
    expect(result.patients[0]).toMatchObject({ date: lowAnc, item: "Observation/anc-1", drug: "upadacitinib" });
  });
  it("low-neutrophils-repeated-on-day-20-not-in-numerator", () => {
    expect(onlyCase(withLabs([abnormal, { resource: "Observation/anc-2", lab: "anc", date: addDays(lowAnc, 20) }]))).toEqual(IN_DENOMINATOR_ONLY);
  });
  it("repeat-on-day-28-is-within-4-weeks", () => {
    expect(onlyCase(withLabs([abnormal, { resource: "Observation/anc-2", lab: "anc", date: addDays(lowAnc, 28) }]))).toEqual(IN_DENOMINATOR_ONLY);
  });
  it("repeat-on-day-29-is-too-late-in-numerator", () => {
    expect(onlyCase(withLabs([abnormal, { resource: "Observation/anc-2", lab: "anc", date: addDays(lowAnc, 29) }]))).toEqual(IN_NUMERATOR);
  });
  it("same-day-result-or-another-analyte-is-no-repeat", () => {
    const labs = [abnormal, { resource: "Observation/anc-2", lab: "anc" as const, date: lowAnc }, { resource: "Observation/hb-2", lab: "hemoglobin" as const, date: addDays(lowAnc, 7) }];
    expect(onlyCase(withLabs(labs))).toEqual(IN_NUMERATOR);
  });
  it("fewer-than-28-days-since-and-no-repeat-excluded-window-open", () => {
    expect(onlyCase(withLabs([abnormal], [ancFlag()], addDays(lowAnc, 27)))).toEqual(excludedFor("window-open"));
  });
  it("high-alt-repeated-by-an-ast-not-in-numerator", () => {
    const flag: Flag = { ruleId: "abnormal.transaminase-high", kind: "abnormal-lab", severity: "warning", message: "ALT high", source: "label", sourceLabel: "label", sourceUrl: "https://example.org/label", resource: "Observation/alt-1", course: 0 };
    const labs = [{ resource: "Observation/alt-1", lab: "alt" as const, date: lowAnc }, { resource: "Observation/ast-2", lab: "ast" as const, date: addDays(lowAnc, 14) }];
    expect(onlyCase(withLabs(labs, [flag]))).toEqual(IN_DENOMINATOR_ONLY);
  });
  it("a-result-flagged-for-two-courses-counts-once-for-the-course-running-on-its-date", () => {
    const courses = [courseOf("upadacitinib", start, { end: "2026-05-01" }), courseOf("abrocitinib", "2026-05-04")];
    const result = withLabs([abnormal], [ancFlag(1), ancFlag(0)], AS_OF, courses);
    expect(result.patients.map((r) => [r.courseIndex, r.drug])).toEqual([[0, "upadacitinib"]]);
  });
  it("an-abnormal-result-missing-from-the-lab-facts-becomes-a-data-note", () => {
    const result = withLabs([]);
    expect(result.initialPopulation).toBe(0);
    expect(result.dataNotes).toEqual([{ patientId: "p1", source: "main", resource: "Observation/anc-1", issue: expect.stringContaining("date is unknown") }]);
  });
  it("refuses-a-patient-with-abnormal-flags-but-no-lab-facts", () => {
    const patient = patientOf("p1", [courseOf("upadacitinib", start)], { flags: [ancFlag()], facts: { zosterVaccinations: [] } });
    expect(() => compute("abnormal-lab-no-repeat", [patient])).toThrow(/facts.labResults/);
  });
  it("result-dated-before-the-period-not-in-population", () => {
    expect(withLabs([{ ...abnormal, date: "2025-12-20" }]).initialPopulation).toBe(0);
  });
});

describe("8. zoster vaccination before or during an oral JAK", () => {
  const start = "2026-04-01";
  const one = (zosterVaccinations: PatientFacts["zosterVaccinations"], course = courseOf("upadacitinib", start)) =>
    onlyCase(compute("zoster-vaccination", [patientOf("p1", [course], { facts: { zosterVaccinations } })]));

  it("recombinant-zoster-before-the-start-in-numerator", () => expect(one([{ date: "2025-10-01", live: false }])).toEqual(IN_NUMERATOR));
  it("zoster-on-the-start-day-in-numerator", () => expect(one([{ date: start, live: false }])).toEqual(IN_NUMERATOR));
  it("recombinant-zoster-during-the-course-in-numerator", () => expect(one([{ date: "2026-06-01", live: false }])).toEqual(IN_NUMERATOR));
  it("live-zoster-before-the-start-in-numerator", () => expect(one([{ date: "2020-06-01", live: true }])).toEqual(IN_NUMERATOR));
  it("live-zoster-during-the-course-not-in-numerator", () => expect(one([{ date: "2026-06-01", live: true }])).toEqual(IN_DENOMINATOR_ONLY));
  it("zoster-after-the-course-ended-not-in-numerator", () =>
    expect(one([{ date: "2026-09-01", live: false }], courseOf("abrocitinib", start, { end: "2026-08-01" }))).toEqual(IN_DENOMINATOR_ONLY));
  it("no-zoster-vaccination-not-in-numerator", () => expect(one([])).toEqual(IN_DENOMINATOR_ONLY));
  it("ruxolitinib-cream-not-in-population", () => {
    expect(compute("zoster-vaccination", [patientOf("p1", [courseOf("ruxolitinib-cream", start)])]).initialPopulation).toBe(0);
  });
  it("refuses-a-patient-without-vaccination-facts", () => {
    expect(() => compute("zoster-vaccination", [patientOf("p1", [courseOf("upadacitinib", start)], { facts: {} })])).toThrow(/facts.zosterVaccinations/);
  });
});

describe("filters, period and trend", () => {
  const start = "2026-03-02";
  const screenedCourse = (drug: DrugId, status: LabStatus) => courseOf(drug, start, { labs: [labOf(start, "baseline:cbc", status)] });
  const patients = [
    patientOf("p1", [screenedCourse("upadacitinib", "done")], { source: "main", facts: { prescribers: ["Dr A"] } }),
    patientOf("p2", [screenedCourse("abrocitinib", "missing")], { source: "main", facts: { prescribers: ["Dr B"] } }),
    patientOf("p3", [screenedCourse("upadacitinib", "missing")], { source: "north", facts: { prescribers: [null] } }),
  ];
  const ids = (filters: ReportFilters) => compute("baseline-screening", patients, filters).patients.map((r) => r.patientId);

  it("filters-by-drug-route-prescriber-and-source-on-the-course", () => {
    expect(ids({ drug: "upadacitinib" })).toEqual(["p1", "p3"]);
    expect(ids({ route: "topical" })).toEqual([]);
    expect(ids({ prescriber: "Dr B" })).toEqual(["p2"]);
    expect(ids({ source: "north" })).toEqual(["p3"]);
    expect(compute("baseline-screening", patients, { drug: "upadacitinib", source: "main" }).filters).toEqual({ drug: "upadacitinib", source: "main" });
  });

  it("refuses-a-prescriber-filter-when-prescribers-were-not-given", () => {
    expect(() => compute("baseline-screening", [patientOf("p1", [screenedCourse("upadacitinib", "done")], { facts: {} })], { prescriber: "Dr A" })).toThrow(/facts.prescribers/);
  });

  it("gives-one-trend-point-per-month-of-the-period-with-empty-months-at-zero", () => {
    const result = compute("baseline-screening", patients, undefined, { from: "2026-02-15", to: "2026-04-10" });
    expect(result.trend).toEqual([
      { month: "2026-02", numerator: 0, denominator: 0, rate: null },
      { month: "2026-03", numerator: 1, denominator: 3, rate: 1 / 3 },
      { month: "2026-04", numerator: 0, denominator: 0, rate: null },
    ]);
    expect(result.rate).toBeCloseTo(1 / 3);
  });

  it("counts-the-period-days-inclusively", () => {
    expect(compute("baseline-screening", patients, undefined, { from: start, to: start }).initialPopulation).toBe(3);
    expect(compute("baseline-screening", patients, undefined, { from: addDays(start, 1), to: "2026-12-31" }).initialPopulation).toBe(0);
  });

  it("lists-months-across-a-year-end", () => {
    expect(periodMonths({ from: "2025-11-30", to: "2026-02-01" })).toEqual(["2025-11", "2025-12", "2026-01", "2026-02"]);
  });

  it("rejects-a-period-that-is-not-two-ordered-dates", () => {
    expect(() => compute("baseline-screening", patients, undefined, { from: "2026-02-30", to: "2026-03-01" })).toThrow(RangeError);
    expect(() => compute("baseline-screening", patients, undefined, { from: "2026-03-02", to: "2026-03-01" })).toThrow(/after it ends/);
  });

  it("accepts-patients-from-a-generator-in-one-pass", () => {
    function* stream() {
      yield* patients;
    }
    expect(computeMeasure("baseline-screening", stream(), { period: PERIOD }).initialPopulation).toBe(3);
  });
});
