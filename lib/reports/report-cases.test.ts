import type { Resource } from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { evaluatePatient } from "../clinical/index";
import type { PatientEvaluation } from "../clinical/types";
import { generateCohort } from "../sandbox/cohort/index";
import { computeMeasure, measureFiguresFromCounts, type OutcomeCount, type ReportOptions, type ReportPatient } from "./compute";
import { MEASURE_IDS } from "./measures";
import { reportCaseRows, reportPatient, type ReportCaseRow } from "./report-cases";

const COHORT = { patients: 120, seed: 3, asOf: "2026-11-01" };

function cohortPatients(): ReportPatient[] {
  return [...generateCohort(COHORT)].map((p) => {
    const evaluation = evaluatePatient(p.resources, { asOf: COHORT.asOf, patientId: p.patientId, details: false, facts: true });
    return reportPatient("cohort", COHORT.asOf, evaluation, evaluation.courses.map((_, i) => (i % 2 === 0 ? "Dr A" : null)));
  });
}

/** What report-queries.ts does in SQL, done over the stored rows in memory. */
function countsOf(rows: readonly ReportCaseRow[], options: ReportOptions): OutcomeCount[] {
  const out: OutcomeCount[] = [];
  for (const r of rows) {
    if (r.caseDate < options.period.from || r.caseDate > options.period.to) continue;
    const f = options.filters ?? {};
    if ((f.drug && r.drug !== f.drug) || (f.route && r.route !== f.route) || (f.prescriber && r.prescriber !== f.prescriber)) continue;
    const outcome = { inNumerator: r.inNumerator, excludedReason: r.excludedReason as OutcomeCount["excludedReason"], cases: 1 };
    out.push({ by: "stratum", key: r.stratum, ...outcome }, { by: "month", key: r.caseDate.slice(0, 7), ...outcome });
  }
  return out;
}

describe("reportCaseRows", () => {
  const patients = cohortPatients();
  const rows = patients.flatMap((p) => reportCaseRows(p).cases);

  it("stores every measure's cases so that any period and filter aggregates to computeMeasure's figures", () => {
    const optionsList: ReportOptions[] = [
      { period: { from: "2020-01-01", to: "2027-12-31" } },
      { period: { from: "2025-03-01", to: "2026-02-28" }, filters: { drug: "abrocitinib" } },
      { period: { from: "2024-01-01", to: "2026-11-01" }, filters: { prescriber: "Dr A", route: "oral" } },
    ];
    for (const measureId of MEASURE_IDS) {
      expect(rows.some((r) => r.measureId === measureId), measureId).toBe(true);
      for (const options of optionsList) {
        const { patients: _list, dataNotes: _notes, ...expected } = computeMeasure(measureId, patients, options);
        const own = rows.filter((r) => r.measureId === measureId);
        expect(measureFiguresFromCounts(measureId, options, countsOf(own, options)), `${measureId} ${JSON.stringify(options)}`).toEqual(expected);
      }
    }
  });

  it("numbers each patient's cases per measure from 0 and writes a missing item as an empty string", () => {
    const keys = new Set(rows.map((r) => `${r.patientId}|${r.measureId}|${r.caseNo}`));
    expect(keys.size).toBe(rows.length);
    expect(rows.filter((r) => r.measureId === "baseline-screening").every((r) => r.item === "")).toBe(true);
    expect(rows.filter((r) => r.measureId === "follow-up-labs").every((r) => r.item !== "")).toBe(true);
  });

  it("says a measure could not be computed for an evaluation made without the engine's facts, instead of guessing", () => {
    const withOral = patients.find((p) => p.evaluation.courses.some((c) => c.route === "oral"))!;
    const { facts: _facts, ...bare } = withOral.evaluation;
    const result = reportCaseRows(reportPatient("cohort", COHORT.asOf, bare as PatientEvaluation, []));
    expect(result.notes.some((n) => n.measureId === "zoster-vaccination" && /without the engine's facts/.test(n.issue))).toBe(true);
    expect(result.cases.some((c) => c.measureId === "zoster-vaccination")).toBe(false);
    expect(result.cases.some((c) => c.measureId === "baseline-screening")).toBe(true);
  });
});

describe("the engine's facts option", () => {
  const resources: Resource[] = [
    { resourceType: "Patient", id: "p1", birthDate: "1980-01-01" },
    { resourceType: "Immunization", id: "z1", status: "completed", patient: { reference: "Patient/p1" }, occurrenceDateTime: "2025-01-10", vaccineCode: { coding: [{ system: "http://hl7.org/fhir/sid/cvx", code: "187" }] } },
    { resourceType: "Immunization", id: "z2", status: "not-done", patient: { reference: "Patient/p1" }, occurrenceDateTime: "2025-02-10", vaccineCode: { coding: [{ system: "http://hl7.org/fhir/sid/cvx", code: "121" }] } },
    { resourceType: "Observation", id: "o1", status: "final", subject: { reference: "Patient/p1" }, effectiveDateTime: "2025-03-01", code: { coding: [{ system: "http://loinc.org", code: "718-7" }] }, valueQuantity: { value: 13, unit: "g/dL", system: "http://unitsofmeasure.org", code: "g/dL" } },
    { resourceType: "Observation", id: "o2", status: "entered-in-error", subject: { reference: "Patient/p1" }, effectiveDateTime: "2025-03-02", code: { coding: [{ system: "http://loinc.org", code: "718-7" }] }, valueQuantity: { value: 3, unit: "g/dL" } },
  ];

  it("lists the completed zoster vaccinations and the valid safety-lab results the engine read", () => {
    const evaluation = evaluatePatient(resources, { asOf: "2026-01-01", patientId: "p1", facts: true, details: false });
    expect(evaluation.facts).toEqual({
      zosterVaccinations: [{ resource: "Immunization/z1", date: "2025-01-10", live: false }],
      labResults: [{ resource: "Observation/o1", lab: "hemoglobin", date: "2025-03-01" }],
    });
  });

  it("is left out unless asked for", () => {
    expect(evaluatePatient(resources, { asOf: "2026-01-01", patientId: "p1" }).facts).toBeUndefined();
  });
});
