/**
 * The values on the safety-lab checklist (LabRequirementStatus.results): the satisfying results in the
 * canonical unit, qualitative answers as text, reference highs, and abnormal values with the rule and
 * threshold that also raise the abnormal-lab flag.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluatePatient } from "./evaluate";
import { baselineLabs, day, labObs, patient, statement } from "./fixtures/scenarios";
import { fromDayNumber, dayNumber } from "./dates";
import { indexLabs, labChecklist } from "./labs";
import type { LabResult } from "./normalize";
import { DEFAULT_RULES } from "./rules";
import type { LabRequirementResult, LabRequirementStatus, PatientEvaluation } from "./types";

type R = Record<string, unknown>;
const negative = (loinc: string, offset: number, code = "LA6577-6", display = "Negative"): R =>
  labObs(loinc, offset, null, null, { valueCodeableConcept: { coding: [{ system: "http://loinc.org", code, display }] } });

function requirementOf(drug: string, resources: R[], asOffset: number, requirement: string): LabRequirementStatus | undefined {
  const r = evaluatePatient([patient(), statement(drug, 0), ...resources], { asOf: day(asOffset) });
  return r.courses[0]?.labs.find((l) => l.requirement === requirement);
}

describe("checklist values (LabRequirementStatus.results)", () => {
  it.each<[string, string, R[], number, string, Array<Partial<LabRequirementResult>>]>([
    ["platelets in 10*9/L shown in 10*3/uL", "abrocitinib", [...baselineLabs(), labObs("777-3", 28, 230, "10*9/L")], 60, "week-4:cbc",
      [{ lab: "platelets", display: "Platelets", value: 230, unit: "10*3/uL", date: day(28) }]],
    ["platelets in /uL converted", "abrocitinib", [...baselineLabs(), labObs("777-3", 28, 180000, "/uL")], 60, "week-4:cbc",
      [{ lab: "platelets", value: 180, unit: "10*3/uL" }]],
    ["ALT with its reference high, not abnormal at 2.5 x ULN", "upadacitinib", [labObs("1742-6", -5, 100, "U/L", { referenceRange: [{ high: { value: 40, unit: "U/L" } }] })], 10, "baseline:liver",
      [{ lab: "alt", display: "ALT", value: 100, unit: "U/L", referenceHigh: 40, abnormal: undefined }]],
    ["ALT above 3 x ULN carries rule and threshold", "upadacitinib", [labObs("1742-6", -5, 130, "U/L", { referenceRange: [{ high: { value: 40, unit: "U/L" } }] })], 10, "baseline:liver",
      [{ lab: "alt", value: 130, referenceHigh: 40, abnormal: { ruleId: "abnormal.transaminase-high", severity: "warning", threshold: "> 120 U/L (3 x ULN 40 U/L)" } }]],
    ["ALT in ukat/L with AST the same day", "upadacitinib", [labObs("1742-6", -5, 0.5, "ukat/L"), labObs("1920-8", -5, 25, "U/L")], 10, "baseline:liver",
      [{ lab: "alt", value: 30, unit: "U/L" }, { lab: "ast", display: "AST", value: 25, unit: "U/L" }]],
    ["abnormal ANC in /mm3 with the rest of the CBC that day", "upadacitinib", [labObs("718-7", -3, 135, "g/L"), labObs("751-8", -3, 800, "/mm3"), labObs("777-3", -3, 250, "10*9/L")], 10, "baseline:cbc",
      [
        { lab: "hemoglobin", display: "Hemoglobin", value: 13.5, unit: "g/dL", abnormal: undefined },
        { lab: "anc", display: "ANC", value: 0.8, unit: "10*3/uL", abnormal: { ruleId: "abnormal.anc-low", severity: "critical", threshold: "< 1 x10*3/uL" } },
        { lab: "platelets", value: 250, abnormal: undefined },
      ]],
    ["hemoglobin 75 g/L is 7.5 g/dL, critical", "baricitinib", [labObs("718-7", -3, 75, "g/L")], 10, "baseline:cbc",
      [{ lab: "hemoglobin", value: 7.5, unit: "g/dL", abnormal: { ruleId: "abnormal.hemoglobin-low", severity: "critical", threshold: "< 8 g/dL" } }]],
    ["only the latest day's results of a CBC", "baricitinib", [labObs("751-8", -20, 0.5, "10*3/uL"), labObs("718-7", -3, 14, "g/dL")], 10, "baseline:cbc",
      [{ lab: "hemoglobin", value: 14 }]],
    ["platelets below 50 on abrocitinib", "abrocitinib", [...baselineLabs(), labObs("777-3", 28, 45, "10*3/uL")], 60, "week-4:cbc",
      [{ lab: "platelets", value: 45, abnormal: { ruleId: "abnormal.platelets-abrocitinib", severity: "critical", threshold: "< 50 x10*3/uL on abrocitinib (Cibinqo)" } }]],
    ["platelets below 150 before abrocitinib", "abrocitinib", [labObs("777-3", -5, 140, "10*3/uL")], 10, "baseline:cbc",
      [{ lab: "platelets", value: 140, abnormal: { ruleId: "abnormal.platelets-before-abrocitinib", severity: "warning", threshold: "< 150 x10*3/uL before starting abrocitinib (Cibinqo)" } }]],
    ["IGRA as its interpretation", "upadacitinib", [negative("71773-6", -30)], 10, "baseline:tb-screen",
      [{ lab: "igra", display: "IGRA", value: "negative", unit: undefined, date: day(-30) }]],
    ["indeterminate IGRA", "upadacitinib", [negative("71773-6", -30, "LA11884-6", "Indeterminate")], 10, "baseline:tb-screen",
      [{ lab: "igra", value: "indeterminate" }]],
    ["hepatitis B: one result per group", "upadacitinib", [negative("5196-1", -40), negative("16933-4", -20, "LA6576-8", "Positive")], 10, "baseline:hbv-screen",
      [{ lab: "hbsag", display: "HBsAg", value: "negative" }, { lab: "anti-hbc", display: "Anti-HBc", value: "positive" }]],
    ["cholesterol in mmol/L shown in mg/dL", "upadacitinib", [labObs("14647-2", 80, 4.8, "mmol/L")], 113, "week-12:lipids",
      [{ lab: "cholesterol", display: "Total cholesterol", value: 185.616, unit: "mg/dL" }]],
    ["a unit that cannot be converted: no value, the unit named", "upadacitinib", [labObs("751-8", -3, 2.1, "furlongs")], 10, "baseline:cbc",
      [{ lab: "anc", value: null, unit: undefined, unitProblem: "furlongs", abnormal: undefined }]],
    ["a CBC panel reported without values", "baricitinib", [labObs("58410-2", -3, null, null)], 10, "baseline:cbc",
      [{ lab: "cbc-panel", display: "CBC panel", value: null }]],
  ])("%s", (_label, drug, resources, asOffset, requirement, expected) => {
    const req = requirementOf(drug, resources, asOffset, requirement);
    expect(req?.status, JSON.stringify(req)).toBe("done");
    expect(req!.results, JSON.stringify(req)).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      const got = req!.results![i]!;
      for (const [k, v] of Object.entries(e)) expect(got[k as keyof LabRequirementResult], `${k} of ${JSON.stringify(got)}`).toEqual(v);
    });
    // The section-7 key stays: satisfiedBy names the satisfying result of each group, all among the results.
    expect(req!.satisfiedBy!.every((ref) => req!.results!.some((r) => r.resource === ref))).toBe(true);
  });

  it("gives requirements without a satisfying result no results", () => {
    const r = evaluatePatient([patient(), statement("upadacitinib", 0)], { asOf: day(200) });
    const labs = r.courses[0]!.labs;
    expect(labs.length).toBeGreaterThan(0);
    for (const l of labs) if (l.status !== "done") expect(l.results).toBeUndefined();
  });

  it("does not mark values on a topical course (no abnormal rules apply)", () => {
    const start = dayNumber("2026-03-02");
    const course = { drug: "ruxolitinib-cream" as const, route: "topical" as const, start: fromDayNumber(start), startDay: start, end: null, endDay: null, startSource: "MedicationStatement/1", events: [], doseChanges: [], doseMg: null, coveredUntilDay: Infinity };
    const anc: LabResult = { lab: "anc", date: fromDayNumber(start - 2), day: start - 2, value: 0.2, interpretation: null, referenceHigh: null, resource: "Observation/a", unitProblem: null };
    // The cream asks for no labs; run the upadacitinib requirements against a topical course to reach the values.
    const labs = labChecklist({ course, drug: DEFAULT_RULES.drugs.upadacitinib, index: indexLabs([anc]), asOfDay: start + 10, rules: DEFAULT_RULES, gender: "male", birthDate: "1990-01-01" });
    const cbc = labs.find((l) => l.requirement === "baseline:cbc")!;
    expect(cbc.results).toEqual([{ resource: "Observation/a", date: fromDayNumber(start - 2), lab: "anc", display: "ANC", value: 0.2, unit: "10*3/uL" }]);
  });
});

describe("checklist values agree with the abnormal-lab flags", () => {
  const dir = join(import.meta.dirname, "fixtures");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  const evaluate = (file: string): PatientEvaluation => {
    const bundle = JSON.parse(readFileSync(join(dir, file), "utf8")) as { timestamp: string };
    return evaluatePatient([bundle], { asOf: bundle.timestamp.slice(0, 10) });
  };

  it.each(files)("%s", (file) => {
    const r = evaluate(file);
    r.courses.forEach((c, course) => {
      for (const l of c.labs) {
        expect(l.results === undefined, l.requirement).toBe(l.status !== "done");
        for (const v of l.results ?? []) {
          if (!v.abnormal) continue;
          expect(r.flags, JSON.stringify(v)).toContainEqual(expect.objectContaining({ kind: "abnormal-lab", ruleId: v.abnormal.ruleId, severity: v.abnormal.severity, resource: v.resource, course }));
        }
      }
    });
  });

  it("marks the abnormal platelets of the abrocitinib fixture", () => {
    const r = evaluate("abrocitinib-platelets-45-flag-abnormal-lab.json");
    const values = r.courses[0]!.labs.flatMap((l) => l.results ?? []).filter((v) => v.abnormal);
    expect(values).toEqual([expect.objectContaining({ lab: "platelets", value: 45, abnormal: expect.objectContaining({ ruleId: "abnormal.platelets-abrocitinib" }) })]);
  });
});
