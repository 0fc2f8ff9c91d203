import { describe, expect, it } from "vitest";
import { checkpointRule, currentCourse, earlierCourses, labAttention, latestDecidedVerdict, latestVerdict, nextCheckpoint, openCheckpoints, abnormalFlagsForRequirement, abnormalResults } from "./overview";
import { MEASURE_UP_URL, upadacitinibNonResponderEvaluation } from "./fixtures.test-helper";

describe("overview", () => {
  const evaluation = upadacitinibNonResponderEvaluation();

  it("picks the latest course as current and counts its week at asOf", () => {
    const current = currentCourse(evaluation, "2026-11-01");
    expect(current?.course.drug).toBe("upadacitinib");
    expect(current?.index).toBe(1);
    expect(current?.active).toBe(true);
    expect(current?.weekToday).toBe(21);
    expect(earlierCourses(evaluation, current).map((c) => c.course.drug)).toEqual(["abrocitinib"]);
  });

  it("prefers the engine's week when it gives one", () => {
    const e = upadacitinibNonResponderEvaluation();
    e.courses[1]!.weekAtAsOf = 20;
    expect(currentCourse(e, "2026-11-01")?.weekToday).toBe(20);
  });

  it("reports an ended latest course as not active, without a week", () => {
    const e = upadacitinibNonResponderEvaluation();
    e.courses[1]!.end = "2026-10-01";
    const current = currentCourse(e, "2026-11-01");
    expect(current?.active).toBe(false);
    expect(current?.weekToday).toBeNull();
  });

  it("returns null when there is no JAK course", () => {
    expect(currentCourse({ ...evaluation, courses: [] }, "2026-11-01")).toBeNull();
  });

  it("takes the latest opened checkpoint as the latest verdict, and the first not-due as next", () => {
    const course = evaluation.courses[1]!;
    expect(latestVerdict(course)?.week).toBe(16);
    expect(latestVerdict(course)?.verdict).toBe("not-responded");
    expect(nextCheckpoint(course)?.week).toBe(24);
    expect(latestVerdict(evaluation.courses[0]!)).toBeNull();
  });

  it("separates the latest decided verdict from a window that is open now", () => {
    const course = structuredClone(evaluation.courses[1]!);
    course.checkpoints[2]!.verdict = "open";
    expect(latestVerdict(course)?.week).toBe(24);
    expect(latestDecidedVerdict(course)?.week).toBe(16);
    expect(openCheckpoints(course).map((c) => c.week)).toEqual([24]);
    expect(latestDecidedVerdict(evaluation.courses[0]!)).toBeNull();
  });

  it("collects overdue, missing, due labs and abnormal results of the current course", () => {
    const a = labAttention(evaluation.courses[1]!, evaluation.flags, 1);
    expect(a.overdue.map((l) => l.requirement)).toEqual(["week-12:lipids"]);
    expect(a.missing.map((l) => l.requirement)).toEqual(["baseline:tb-screen"]);
    expect(a.due.map((l) => l.requirement)).toEqual(["periodic:cbc"]);
    expect(a.abnormal.map((f) => f.ruleId)).toEqual(["abnormal.anc-low"]);
    expect(labAttention(evaluation.courses[1]!, evaluation.flags, 0).abnormal).toEqual([]);
  });

  it("links an abnormal result to the requirement it satisfied", () => {
    const cbc = evaluation.courses[1]!.labs.find((l) => l.requirement === "baseline:cbc")!;
    const tb = evaluation.courses[1]!.labs.find((l) => l.requirement === "baseline:tb-screen")!;
    expect(abnormalFlagsForRequirement(cbc, evaluation.flags).map((f) => f.ruleId)).toEqual(["abnormal.anc-low"]);
    expect(abnormalFlagsForRequirement(tb, evaluation.flags)).toEqual([]);
  });

  it("links an abnormal flag through a same-day value that is not the satisfying resource", () => {
    const cbc = { requirement: "baseline:cbc", status: "done" as const, dueBy: "2026-06-04", satisfiedBy: ["Observation/hb"], results: [
      { resource: "Observation/hb", date: "2026-06-01", lab: "hemoglobin" as const, display: "Hemoglobin", value: 13 },
      { resource: "Observation/anc", date: "2026-06-01", lab: "anc" as const, display: "ANC", value: 0.8, abnormal: { ruleId: "abnormal.anc-low", severity: "critical" as const, threshold: "< 1 x10*3/uL" } },
    ] };
    const flag = { ruleId: "abnormal.anc-low", kind: "abnormal-lab" as const, severity: "critical" as const, message: "ANC low", source: "label", sourceLabel: "label", sourceUrl: "https://example.org/label", course: 1, resource: "Observation/anc" };
    expect(abnormalFlagsForRequirement(cbc, [flag])).toEqual([flag]);
    expect(abnormalResults(cbc).map((r) => r.lab)).toEqual(["anc"]);
    expect(abnormalResults(evaluation.courses[1]!.labs.find((l) => l.requirement === "baseline:liver")!)).toEqual([]);
  });

  it("explains a checkpoint by its raised flag, else by the default rule for the drug and week", () => {
    const course = evaluation.courses[1]!;
    expect(checkpointRule(course, 1, 16, evaluation.flags)).toMatchObject({
      ruleId: "upadacitinib.week-16.non-response", source: "Measure Up 1/2 primary endpoint at week 16", sourceLabel: "Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021)", sourceUrl: MEASURE_UP_URL,
    });
    expect(checkpointRule(course, 1, 16, evaluation.flags)?.raised?.severity).toBe("warning");
    const week2 = checkpointRule(course, 1, 2, evaluation.flags);
    expect(week2?.ruleId).toBe("upadacitinib.week-2.early-signal");
    expect(week2?.message).toContain("Upadacitinib (Rinvoq)");
    expect(week2?.message).not.toContain("{drug}");
    expect(week2?.criteria).toEqual(["pain-3", "itch-4"]);
    expect(week2?.raised).toBeNull();
    // An unraised rule still links its primary source: the Measure Up patient-reported outcomes for week 2.
    expect(week2?.sourceUrl).toBe("https://doi.org/10.1007/s40257-024-00853-4");
    expect(week2?.sourceLabel).toContain("Measure Up 1/2 patient-reported outcomes");
    expect(checkpointRule(course, 1, 8, evaluation.flags)).toBeNull();
  });
});
