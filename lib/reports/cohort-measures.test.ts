/**
 * Every measure's numbers on a generated cohort (300 patients, seed 5) equal those of an independent oracle
 * (cohort-oracle.test-helper.ts: the cohort's expected.ndjson plus the generator's plan facts, never the engine
 * or lib/reports). The report side runs as the app will: the engine's output per patient (evaluatePatient, as
 * the sync evaluates) plus resource facts read from the FHIR resources. Patients the oracle cannot decide for a
 * measure are left out of that comparison; the rest must cover most of the measure's patients.
 */
import type { Immunization, MedicationRequest, MedicationStatement, Observation, Resource } from "@medplum/fhirtypes";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluatePatient } from "../clinical/index";
import type { LabKey, PatientEvaluation } from "../clinical/types";
import { generateCohort, planPatient, type CohortExpectation } from "../sandbox/cohort/index";
import type { PatientPlan } from "../sandbox/cohort/plan";
import { oracleCases, type OracleCase } from "./cohort-oracle.test-helper";
import { computeMeasure, type LabResultFact, type MeasurePatientRow, type PatientFacts, type ZosterVaccinationFact, type ReportFilters, type ReportPatient, type ReportPeriod } from "./compute";
import { MEASURE_IDS, type MeasureId } from "./measures";

const COHORT = { patients: 300, seed: 5, asOf: "2026-11-01" };
/** Past asOf, so windows and week-24 dates after the evaluation date are counted as exclusions too. */
const PERIOD: ReportPeriod = { from: "2024-01-01", to: "2027-01-31" };
/** A running course's current periodic lab is the engine's call: the follow-up comparison ends 113 days before asOf. */
const FOLLOW_UP_PERIOD: ReportPeriod = { from: "2024-01-01", to: "2026-06-30" };
const FILTER_SETS: ReportFilters[] = [{}, { drug: "upadacitinib" }, { route: "topical" }, { prescriber: "Practitioner/pr-derm-2" }];
/** Share of a measure's patients (with at least one case, no filters) the oracle must decide; filtered subsets can be tiny. */
const MIN_COVERAGE = 0.8;

interface CohortMember {
  expected: CohortExpectation;
  plan: PatientPlan;
  report: ReportPatient;
}

const cohort: CohortMember[] = [];

beforeAll(() => {
  let index = 0;
  for (const patient of generateCohort(COHORT)) {
    const evaluation = evaluatePatient(patient.resources, { asOf: COHORT.asOf, patientId: patient.patientId, details: false });
    cohort.push({
      expected: patient.expected,
      plan: planPatient(index++, COHORT.seed, COHORT.asOf),
      report: { source: "cohort", asOf: COHORT.asOf, evaluation, facts: factsFromResources(patient.resources, evaluation) },
    });
  }
});

// --- The report side's resource facts, read from FHIR as the cohort writes it (codes from clinical-reference 2) ---

const LOINC = "http://loinc.org";
const CVX = "http://hl7.org/fhir/sid/cvx";
const LAB_BY_LOINC: Record<string, LabKey> = {
  "718-7": "hemoglobin",
  "6690-2": "wbc",
  "751-8": "anc",
  "731-0": "alc",
  "777-3": "platelets",
  "1742-6": "alt",
  "1920-8": "ast",
};
const VALID = new Set(["final", "amended", "corrected"]);

function factsFromResources(resources: readonly Resource[], evaluation: PatientEvaluation): PatientFacts {
  const byRef = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
  const zosterVaccinations: ZosterVaccinationFact[] = [];
  const labResults: LabResultFact[] = [];
  for (const r of resources) {
    if (r.resourceType === "Immunization") {
      const imm = r as Immunization;
      const code = imm.vaccineCode.coding?.find((c) => c.system === CVX)?.code;
      if (imm.status === "completed" && (code === "187" || code === "121") && imm.occurrenceDateTime) {
        zosterVaccinations.push({ date: imm.occurrenceDateTime.slice(0, 10), live: code === "121", resource: `Immunization/${imm.id}` });
      }
    } else if (r.resourceType === "Observation") {
      const obs = r as Observation;
      const lab = LAB_BY_LOINC[obs.code.coding?.find((c) => c.system === LOINC)?.code ?? ""];
      if (lab && VALID.has(obs.status) && obs.effectiveDateTime) labResults.push({ resource: `Observation/${obs.id}`, lab, date: obs.effectiveDateTime.slice(0, 10) });
    }
  }
  const prescribers = evaluation.courses.map((course) => {
    for (const ref of [course.startSource, ...(course.sources ?? [])]) {
      const r = byRef.get(ref);
      const who = r?.resourceType === "MedicationRequest" ? (r as MedicationRequest).requester : r?.resourceType === "MedicationStatement" ? (r as MedicationStatement).informationSource : undefined;
      if (who?.reference) return who.reference;
    }
    return null;
  });
  return { prescribers, zosterVaccinations, labResults };
}

// --- Comparison ---------------------------------------------------------------------------------------------

type Comparable = Pick<OracleCase, "patientId" | "courseStart" | "stratum" | "date" | "inNumerator" | "excludedReason">;

function key(c: Comparable): string {
  return `${c.patientId} ${c.courseStart} ${c.stratum} ${c.date}: ${c.inNumerator ? "numerator" : (c.excludedReason ?? "denominator")}`;
}

function reportRow(r: MeasurePatientRow): Comparable {
  return { patientId: r.patientId, courseStart: r.courseStart, stratum: r.stratum, date: r.date, inNumerator: r.inNumerator, ...(r.excludedReason ? { excludedReason: r.excludedReason } : {}) };
}

interface Figures {
  initialPopulation: number;
  denominator: number;
  numerator: number;
  exclusions: Record<string, number>;
}

function figuresOf(cases: readonly Comparable[]): Figures {
  const exclusions: Record<string, number> = {};
  for (const c of cases) if (c.excludedReason) exclusions[c.excludedReason] = (exclusions[c.excludedReason] ?? 0) + 1;
  const counted = cases.filter((c) => !c.excludedReason);
  return { initialPopulation: cases.length, denominator: counted.length, numerator: counted.filter((c) => c.inNumerator).length, exclusions };
}

function monthly(cases: readonly Comparable[]): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const c of cases) {
    if (c.excludedReason) continue;
    const month = c.date.slice(0, 7);
    const entry = (out[month] ??= [0, 0]);
    if (c.inNumerator) entry[0]++;
    entry[1]++;
  }
  return out;
}

function periodFor(measureId: MeasureId): ReportPeriod {
  return measureId === "follow-up-labs" ? FOLLOW_UP_PERIOD : PERIOD;
}

interface Comparison {
  reportCases: Comparable[];
  oracleCases: Comparable[];
  reportFigures: Figures;
  reportTrend: Record<string, [number, number]>;
  decided: number;
  withCases: number;
}

function compare(measureId: MeasureId, filters: ReportFilters): Comparison {
  const period = periodFor(measureId);
  const options = { asOf: COHORT.asOf, period, filters: { ...filters } };
  const decided: CohortMember[] = [];
  const expected: OracleCase[] = [];
  for (const member of cohort) {
    const answer = oracleCases(measureId, member.expected, member.plan, options);
    if (!answer.determined) continue;
    decided.push(member);
    expected.push(...answer.cases);
  }
  const result = computeMeasure(measureId, decided.map((m) => m.report), { period, filters });
  const everyone = computeMeasure(measureId, cohort.map((m) => m.report), { period, filters });
  const decidedIds = new Set(decided.map((m) => m.expected.patientId));
  const withCases = new Set(everyone.patients.map((r) => r.patientId));
  const reportFigures: Figures = {
    initialPopulation: result.initialPopulation,
    denominator: result.denominator,
    numerator: result.numerator,
    exclusions: Object.fromEntries(result.exclusions.filter((e) => e.count > 0).map((e) => [e.reason, e.count])),
  };
  const reportTrend: Record<string, [number, number]> = {};
  for (const t of result.trend) if (t.denominator > 0) reportTrend[t.month] = [t.numerator, t.denominator];
  expect(result.dataNotes).toEqual([]);
  return {
    reportCases: result.patients.map(reportRow),
    oracleCases: expected,
    reportFigures,
    reportTrend,
    decided: [...withCases].filter((id) => decidedIds.has(id)).length,
    withCases: withCases.size,
  };
}

describe.each(MEASURE_IDS)("%s on the generated cohort", (measureId) => {
  it.each(FILTER_SETS)("equals the oracle's cases, numbers and trend (filters %j)", (filters) => {
    const c = compare(measureId, filters);
    expect(c.reportCases.map(key).sort()).toEqual(c.oracleCases.map(key).sort());
    expect(c.reportFigures).toEqual(figuresOf(c.oracleCases));
    expect(c.reportTrend).toEqual(monthly(c.oracleCases));
  });
});

describe("the comparison proves something", () => {
  it.each(MEASURE_IDS)("%s: the oracle decides most of the measure's patients", (measureId) => {
    const c = compare(measureId, {});
    expect(c.withCases).toBeGreaterThan(0);
    expect(c.decided).toBeGreaterThanOrEqual(Math.ceil(c.withCases * MIN_COVERAGE));
  });

  it("covers, for every measure without filters, cases both in and out of the numerator", () => {
    const summary = Object.fromEntries(
      MEASURE_IDS.map((id) => {
        const f = figuresOf(compare(id, {}).oracleCases);
        return [id, { inNumerator: f.numerator, notInNumerator: f.denominator - f.numerator, excluded: f.initialPopulation - f.denominator }];
      }),
    );
    for (const [id, s] of Object.entries(summary)) {
      expect({ id, numerator: s.inNumerator > 0, rest: s.notInNumerator > 0 }).toEqual({ id, numerator: true, rest: true });
    }
  });
});
