/** Hand-made patient views for unit tests (and throwaway visual checks). Not imported by the app. */
import type { PatientEvaluation } from "../clinical/types";
import type { PatientViewResponse } from "../fhir/patient-record-types";

export const MEASURE_UP_URL = "https://doi.org/10.1016/S0140-6736(21)00588-2";
export const RINVOQ_LABEL_URL = "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=2966aec7-2ef0-923c-d8ff-fe1a957bf095";

export function upadacitinibNonResponderEvaluation(): PatientEvaluation {
  return {
    patientId: "p1",
    courses: [
      {
        drug: "abrocitinib",
        route: "oral",
        start: "2025-01-10",
        end: "2025-06-01",
        startSource: "MedicationStatement/old",
        checkpoints: [],
        labs: [],
        doseMg: 100,
      },
      {
        drug: "upadacitinib",
        route: "oral",
        start: "2026-06-01",
        end: null,
        startSource: "MedicationRequest/mr1",
        // The engine's doseMg is the latest dose; the change from the starting dose is annotated.
        doseMg: 30,
        doseChanges: [{ date: "2026-08-01", fromMg: 15, toMg: 30, resource: "MedicationRequest/mr2" }],
        checkpoints: [
          {
            week: 2,
            windowStart: "2026-06-09",
            windowEnd: "2026-06-22",
            verdict: "responded",
            measures: {
              itch: { criterion: "itch-4", status: "met", baseline: 8, value: 3, improvement: 5 },
              pain: { criterion: "pain-3", status: "not-met", baseline: 6, value: 5, improvement: 1 },
            },
          },
          {
            week: 16,
            windowStart: "2026-09-08",
            windowEnd: "2026-10-19",
            verdict: "not-responded",
            measures: {
              easi: { criterion: "easi-50", status: "not-met", baseline: 24, value: 16, improvement: 8, percentImprovement: 33.3, band: "below-EASI-50" },
              itch: { criterion: "itch-4", status: "not-met", baseline: 8, value: 6, improvement: 2 },
            },
          },
          { week: 24, windowStart: "2026-11-09", windowEnd: "2026-12-14", verdict: "not-due", measures: {} },
        ],
        labs: [
          { requirement: "baseline:tb-screen", status: "missing", dueBy: "2026-06-04" },
          {
            requirement: "baseline:cbc",
            status: "done",
            dueBy: "2026-06-04",
            satisfiedBy: ["Observation/cbc1"],
            results: [
              { resource: "Observation/cbc1", date: "2026-06-01", lab: "hemoglobin", display: "Hemoglobin", value: 13.2, unit: "g/dL" },
              {
                resource: "Observation/cbc1", date: "2026-06-01", lab: "anc", display: "ANC", value: 0.8, unit: "10*3/uL",
                abnormal: { ruleId: "abnormal.anc-low", severity: "critical", threshold: "< 1 x10*3/uL" },
              },
              { resource: "Observation/cbc1", date: "2026-06-01", lab: "platelets", display: "Platelets", value: 210, unit: "10*3/uL" },
            ],
          },
          {
            requirement: "baseline:liver",
            status: "done",
            dueBy: "2026-06-04",
            satisfiedBy: ["Observation/alt1"],
            results: [{ resource: "Observation/alt1", date: "2026-05-28", lab: "alt", display: "ALT", value: 32, unit: "U/L", referenceHigh: 40 }],
          },
          { requirement: "week-12:lipids", status: "overdue", dueBy: "2026-09-21" },
          { requirement: "periodic:cbc", status: "due", dueBy: "2026-11-20", occurrence: 1 },
        ],
      },
    ],
    flags: [
      {
        ruleId: "upadacitinib.week-16.non-response", kind: "non-response", severity: "warning", message: "Not responded on upadacitinib at week 16.", source: "Measure Up 1/2 primary endpoint at week 16", course: 1, week: 16,
        sourceLabel: "Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021)", sourceUrl: MEASURE_UP_URL,
      },
      {
        ruleId: "labs.baseline-missing", kind: "missing-lab", severity: "warning", message: "No baseline TB screen on record.", source: "Rinvoq US Prescribing Information sections 2 and 5.1", course: 1, requirement: "baseline:tb-screen",
        sourceLabel: "Rinvoq (upadacitinib) US Prescribing Information, section 5.1", sourceUrl: RINVOQ_LABEL_URL,
      },
      {
        ruleId: "abnormal.anc-low", kind: "abnormal-lab", severity: "critical", message: "Absolute neutrophil count 0.8 x10*3/uL on 2026-06-01 is below 1.0.", source: "Rinvoq US Prescribing Information sections 2 and 5.8", course: 1, resource: "Observation/cbc1",
        sourceLabel: "Rinvoq (upadacitinib) US Prescribing Information, section 5.8", sourceUrl: RINVOQ_LABEL_URL,
      },
    ],
    dataQuality: [{ resource: "Observation/9", issue: "entered-in-error", detail: "Status entered-in-error: ignored." }],
    trends: {
      itch: {
        measure: "itch",
        points: [
          { date: "2026-05-28", value: 8, resource: "Observation/i1", excluded: false },
          { date: "2026-06-15", value: 3, resource: "Observation/i2", excluded: false },
          { date: "2026-06-20", value: 11, resource: "Observation/i3", excluded: true, reason: "out of range 0-10" },
          { date: "2026-09-20", value: 6, resource: "Observation/i4", excluded: false },
        ],
        baseline: { value: 8, date: "2026-05-28", from: "single" },
        latest: { value: 6, date: "2026-09-20" },
        change: -2,
        percentChange: -25,
      },
      easi: {
        measure: "easi",
        points: [
          { date: "2026-05-30", value: 24, resource: "Observation/e1", excluded: false },
          { date: "2026-09-22", value: 16, resource: "Observation/e2", excluded: false },
        ],
        baseline: { value: 24, date: "2026-05-30", from: "single" },
        latest: { value: 16, date: "2026-09-22" },
        change: -8,
        percentChange: -33.3,
      },
    },
    therapyHistory: [
      { therapyClass: "topical-corticosteroid", name: "triamcinolone 0.1% cream", route: "topical", start: "2024-02-01", end: "2024-09-01", resources: ["MedicationRequest/t1"] },
      { therapyClass: "biologic", name: "dupilumab", route: "subcutaneous", start: "2024-10-01", end: "2025-01-01", resources: ["MedicationStatement/d1"] },
    ],
    codeMatches: [
      { resourceType: "Observation", system: null, code: null, display: "Peak pruritus score", concept: "measure:itch", how: "text", count: 3 },
      { resourceType: "Observation", system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument", code: "easi", display: "EASI", concept: "measure:easi", how: "system-code", count: 2 },
      { resourceType: "Observation", system: "http://loinc.org", code: "8302-2", display: "Body height", concept: null, how: null, count: 5, note: "not a monitored concept" },
    ],
  };
}

export function patientView(evaluation: PatientEvaluation = upadacitinibNonResponderEvaluation(), overrides: Partial<PatientViewResponse> = {}): PatientViewResponse {
  return {
    patient: { id: evaluation.patientId, name: "Ada Example", birthDate: "1990-04-02", age: 36, sex: "female" },
    asOf: "2026-11-01",
    rulesVersion: "2026.11.1",
    evaluation,
    fetch: { partial: false, failures: [], requests: 7, bytes: 12000, ms: 240, resourceCounts: { Observation: 12 } },
    access: { scope: "launch patient/*.rs", canWriteObservations: false, fhirServer: "http://127.0.0.1:4100/fhir/r4" },
    ...overrides,
  };
}
