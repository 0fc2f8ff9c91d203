import { describe, expect, it } from "vitest";
import { dayFromIso } from "./dates";
import { expectationFor, vocabularyProblems, type CohortExpectation } from "./expectations";
import type { CoursePlan, LabKind, MeasureKey, PatientPlan, ScoreEvent } from "./plan";

const AS_OF = "2026-11-01";
const A = dayFromIso(AS_OF);

function plan(courses: CoursePlan[], scores: [number, MeasureKey, number, Partial<ScoreEvent>?][], labs: [number, LabKind][] = [], sex: "male" | "female" = "male"): PatientPlan {
  return {
    index: 100,
    patientId: "pt-000101",
    archetype: "test",
    sex,
    birthDay: A - 30 * 365,
    offset: "-05:00",
    given: "Test",
    family: "Patient",
    adOnsetDay: A - 20 * 365,
    practitionerId: "pr-derm-1",
    courses,
    otherTherapies: [],
    scores: scores.map(([day, measure, value, extra]) => ({ day, measure, value, source: "clinic", coding: "app", valueForm: "quantity", status: "final", minuteOfDay: 600, ...extra })),
    labs: labs.map(([day, kind]) => ({ day, kind, minuteOfDay: 480, units: "us" })),
    vaccinations: [],
    traps: [],
  };
}
const upa = (start: number, end: number | null = null): CoursePlan => ({ drug: "upadacitinib", doses: [{ startDay: start, endDay: end, strength: "15" }], representation: "statement-codeable" });
const rux = (start: number): CoursePlan => ({ drug: "ruxolitinib-cream", doses: [{ startDay: start, endDay: null, strength: "1.5" }], representation: "request-bounds" });
const only = (e: CohortExpectation) => {
  const course = e.courses[0];
  if (!course) throw new Error("no course");
  return course;
};

describe("construction oracle", () => {
  it("takes the value nearest the target, the later one on a tie", () => {
    const S = A - 60;
    expect(only(expectationFor(plan([upa(S)], [[S, "itch", 8], [S + 12, "itch", 3], [S + 16, "itch", 7]]), AS_OF)).checkpoints["2"]).toBe("not-responded");
    expect(only(expectationFor(plan([upa(S)], [[S, "itch", 8], [S + 12, "itch", 7], [S + 16, "itch", 3]]), AS_OF)).checkpoints["2"]).toBe("responded");
  });

  it("uses the weekly mean of 4 or more diary values for baseline and checkpoint", () => {
    const S = A - 60;
    const diary = (from: number, values: number[]) => values.map((v, i) => [from + i, "itch", v, { source: "diary" }] as [number, MeasureKey, number, Partial<ScoreEvent>]);
    // Baseline mean 8, week-2 mean (days 8-14) 4: improvement exactly 4 but both are means, so it is left out.
    const tight = plan([upa(S)], [...diary(S - 6, [8, 8, 8, 8, 8, 8, 8]), ...diary(S + 8, [4, 4, 4, 4, 4, 4, 4])]);
    expect(only(expectationFor(tight, AS_OF)).checkpoints["2"]).toBeUndefined();
    // The nearest single value (day 14: 1) would meet itch-4; the mean (5) does not.
    const mean = plan([upa(S)], [...diary(S - 6, [8, 8, 8, 8, 8, 8, 8]), ...diary(S + 8, [7, 7, 5, 5, 5, 5, 1])]);
    expect(only(expectationFor(mean, AS_OF)).checkpoints["2"]).toBe("not-responded");
  });

  it("treats itch below 4 at baseline as not applicable, so a closed window is not assessable", () => {
    const S = A - 60;
    const p = plan([upa(S)], [[S, "itch", 3], [S + 14, "itch", 0], [S + 28, "itch", 0]]);
    expect(only(expectationFor(p, AS_OF)).checkpoints).toMatchObject({ "2": "not-assessable", "4": "not-assessable" });
  });

  it("answers responded inside an open window, open while unmet, not-due before the window", () => {
    const S = A - 25;
    const p = plan([upa(S)], [[S, "itch", 8], [S + 10, "itch", 6], [S + 23, "itch", 2]]);
    expect(only(expectationFor(p, AS_OF)).checkpoints).toEqual({ "2": "not-responded", "4": "responded", "12": "not-due", "16": "not-due" });
    const q = plan([upa(S)], [[S, "itch", 8], [S + 23, "itch", 6]]);
    expect(only(expectationFor(q, AS_OF)).checkpoints["4"]).toBe("open");
  });

  it("leaves out a checkpoint decided only by a coded IGA answer", () => {
    const S = A - 75;
    const coded: Partial<ScoreEvent> = { valueForm: "coded" };
    const decisive = plan([rux(S)], [[S, "iga", 3, coded], [S, "easi", 10], [S + 56, "iga", 2, coded], [S + 56, "easi", 8]]);
    expect(only(expectationFor(decisive, AS_OF)).checkpoints["8"]).toBeUndefined();
    const notDecisive = plan([rux(S)], [[S, "iga", 3, coded], [S, "easi", 10], [S + 56, "iga", 2, coded], [S + 56, "easi", 4]]);
    expect(only(expectationFor(notDecisive, AS_OF)).checkpoints["8"]).toBe("responded");
  });

  it("computes EASI-50 against the baseline and requires baseline > 0", () => {
    const S = A - 100;
    const p = plan([upa(S)], [[S - 2, "easi", 20], [S + 84, "easi", 10.2]]);
    expect(only(expectationFor(p, AS_OF)).checkpoints["12"]).toBe("not-responded");
    const q = plan([upa(S)], [[S - 2, "easi", 20], [S + 84, "easi", 9.8]]);
    expect(only(expectationFor(q, AS_OF)).checkpoints["12"]).toBe("responded");
    const old = plan([upa(S)], [[S - 31, "easi", 20], [S + 84, "easi", 15]]);
    expect(only(expectationFor(old, AS_OF)).checkpoints["12"]).toBe("not-assessable");
  });

  it("leaves out windows that reach past a stop, and raises flags only for the current course", () => {
    const S = A - 200;
    const p = plan([upa(S, S + 100)], [[S, "itch", 8], [S + 14, "itch", 8], [S + 28, "itch", 8], [S + 84, "itch", 8]]);
    const e = expectationFor(p, AS_OF);
    expect(only(e).checkpoints).toEqual({ "2": "not-responded", "4": "not-responded", "12": "not-responded" });
    expect(e.flagKinds).toEqual([]);
    const ongoing = expectationFor(plan([upa(S)], [[S, "itch", 8], [S + 14, "itch", 8], [S + 28, "itch", 8], [S + 84, "itch", 8]]), AS_OF);
    expect(ongoing.flagKinds).toEqual(["non-response", "early-signal", "missing-lab", "overdue-lab", "vaccination"]);
  });

  it("derives lab statuses from the windows", () => {
    const S = A - 60;
    const e = expectationFor(plan([upa(S)], [], [[S - 200, "tb-screen"], [S - 10, "cbc"], [S - 100, "liver"]]), AS_OF);
    expect(only(e).labs).toEqual({
      "baseline:tb-screen": "done",
      "baseline:hbv-screen": "missing",
      "baseline:hcv-screen": "missing",
      "baseline:cbc": "done",
      "baseline:liver": "missing",
      "week-12:lipids": "due",
    });
    const early = expectationFor(plan([upa(A - 2)], [], [[A - 5, "cbc"]], "female"), AS_OF);
    // Within 3 days of the start an absent baseline lab may still come: only "done" is certain.
    expect(only(early).labs).toEqual({ "baseline:cbc": "done", "week-12:lipids": "not-due" });
    const late = expectationFor(plan([upa(A - 120)], [], []), AS_OF);
    expect(only(late).labs["week-12:lipids"]).toBe("overdue");
  });

  it("flags a cream order over 60 g per week, but not 60 g per 2 weeks or a statement without quantity", () => {
    const S = A - 30;
    const cream = (grams: number, days: number, representation: CoursePlan["representation"]): CoursePlan => ({ ...rux(S), representation, creamGrams: grams, creamSupplyDays: days });
    expect(expectationFor(plan([cream(100, 7, "request-bounds")], []), AS_OF).flagKinds).toEqual(["cream-quantity"]);
    expect(expectationFor(plan([cream(60, 14, "request-bounds")], []), AS_OF).flagKinds).toEqual([]);
    expect(expectationFor(plan([cream(100, 7, "statement-codeable")], []), AS_OF).flagKinds).toEqual([]);
  });

  it("flags the latest BSA over 20 % on the cream", () => {
    const S = A - 30;
    expect(expectationFor(plan([rux(S)], [[S, "bsa", 12], [S + 20, "bsa", 24]]), AS_OF).flagKinds).toEqual(["bsa-limit"]);
    expect(expectationFor(plan([rux(S)], [[S, "bsa", 24], [S + 20, "bsa", 12]]), AS_OF).flagKinds).toEqual([]);
  });

  it("flags an oral course without any zoster vaccine on record, or with a live one during it", () => {
    const S = A - 30;
    const withVaccines = (vaccinations: PatientPlan["vaccinations"], course: CoursePlan) => ({ ...plan([course], []), vaccinations });
    expect(expectationFor(withVaccines([], upa(S)), AS_OF).flagKinds).toContain("vaccination");
    expect(expectationFor(withVaccines([{ day: S - 100, vaccine: "zosterRecombinant" }], upa(S)), AS_OF).flagKinds).not.toContain("vaccination");
    expect(expectationFor(withVaccines([{ day: S - 100, vaccine: "zosterRecombinant" }, { day: S + 10, vaccine: "zosterLive" }], upa(S)), AS_OF).flagKinds).toContain("vaccination");
    expect(expectationFor(withVaccines([], rux(S)), AS_OF).flagKinds).not.toContain("vaccination");
  });

  it("asks for a pregnancy test only for women of 13-49 on upadacitinib", () => {
    const S = A - 30;
    expect(only(expectationFor(plan([upa(S)], [], [], "female"), AS_OF)).labs["baseline:pregnancy"]).toBe("missing");
    expect(only(expectationFor(plan([upa(S)], [], [], "male"), AS_OF)).labs["baseline:pregnancy"]).toBeUndefined();
  });

  it("ignores a value written past the instrument's range (a typing slip)", () => {
    const S = A - 60;
    const p = plan([upa(S)], [[S, "itch", 8], [S + 14, "itch", 3, { outOfRangeTypo: true }], [S + 20, "itch", 7]]);
    expect(only(expectationFor(p, AS_OF)).checkpoints["2"]).toBe("not-responded");
  });

  it("ignores data dated on or after asOf (the generator writes none)", () => {
    const S = A - 25;
    const p = plan([upa(S)], [[S, "itch", 8], [A, "itch", 1]]);
    expect(only(expectationFor(p, AS_OF)).checkpoints["4"]).toBe("open");
  });

  it("reports vocabulary problems", () => {
    const bad = { patientId: "x", asOf: AS_OF, archetype: "x", flagKinds: ["oops"], courses: [{ drug: "tofacitinib", route: "oral", start: "2026-1-1", checkpoints: { "3": "yes" }, labs: { "baseline:xray": "done" } }] };
    expect(vocabularyProblems(bad as unknown as CohortExpectation)).toHaveLength(6);
  });
});
