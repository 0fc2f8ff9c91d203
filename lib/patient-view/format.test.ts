import { describe, expect, it } from "vitest";
import type { LabRequirementResult } from "../clinical/types";
import { courseWeekAt, daysBetween, formatDate, formatImprovement, formatLabValue, labUnitLabel, labValueText, referenceHighText, requirementLabel, verdictLabel, labStatusLabel, isoToDayNumber, dayNumberToIso } from "./format";

describe("format", () => {
  it("writes dates as day, month name and year, whatever the locale", () => {
    expect(formatDate("2026-03-05")).toBe("5 Mar 2026");
    expect(formatDate("2026-12-31T23:00:00+02:00")).toBe("31 Dec 2026");
    expect(formatDate(null)).toBe("unknown date");
  });

  it("counts calendar days and course weeks from the dates as written", () => {
    expect(daysBetween("2026-02-27", "2026-03-01")).toBe(2);
    expect(courseWeekAt("2026-06-01", "2026-06-07")).toBe(0);
    expect(courseWeekAt("2026-06-01", "2026-06-08")).toBe(1);
    expect(courseWeekAt("2026-06-01", "2026-11-01")).toBe(21);
    expect(dayNumberToIso(isoToDayNumber("2024-02-29"))).toBe("2024-02-29");
  });

  it("spells verdicts and lab statuses as the clinician reads them", () => {
    expect(verdictLabel("not-responded")).toBe("not responded");
    expect(verdictLabel("not-due")).toBe("not yet due");
    expect(labStatusLabel("overdue")).toBe("overdue");
  });

  it("names lab requirements by phase and lab, with the periodic occurrence", () => {
    expect(requirementLabel("baseline:tb-screen")).toBe("Baseline: TB screen");
    expect(requirementLabel("periodic:cbc", 2)).toBe("Periodic #2: CBC");
    expect(requirementLabel("odd:thing")).toBe("odd: thing");
  });

  it("states the direction of a change in words", () => {
    expect(formatImprovement(5)).toBe("5 better");
    expect(formatImprovement(-2)).toBe("2 worse");
    expect(formatImprovement(0)).toBe("no change");
    expect(formatImprovement(8, 33.33)).toBe("8 better (33%)");
    expect(formatImprovement(null)).toBe("-");
  });

  it.each<[string, number | string | null, string]>([
    ["integer", 230, "230"],
    ["one decimal", 13.2, "13.2"],
    ["two decimals at most", 185.616, "185.62"],
    ["three decimals below 1, so 0.999 is not 1", 0.999, "0.999"],
    ["qualitative answer", "negative", "negative"],
    ["no value", null, "no value"],
  ])("writes a lab value: %s", (_label, value, expected) => {
    expect(formatLabValue(value)).toBe(expected);
  });

  const result = (extra: Partial<LabRequirementResult>): LabRequirementResult => ({ resource: "Observation/1", date: "2026-03-01", lab: "anc", display: "ANC", value: 0.8, unit: "10*3/uL", ...extra });
  it.each<[string, Partial<LabRequirementResult>, string, string | null]>([
    ["cells per uL as the messages write them", {}, "ANC 0.8 x10*3/uL", null],
    ["enzyme with its upper limit", { lab: "alt", display: "ALT", value: 130, unit: "U/L", referenceHigh: 40 }, "ALT 130 U/L", "upper limit 40 U/L"],
    ["qualitative without a unit", { lab: "igra", display: "IGRA", value: "negative", unit: undefined }, "IGRA negative", null],
    ["unit not convertible", { value: null, unit: undefined, unitProblem: "furlongs" }, 'ANC: unit "furlongs" not convertible', null],
    ["panel without values", { lab: "cbc-panel", display: "CBC panel", value: null, unit: undefined }, "CBC panel: reported without a value", null],
  ])("writes a checklist value: %s", (_label, extra, text, reference) => {
    expect(labValueText(result(extra))).toBe(text);
    expect(referenceHighText(result(extra))).toBe(reference);
  });

  it("labels canonical units", () => {
    expect(labUnitLabel("10*3/uL")).toBe("x10*3/uL");
    expect(labUnitLabel("g/dL")).toBe("g/dL");
    expect(labUnitLabel(undefined)).toBe("");
  });
});
