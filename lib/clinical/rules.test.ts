/** Table-driven unit tests for every rule module: dates, units, codes, criteria, verdicts, windows, labs. */
import { describe, expect, it } from "vitest";
import { findBaseline, findCheckpointValue } from "./baseline";
import { verdictOf } from "./checkpoints";
import { indexMappings, matchConcept, ndcProductKey, conceptId } from "./codes";
import { addDays, ageOn, calendarDate, dayNumber, daysBetween, fromDayNumber } from "./dates";
import { indexLabs, labChecklist } from "./labs";
import type { Course } from "./courses";
import type { LabResult, Measurement } from "./normalize";
import { assessCriterion, easiBand } from "./response";
import { DEFAULT_RULES, RULES_VERSION } from "./rules";
import { convertLab } from "./units";
import type { Criterion, LabKey, MeasureStatus } from "./types";

describe("dates: calendar days as written, no UTC conversion", () => {
  it.each([
    ["2026-03-02", "2026-03-02"],
    ["2026-03-02T23:30:00-08:00", "2026-03-02"], // would be 03-03 in UTC
    ["2026-03-02T00:30:00+14:00", "2026-03-02"], // would be 03-01 in UTC
    ["2024-02-29", "2024-02-29"],
    ["2026-02-29", null],
    ["2026-02-30", null],
    ["2026-13-01", null],
    ["2026-00-10", null],
    ["2026-03", null],
    ["2026", null],
    ["20260302", null],
    ["2026-03-02 10:00", null],
    ["", null],
    [42, null],
    [null, null],
  ])("calendarDate(%j) = %j", (input, expected) => {
    expect(calendarDate(input)).toBe(expected);
  });

  it.each([
    ["2026-03-02", 0, "2026-03-02"],
    ["2026-03-02", 112, "2026-06-22"],
    ["2026-03-02", -30, "2026-01-31"],
    ["2024-02-28", 1, "2024-02-29"],
    ["2025-12-31", 1, "2026-01-01"],
    ["1970-01-01", 0, "1970-01-01"],
    ["2000-02-29", 365, "2001-02-28"],
  ])("addDays(%s, %i) = %s", (date, days, expected) => {
    expect(addDays(date, days)).toBe(expected);
    expect(daysBetween(date, expected)).toBe(days);
  });

  it("round-trips every day of several years", () => {
    for (let n = dayNumber("1999-12-01"); n < dayNumber("2030-01-31"); n++) expect(dayNumber(fromDayNumber(n))).toBe(n);
  });

  it.each([
    ["1990-05-05", "2026-05-04", 35],
    ["1990-05-05", "2026-05-05", 36],
    ["2019-01-01", "2026-03-02", 7],
    [null, "2026-03-02", null],
  ])("ageOn(%s, %s) = %s", (birth, on, age) => {
    expect(ageOn(birth, on)).toBe(age);
  });
});

describe("units: UCUM conversions to the threshold units", () => {
  it.each<[LabKey, number, string | null, number | null]>([
    ["anc", 1000, "/mm3", 1.0],
    ["anc", 1000, "cells/uL", 1.0],
    ["anc", 1.0, "10*3/uL", 1.0],
    ["anc", 1.0, "10*9/L", 1.0],
    ["anc", 1.0, "10^9/L", 1.0],
    ["anc", 1.0, "K/uL", 1.0],
    ["alc", 500, "/uL", 0.5],
    ["platelets", 150, "10*3/uL", 150],
    ["platelets", 150, "10*9/L", 150],
    ["platelets", 150000, "/mm3", 150],
    ["hemoglobin", 80, "g/L", 8],
    ["hemoglobin", 8, "g/dL", 8],
    ["cholesterol", 5, "mmol/L", 193.35],
    ["ldl", 3, "mmol/L", 116.01],
    ["triglycerides", 2, "mmol/L", 177.14],
    ["creatinine", 88.4, "umol/L", 1],
    ["alt", 40, "U/L", 40],
    ["alt", 40, "[IU]/L", 40],
    ["alt", 1, "ukat/L", 60],
    ["anc", 1, "furlongs", null],
    ["anc", 1, null, null],
    ["hemoglobin", 8, "mmol/L", null],
  ])("%s %d %s -> %s", (lab, value, unit, expected) => {
    const converted = convertLab(lab, value, unit);
    if (expected === null) expect(converted).toBeNull();
    else expect(converted!.value).toBeCloseTo(expected, 6);
  });
});

describe("codes: system and code, site mappings, then text", () => {
  const none = indexMappings([]);
  it.each([
    [{ coding: [{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument", code: "easi" }] }, "measure:easi", "system-code"],
    [{ coding: [{ system: "http://loinc.org", code: "751-8" }] }, "lab:anc", "system-code"],
    [{ coding: [{ system: "urn:oid:2.16.840.1.113883.6.1", code: "777-3" }] }, "lab:platelets", "system-code"],
    [{ coding: [{ system: "http://loinc.org", code: "770-8", display: "Neutrophils/100 leukocytes" }] }, null, null], // % is not an ANC
    [{ coding: [{ system: "http://loinc.org", code: "8277-6", display: "Body surface area" }] }, null, null], // m2, not % affected
    [{ coding: [{ system: "http://example.org/other", code: "751-8" }] }, null, null], // code alone never matches
    [{ text: "Worst itch NRS (PP-NRS)" }, "measure:itch", "text"],
    [{ text: "Sleep loss due to itch" }, "measure:sleep", "text"],
    [{ text: "PO-SCORAD" }, "measure:po-scorad", "text"],
    [{ text: "SCORAD" }, "measure:scorad", "text"],
    [{ text: "vIGA-AD" }, "measure:iga", "text"],
    [{ text: "IGA" }, "measure:iga", "text"],
    [{ text: "IgA [Mass/volume] in Serum" }, null, null], // immunoglobulin A is not the IGA
    [{ text: "% BSA affected" }, "measure:bsa", "text"],
    [{ text: "QuantiFERON-TB Gold Plus" }, "lab:igra", "text"],
    [{ text: "Pain severity 0-10" }, null, null],
  ])("%j -> %s by %s", (codeable, concept, how) => {
    const match = matchConcept(codeable, none, "observation");
    expect(match ? conceptId(match.concept) : null).toBe(concept);
    expect(match?.how ?? null).toBe(how);
  });

  it("uses a site mapping when no built-in code matches, and records it", () => {
    const mappings = indexMappings([{ system: "http://clinic.example/codes", code: "EASI-TOT", concept: "measure:easi" }]);
    const match = matchConcept({ coding: [{ system: "http://clinic.example/codes", code: "EASI-TOT" }] }, mappings, "observation");
    expect(match && conceptId(match.concept)).toBe("measure:easi");
    expect(match?.how).toBe("site-mapping");
  });

  it.each([
    ["50881-007-01", "50881-0007"],
    ["0074-2310-30", "00074-2310"],
    ["00074231030", "00074-2310"],
    ["garbage", null],
  ])("NDC %s -> product %s", (code, key) => {
    expect(ndcProductKey(code)).toBe(key);
  });

  it.each([
    [{ coding: [{ system: "http://www.whocc.no/atc", code: "L04AF03" }] }, "drug:upadacitinib"],
    [{ coding: [{ system: "http://www.whocc.no/atc", code: "L04AA44" }] }, "drug:upadacitinib"],
    [{ coding: [{ system: "http://www.whocc.no/atc", code: "L04AA37" }] }, "drug:baricitinib"],
    [{ coding: [{ system: "http://www.whocc.no/atc", code: "D07AC01" }] }, "therapy:topical corticosteroid:topical-corticosteroid"],
    [{ text: "Dupixent 300 mg pen" }, "therapy:dupilumab:biologic"],
    [{ text: "Jakafi 10 mg" }, "drug:ruxolitinib-oral"],
    [{ text: "Opzelura cream" }, "drug:ruxolitinib-cream"],
  ])("drug %j -> %s", (codeable, concept) => {
    const match = matchConcept(codeable, none, "drug");
    expect(match && conceptId(match.concept)).toBe(concept);
  });
});

describe("criteria (clinical-reference 5)", () => {
  it.each<[Criterion, number | null, number | null, MeasureStatus]>([
    ["easi-50", 20, 10, "met"],
    ["easi-50", 20, 10.01, "not-met"],
    ["easi-50", 20, null, "no-value"],
    ["easi-50", null, 5, "no-baseline"],
    ["easi-50", 0, 0, "not-applicable"],
    ["iga-success", 3, 1, "met"],
    ["iga-success", 2, 0, "met"],
    ["iga-success", 3, 2, "not-met"],
    ["iga-success", 1, 0, "not-met"],
    ["iga-success", null, 0, "no-baseline"],
    ["iga-improved", 3, 2, "met"],
    ["iga-improved", 3, 3, "not-met"],
    ["itch-4", 8, 4, "met"],
    ["itch-4", 8, 4.5, "not-met"],
    ["itch-4", 4, 0, "met"],
    ["itch-4", 3.9, 0, "not-applicable"],
    ["itch-4", 3, null, "not-applicable"],
    ["itch-4", 8, null, "no-value"],
    ["pain-3", 7, 4, "met"],
    ["pain-3", 7, 5, "not-met"],
    ["pain-3", 2, 0, "not-applicable"],
  ])("%s baseline %s value %s -> %s", (criterion, baseline, value, status) => {
    expect(assessCriterion(criterion, baseline, value).status).toBe(status);
  });

  it.each([
    [95, "EASI-90"],
    [90, "EASI-90"],
    [89.9, "EASI-75"],
    [75, "EASI-75"],
    [50, "EASI-50"],
    [49.9, "below-EASI-50"],
    [-20, "below-EASI-50"],
  ])("EASI %d%% improvement is %s", (pct, band) => {
    expect(easiBand(pct)).toBe(band);
  });

  it("reports improvement, percent and band for EASI", () => {
    expect(assessCriterion("easi-50", 24, 5)).toMatchObject({ improvement: 19, percentImprovement: 79.2, band: "EASI-75" });
  });
});

describe("verdicts (clinical-reference 5)", () => {
  // window 99..140 from a start at day 0
  it.each<[MeasureStatus[], number, string]>([
    [["met"], 98, "not-due"],
    [["met"], 99, "responded"],
    [["not-met"], 99, "open"],
    [["no-value"], 140, "open"],
    [["not-met"], 141, "not-responded"],
    [["not-met", "no-baseline"], 141, "not-responded"],
    [["not-met", "met"], 141, "responded"],
    [["no-baseline", "no-value"], 141, "not-assessable"],
    [["not-applicable", "no-baseline"], 141, "not-assessable"],
    [["not-applicable"], 141, "not-assessable"],
  ])("%j at day %i -> %s", (statuses, asOfDay, verdict) => {
    expect(verdictOf(statuses, asOfDay, 99, 140, false)).toBe(verdict);
  });
  it("is not-assessable when the course ended before the window opened", () => {
    expect(verdictOf(["no-value"], 200, 99, 140, true)).toBe("not-assessable");
  });
});

function m(day: number, value: number): Measurement {
  return { measure: "itch", date: fromDayNumber(day), day, value, resource: `Observation/${day}`, valid: true, preliminary: false, issued: "", how: "system-code" };
}

describe("baseline and checkpoint values (clinical-reference 4)", () => {
  const start = 1000;
  it.each([
    [[m(start - 30, 5)], 5],
    [[m(start - 31, 5)], null],
    [[m(start + 3, 5)], 5],
    [[m(start + 4, 5)], null],
    [[m(start - 10, 5), m(start - 1, 7)], 7],
  ])("single-value baseline %#", (series, expected) => {
    expect(findBaseline(series, start, start + 500, false, DEFAULT_RULES)?.value ?? null).toBe(expected);
  });

  it("uses the mean of 4 or more diary values in days start-6..start", () => {
    const series = [m(start - 7, 0), m(start - 6, 8), m(start - 4, 6), m(start - 2, 8), m(start, 6)];
    expect(findBaseline(series, start, start + 500, true, DEFAULT_RULES)).toMatchObject({ value: 7, from: "diary-mean" });
    expect(findBaseline(series.slice(0, 4), start, start + 500, true, DEFAULT_RULES)).toMatchObject({ value: 8, from: "single" });
  });

  it.each([
    ["nearest wins", [m(100, 1), m(110, 2)], 112, 2],
    ["tie: the later", [m(108, 1), m(116, 2)], 112, 2],
    ["outside window ignored", [m(98, 1), m(141, 2)], 112, null],
    ["window edges included", [m(99, 3)], 112, 3],
  ])("checkpoint value: %s", (_label, series, target, expected) => {
    expect(findCheckpointValue(series, target, 99, 140, false, DEFAULT_RULES)?.value ?? null).toBe(expected);
  });

  it("uses the mean of 4 or more diary values in target-6..target inside the window", () => {
    const series = [m(21, 9), m(22, 2), m(24, 4), m(26, 2), m(28, 4)];
    expect(findCheckpointValue(series, 28, 22, 42, true, DEFAULT_RULES)).toMatchObject({ value: 3, from: "diary-mean" });
    // day 21 is outside the week-4 window, so only 3 values count: nearest instead
    expect(findCheckpointValue(series.slice(0, 4), 28, 22, 42, true, DEFAULT_RULES)).toMatchObject({ value: 2, from: "single" });
  });
});

function course(drug: Course["drug"], startDay: number, endDay: number | null = null): Course {
  return { drug, route: drug === "ruxolitinib-cream" ? "topical" : "oral", start: fromDayNumber(startDay), startDay, end: endDay === null ? null : fromDayNumber(endDay), endDay, startSource: "MedicationStatement/1", events: [], doseChanges: [], doseMg: null, coveredUntilDay: Infinity };
}
function lab(key: LabKey, day: number): LabResult {
  return { lab: key, date: fromDayNumber(day), day, value: 1, interpretation: null, referenceHigh: null, resource: `Observation/${key}-${day}`, unitProblem: null };
}

describe("lab checklist windows (clinical-reference 6)", () => {
  const start = dayNumber("2026-03-02");
  const statusOf = (drug: Course["drug"], labs: LabResult[], asOffset: number, requirement: string, endOffset: number | null = null) =>
    labChecklist({ course: course(drug, start, endOffset === null ? null : start + endOffset), drug: DEFAULT_RULES.drugs[drug], index: indexLabs(labs), asOfDay: start + asOffset, rules: DEFAULT_RULES, gender: "male", birthDate: "1990-01-01" })
      .find((l) => l.requirement === requirement)?.status ?? "absent";

  it.each<[string, Course["drug"], LabResult[], number, string, string]>([
    ["baseline liver 90 days before", "upadacitinib", [lab("alt", start - 90)], 10, "baseline:liver", "done"],
    ["baseline liver 91 days before", "upadacitinib", [lab("alt", start - 91)], 10, "baseline:liver", "missing"],
    ["baseline hcv 365 days before", "baricitinib", [lab("anti-hcv", start - 365)], 10, "baseline:hcv-screen", "done"],
    ["baseline hbv needs both", "baricitinib", [lab("hbsag", start - 5), lab("anti-hbc", start - 5)], 10, "baseline:hbv-screen", "done"],
    ["baseline cbc by panel", "baricitinib", [lab("cbc-panel", start - 5)], 10, "baseline:cbc", "done"],
    ["abrocitinib cbc needs platelets", "abrocitinib", [lab("cbc-panel", start - 5)], 10, "baseline:cbc", "missing"],
    ["week-4 window opens day 14", "abrocitinib", [], 14, "week-4:cbc", "due"],
    ["week-4 result on day 14", "abrocitinib", [lab("platelets", start + 14)], 20, "week-4:cbc", "done"],
    ["week-4 result on day 13 does not count", "abrocitinib", [lab("platelets", start + 13)], 43, "week-4:cbc", "overdue"],
    ["week-4 closes day 42", "abrocitinib", [], 42, "week-4:lipids", "due"],
    ["week-4 overdue day 43", "abrocitinib", [], 43, "week-4:lipids", "overdue"],
    ["week-12 lipids result day 112", "baricitinib", [lab("triglycerides", start + 112)], 130, "week-12:lipids", "done"],
    ["periodic not due before day 113", "baricitinib", [], 112, "periodic:liver", "not-due"],
    ["periodic due day 113", "baricitinib", [], 113, "periodic:liver", "due"],
    ["periodic due on grace end day 224", "baricitinib", [], 224, "periodic:liver", "due"],
    ["periodic overdue after grace", "baricitinib", [], 225, "periodic:liver", "overdue"],
    ["periodic done", "baricitinib", [lab("ast", start + 190)], 224, "periodic:liver", "done"],
    ["second periodic occurrence due", "baricitinib", [lab("ast", start + 190)], 260, "periodic:liver", "due"],
    ["ruxolitinib cream asks for no labs", "ruxolitinib-cream", [], 100, "baseline:tb-screen", "absent"],
  ])("%s", (_label, drug, labs, asOffset, requirement, expected) => {
    expect(statusOf(drug, labs, asOffset, requirement)).toBe(expected);
  });

  it("leaves out follow-up labs whose window opens after the course ended", () => {
    expect(statusOf("upadacitinib", [], 200, "week-12:lipids", 40)).toBe("absent");
    expect(statusOf("upadacitinib", [], 200, "periodic:cbc", 40)).toBe("absent");
  });

  it("asks for pregnancy tests only for females 12-50", () => {
    const req = (gender: string, birthDate: string) =>
      labChecklist({ course: course("upadacitinib", start), drug: DEFAULT_RULES.drugs.upadacitinib, index: indexLabs([]), asOfDay: start + 10, rules: DEFAULT_RULES, gender, birthDate })
        .some((l) => l.requirement === "baseline:pregnancy");
    expect(req("female", "1996-01-01")).toBe(true);
    expect(req("female", "1970-01-01")).toBe(false);
    expect(req("female", "2016-01-01")).toBe(false);
    expect(req("male", "1996-01-01")).toBe(false);
  });
});

describe("rules are versioned data", () => {
  it("has a version, ids, messages and sources for every rule", () => {
    expect(DEFAULT_RULES.version).toBe(RULES_VERSION);
    for (const def of Object.values(DEFAULT_RULES.rules)) {
      expect(def.message.length).toBeGreaterThan(20);
      // The citation names a label section, trial or guideline a clinician can look up, not a file of this repository.
      expect(def.source).toMatch(/Prescribing Information|SmPC|ACIP|UCUM|et al\./);
      expect(def.source).not.toMatch(/clinical-reference|\.md\b/);
      expect(def.sources.length).toBeGreaterThan(0);
    }
    for (const drug of Object.values(DEFAULT_RULES.drugs)) {
      for (const cp of drug.checkpoints) {
        expect(DEFAULT_RULES.checkpointWindows.some((w) => w.week === cp.week)).toBe(true);
        expect(cp.kind).toBe(cp.week <= 4 ? "early-signal" : "non-response");
        if (cp.week <= 4) expect(cp.severity).toBe("info");
        expect(cp.source).not.toMatch(/clinical-reference|\.md\b/);
        expect(cp.sources.length).toBeGreaterThan(0);
      }
    }
    expect(DEFAULT_RULES.drugs.abrocitinib.checkpoints.find((c) => c.week === 12)?.severity).toBe("info");
    expect(DEFAULT_RULES.drugs.upadacitinib.checkpoints.find((c) => c.week === 12)?.severity).toBe("warning");
  });
});
