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

  it("names the prescriber by the start request's requester display when it has one", () => {
    const withDisplay = rowsFor([patient(), request("upadacitinib", 0, { requester: { reference: "Practitioner/pr1", display: " Dr. Mara Osei " } })], day(20));
    expect(withDisplay.evaluation.prescriber).toBe("Dr. Mara Osei");
  });

  it("names a prescriber without a display by the referenced id after its type, not the raw reference", () => {
    const prescriber = (requester: Record<string, unknown>) =>
      rowsFor([patient(), request("upadacitinib", 0, { requester })], day(20)).evaluation.prescriber;
    expect(prescriber({ reference: "Practitioner/pr-derm-1" })).toBe("Practitioner pr-derm-1");
    expect(prescriber({ reference: "https://ehr.example/fhir/PractitionerRole/role-7/_history/3" })).toBe("Practitioner role role-7");
    expect(prescriber({ reference: "Organization/derm-clinic" })).toBe("Organization derm-clinic");
    expect(prescriber({ identifier: { system: "http://hl7.org/fhir/sid/us-npi", value: "1234567893" } })).toBe("1234567893");
    expect(prescriber({ reference: "urn:uuid:4e2c1a" })).toBe("urn:uuid:4e2c1a");
  });

  it("names a contained prescriber by its name", () => {
    const contained = [{ resourceType: "Practitioner", id: "pr9", name: [{ given: ["Lena"], family: "Berg", prefix: ["Dr."] }] }];
    const { evaluation } = rowsFor([patient(), request("upadacitinib", 0, { contained, requester: { reference: "#pr9" } })], day(20));
    expect(evaluation.prescriber).toBe("Lena Berg");
  });

  it("names the prescriber of a statement-started course from its informationSource", () => {
    const { evaluation } = rowsFor([patient(), statement("upadacitinib", 0, { informationSource: { reference: "Practitioner/pr2" } })], day(20));
    expect(evaluation.prescriber).toBe("Practitioner pr2");
  });

  it("gives no prescriber when the statement's information source is the patient or a relative", () => {
    const prescriber = (informationSource: Record<string, unknown>) =>
      rowsFor([patient(), statement("upadacitinib", 0, { informationSource })], day(20)).evaluation.prescriber;
    expect(prescriber({ reference: "Patient/p1", display: "Pat Self" })).toBeNull();
    expect(prescriber({ reference: "RelatedPerson/rp1" })).toBeNull();
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

  it("dates the next checkpoint by the engine's target: the earliest undecided one on or after asOf", () => {
    const resources = [patient(), statement("upadacitinib", 0), ...baselineLabs()];
    // Day 20: week 2's window is open and its target (day 14) has passed; week 4's target (day 28) is next.
    expect(rowsFor(resources, day(20)).evaluation.nextCheckpointDate).toBe(day(28));
    expect(rowsFor(resources, day(14)).evaluation.nextCheckpointDate).toBe(day(14));
    expect(rowsFor(resources, day(100)).evaluation.nextCheckpointDate).toBe(day(112));
  });

  it("dates no next checkpoint once the course's last checkpoint target has passed", () => {
    const evaluation = handMade([
      course({
        checkpoints: [
          { week: 24, windowStart: "2026-07-21", windowEnd: "2026-09-14", verdict: "open", measures: {}, targetDate: "2026-08-17" },
          { week: 16, windowStart: "2026-06-09", windowEnd: "2026-07-20", verdict: "responded", measures: {}, targetDate: "2026-06-22" },
        ],
      }),
    ]);
    expect(rowsOf(evaluation, "2026-08-17").evaluation.nextCheckpointDate).toBe("2026-08-17");
    expect(rowsOf(evaluation, "2026-08-18").evaluation.nextCheckpointDate).toBeNull();
  });

  it("takes start + 7 x week as the target when the engine gives none, and skips decided checkpoints", () => {
    const evaluation = handMade([
      course({
        start: "2026-03-02",
        checkpoints: [
          { week: 2, windowStart: "2026-03-10", windowEnd: "2026-03-23", verdict: "responded", measures: {} },
          { week: 4, windowStart: "2026-03-24", windowEnd: "2026-04-13", verdict: "not-due", measures: {} },
        ],
      }),
    ]);
    expect(rowsOf(evaluation, "2026-03-12").evaluation).toMatchObject({ nextCheckpointDate: "2026-03-30", nextDueDate: "2026-03-30", nextDueKind: "checkpoint:4" });
  });

  it("dates no next checkpoint for a course that ended or a patient without a course", () => {
    const ended = rowsFor([patient(), statement("upadacitinib", 0, { status: "completed", effectivePeriod: { start: S, end: day(40) } })], day(50));
    expect(ended.evaluation).toMatchObject({ onJak: false, nextCheckpointDate: null });
    expect(rowsOf(handMade([]), "2026-05-01").evaluation.nextCheckpointDate).toBeNull();
  });

  it("marks the checkpoints whose window opens after the course ended, which the engine cannot assess", () => {
    const { checkpoints } = rowsFor([patient(), statement("upadacitinib", 0, { status: "completed", effectivePeriod: { start: S, end: day(40) } })], day(200));
    const byWeek = Object.fromEntries(checkpoints.map((c) => [c.week, c]));
    // Week 4's window (days 22-42) was open when the course ended on day 40; week 12's opens on day 71.
    expect(byWeek[4]).toMatchObject({ afterCourseEnd: false });
    expect(byWeek[12]).toMatchObject({ afterCourseEnd: true, verdict: "not-assessable" });
    expect(checkpoints.filter((c) => c.afterCourseEnd).map((c) => c.week)).toEqual([12, 16]);
  });

  it("marks no checkpoint after the end of a course that is still running", () => {
    const { checkpoints } = rowsFor([patient(), statement("upadacitinib", 0), ...baselineLabs()], day(200));
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints.every((c) => !c.afterCourseEnd)).toBe(true);
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
      latestCheckpointWeek: null, latestVerdict: null, nextDueDate: null, nextCheckpointDate: null, flagsCritical: 0, flagsWarning: 0, flagsInfo: 0,
      maxSeverity: null, flagKinds: [], flagCounts: {}, labsMissing: 0, labsOverdue: 0, labsDue: 0, labsAbnormal: 0, dataQualityCount: 1,
    });
    expect([checkpoints, labs, flags]).toEqual([[], [], []]);
  });

  it("keeps the engine output as the result, without the facts that only feed the report cases", () => {
    const evaluation = handMade([course({})]);
    expect(rowsOf(evaluation, "2026-03-20").evaluation.result).toEqual(evaluation);
    const withFacts = { ...evaluation, facts: { zosterVaccinations: [], labResults: [] } };
    const rows = rowsOf(withFacts, "2026-03-20");
    expect(rows.evaluation.result).toEqual(evaluation);
    expect("facts" in rows.evaluation.result).toBe(false);
  });

  it("computes the course week from start and asOf when the engine gives none", () => {
    expect(rowsOf(handMade([course({ start: "2026-03-02" })]), "2026-03-20").evaluation.courseWeek).toBe(2);
  });
});
