import type { Patient, Resource } from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { evaluatePatient, RULES_VERSION } from "../clinical";
import { baselineLabs, day, labObs, patient, request, S, score, statement } from "../clinical/fixtures/scenarios";
import type { CourseEvaluation, PatientEvaluation } from "../clinical/types";
import { evaluationRows, findPatient } from "./evaluation-row";

const SOURCE = "clinic-a";

function rowsFor(resources: Array<Record<string, unknown>>, asOf: string) {
  const list = resources as unknown as Resource[];
  const evaluation = evaluatePatient(list, { asOf, patientId: "p1", details: false });
  return evaluationRows(evaluation, { source: SOURCE, asOf, rulesVersion: RULES_VERSION, patient: findPatient(list, "p1"), resources: list });
}

function course(extra: Partial<CourseEvaluation>): CourseEvaluation {
  return { drug: "upadacitinib", route: "oral", start: "2026-03-02", end: null, startSource: "MedicationStatement/ms1", checkpoints: [], labs: [], ...extra };
}

function handMade(courses: CourseEvaluation[], extra: Partial<PatientEvaluation> = {}): PatientEvaluation {
  return { patientId: "p1", courses, flags: [], dataQuality: [], ...extra };
}

const rowsOf = (evaluation: PatientEvaluation, asOf: string, resources: Resource[] = [], patientResource: Patient | null = null) =>
  evaluationRows(evaluation, { source: SOURCE, asOf, rulesVersion: RULES_VERSION, patient: patientResource, resources });

describe("evaluationRows", () => {
  it("describes a responder on a current oral course: drug, week, latest verdict and the checkpoint's numbers", () => {
    const { evaluation, checkpoints } = rowsFor([patient(), statement("upadacitinib", 0), ...baselineLabs(), score("easi", -5, 24), score("easi", 112, 5)], day(150));
    expect(evaluation).toMatchObject({
      source: SOURCE,
      patientId: "p1",
      asOf: day(150),
      rulesVersion: RULES_VERSION,
      onJak: true,
      courseCount: 1,
      courseIndex: 0,
      drug: "upadacitinib",
      route: "oral",
      courseStart: S,
      courseEnd: null,
      courseWeek: 21,
      latestCheckpointWeek: 16,
      latestVerdict: "responded",
    });
    const week16 = checkpoints.find((c) => c.week === 16)!;
    expect(week16).toMatchObject({ courseIndex: 0, drug: "upadacitinib", route: "oral", courseStart: S, verdict: "responded", easiStatus: "met", easiBaseline: 24, easiValue: 5, easiBand: "EASI-75" });
    expect(week16.easiPercent).toBeCloseTo(79.2, 1);
    expect(checkpoints.map((c) => c.week)).toEqual([2, 4, 12, 16]);
  });

  it("counts flags by severity and kind for a non-responder", () => {
    const { evaluation, flags } = rowsFor([patient(), statement("upadacitinib", 0), ...baselineLabs(), score("easi", -5, 20), score("easi", 112, 14)], day(150));
    expect(evaluation.latestVerdict).toBe("not-responded");
    expect(evaluation.flagCounts["non-response"]).toBe(1);
    expect(evaluation.flagKinds).toContain("non-response");
    expect(evaluation.flagsCritical + evaluation.flagsWarning + evaluation.flagsInfo).toBe(flags.length);
    expect(evaluation.maxSeverity).not.toBeNull();
    expect(flags.map((f) => f.seq)).toEqual(flags.map((_, i) => i));
    const nonResponse = flags.find((f) => f.kind === "non-response")!;
    expect(nonResponse).toMatchObject({ courseIndex: 0, week: 16, ruleId: "upadacitinib.week-16.non-response" });
    expect(nonResponse.ruleSource).toBeTruthy();
  });

  it("takes name, birth date and sex from the Patient resource", () => {
    const { evaluation } = rowsFor([patient({ name: [{ given: ["Ada"], family: "Lovelace" }], gender: "female", birthDate: "1991-02-03" }), statement("upadacitinib", 0)], day(20));
    expect(evaluation).toMatchObject({ patientName: "Ada Lovelace", birthDate: "1991-02-03", sex: "female" });
  });

  it("leaves patient fields empty when there is no Patient resource", () => {
    const { evaluation } = rowsFor([statement("upadacitinib", 0)], day(20));
    expect(evaluation).toMatchObject({ patientName: null, birthDate: null, sex: null, onJak: true });
  });

  it("names the prescriber from the start request's requester display, else its reference", () => {
    const withDisplay = rowsFor([patient(), request("upadacitinib", 0, { requester: { reference: "Practitioner/pr1", display: "Dr. Mara Osei" } })], day(20));
    expect(withDisplay.evaluation.prescriber).toBe("Dr. Mara Osei");
    const referenceOnly = rowsFor([patient(), request("upadacitinib", 0, { requester: { reference: "Practitioner/pr1" } })], day(20));
    expect(referenceOnly.evaluation.prescriber).toBe("Practitioner/pr1");
  });

  it("names the prescriber of a statement-started course from its informationSource", () => {
    const { evaluation } = rowsFor([patient(), statement("upadacitinib", 0, { informationSource: { reference: "Practitioner/pr2" } })], day(20));
    expect(evaluation.prescriber).toBe("Practitioner/pr2");
  });

  it("dates a done lab requirement by its satisfying result and counts open labs of the current course", () => {
    const { evaluation, labs } = rowsFor([patient(), statement("abrocitinib", 0), ...baselineLabs(-10)], day(60));
    const cbc = labs.find((l) => l.requirement === "baseline:cbc")!;
    expect(cbc).toMatchObject({ courseIndex: 0, drug: "abrocitinib", status: "done", doneOn: day(-10) });
    const week4Cbc = labs.find((l) => l.requirement === "week-4:cbc")!;
    expect(week4Cbc.status).toBe("overdue");
    expect(week4Cbc.doneOn).toBeNull();
    expect(evaluation.labsOverdue).toBe(labs.filter((l) => l.status === "overdue").length);
    expect(evaluation.labsOverdue).toBeGreaterThan(0);
    expect(evaluation.labsDue).toBe(labs.filter((l) => l.status === "due").length);
  });

  it("counts an abnormal lab of the current course", () => {
    const { evaluation } = rowsFor([patient(), statement("abrocitinib", 0), ...baselineLabs(-10), labObs("777-3", 28, 45, "10*3/uL")], day(40));
    expect(evaluation.flagCounts["abnormal-lab"]).toBeGreaterThan(0);
    expect(evaluation.labsAbnormal).toBe(evaluation.flagCounts["abnormal-lab"]);
  });

  it("reports a course that ended before asOf as not on a JAK, without a week or a next due date", () => {
    const { evaluation } = rowsFor([patient(), statement("upadacitinib", 0, { status: "completed", effectivePeriod: { start: S, end: day(40) } })], day(200));
    expect(evaluation).toMatchObject({ onJak: false, courseEnd: day(40), courseWeek: null, nextDueDate: null, nextDueKind: null, drug: "upadacitinib" });
  });

  it("ignores checkpoints whose window opened after the course ended when picking the latest verdict", () => {
    const evaluation = handMade([
      course({
        end: "2026-04-20",
        checkpoints: [
          { week: 4, windowStart: "2026-03-24", windowEnd: "2026-04-13", verdict: "not-responded", measures: {} },
          { week: 16, windowStart: "2026-06-09", windowEnd: "2026-07-20", verdict: "not-assessable", measures: {} },
        ],
      }),
    ]);
    expect(rowsOf(evaluation, "2026-08-01").evaluation).toMatchObject({ latestCheckpointWeek: 4, latestVerdict: "not-responded" });
  });

  it("picks the earliest undecided checkpoint target or open lab due on or after asOf as next due", () => {
    const evaluation = handMade([
      course({
        checkpoints: [
          { week: 12, windowStart: "2026-05-12", windowEnd: "2026-06-08", verdict: "open", measures: {}, targetDate: "2026-05-25" },
          { week: 16, windowStart: "2026-06-09", windowEnd: "2026-07-20", verdict: "not-due", measures: {}, targetDate: "2026-06-22" },
        ],
        labs: [
          { requirement: "week-12:lipids", status: "due", dueBy: "2026-06-05" },
          { requirement: "week-4:cbc", status: "overdue", dueBy: "2026-04-13" },
          { requirement: "baseline:tb-screen", status: "done", dueBy: "2026-03-05" },
        ],
      }),
    ]);
    // The week-12 target (05-25) has passed while its window is still open: the lipids due date comes next.
    expect(rowsOf(evaluation, "2026-05-30").evaluation).toMatchObject({ nextDueDate: "2026-06-05", nextDueKind: "lab:week-12:lipids" });
    expect(rowsOf(evaluation, "2026-05-20").evaluation).toMatchObject({ nextDueDate: "2026-05-25", nextDueKind: "checkpoint:12" });
  });

  it("describes the latest course when a patient switched drugs, with rows for every course", () => {
    const evaluation = handMade([
      course({ drug: "abrocitinib", end: "2026-01-31", labs: [{ requirement: "baseline:cbc", status: "missing", dueBy: "2025-10-04" }] }),
      course({ drug: "baricitinib", start: "2026-02-01", labs: [{ requirement: "baseline:cbc", status: "due", dueBy: "2026-02-04" }] }),
    ]);
    const { evaluation: row, labs } = rowsOf(evaluation, "2026-02-02");
    expect(row).toMatchObject({ courseCount: 2, courseIndex: 1, drug: "baricitinib", onJak: true, courseWeek: 0, labsMissing: 0, labsDue: 1 });
    expect(labs.map((l) => [l.courseIndex, l.drug, l.status])).toEqual([[0, "abrocitinib", "missing"], [1, "baricitinib", "due"]]);
  });

  it("describes a patient without a JAK course with empty course columns and zero counts", () => {
    const { evaluation, checkpoints, labs, flags } = rowsOf(handMade([], { dataQuality: [{ resource: "Observation/x", issue: "no-value", detail: "No value." }] }), "2026-05-01");
    expect(evaluation).toMatchObject({
      onJak: false, courseCount: 0, courseIndex: null, drug: null, route: null, courseWeek: null, prescriber: null,
      latestCheckpointWeek: null, latestVerdict: null, nextDueDate: null, flagsCritical: 0, flagsWarning: 0, flagsInfo: 0,
      maxSeverity: null, flagKinds: [], flagCounts: {}, labsMissing: 0, labsOverdue: 0, labsDue: 0, labsAbnormal: 0, dataQualityCount: 1,
    });
    expect([checkpoints, labs, flags]).toEqual([[], [], []]);
  });

  it("keeps the engine output as the result", () => {
    const evaluation = handMade([course({})]);
    expect(rowsOf(evaluation, "2026-03-20").evaluation.result).toBe(evaluation);
  });

  it("computes the course week from start and asOf when the engine gives none", () => {
    expect(rowsOf(handMade([course({ start: "2026-03-02" })]), "2026-03-20").evaluation.courseWeek).toBe(2);
  });
});
