/**
 * A patient's cases of every measure, for storage beside the patient's evaluation (report_cases): computed once
 * when the patient is evaluated, for all time and without filters, so a report for any period and filters is an
 * aggregation in SQL (lib/reports/report-queries.ts) instead of a pass over every patient's evaluation.
 * A case's outcome never depends on the report's period or filters (compute.ts picks cases by their date and
 * course only), which is what makes this equal to computeMeasure; report-queries.int.test.ts checks it.
 */
import type { PatientEvaluation } from "../clinical/types";
import { patientMeasureRows, type MeasureDataNote, type ReportPatient } from "./compute";
import { MEASURE_IDS, type MeasureId } from "./measures";

export interface ReportCaseRow {
  source: string;
  patientId: string;
  measureId: MeasureId;
  /** Position of the case among the patient's cases of the measure (the stored key). */
  caseNo: number;
  courseIndex: number;
  drug: string;
  route: string;
  courseStart: string;
  prescriber: string | null;
  /** The date that puts the case in a period (the measure's period anchor). */
  caseDate: string;
  stratum: string;
  /** "" when the case is about its course alone (compute's null). */
  item: string;
  inNumerator: boolean;
  excludedReason: string | null;
}

export interface ReportNoteRow {
  source: string;
  patientId: string;
  measureId: MeasureId;
  noteNo: number;
  resource: string | null;
  issue: string;
}

export interface ReportCaseRows {
  cases: ReportCaseRow[];
  notes: ReportNoteRow[];
}

/** The report input of one evaluated patient: the evaluation with the engine's facts, and each course's prescriber. */
export function reportPatient(source: string, asOf: string, evaluation: PatientEvaluation, prescribers: ReadonlyArray<string | null>): ReportPatient {
  const patient: ReportPatient = { source, asOf, evaluation, facts: { prescribers } };
  if (evaluation.facts) patient.facts = { prescribers, zosterVaccinations: evaluation.facts.zosterVaccinations, labResults: evaluation.facts.labResults };
  return patient;
}

/**
 * Every case of every measure for one patient. An evaluation made without the engine's facts (option `facts`)
 * cannot decide the zoster and repeat-lab measures: they get a note saying so instead of wrong numbers.
 */
export function reportCaseRows(patient: ReportPatient): ReportCaseRows {
  const source = patient.source ?? "";
  const patientId = patient.evaluation.patientId;
  const cases: ReportCaseRow[] = [];
  const notes: ReportNoteRow[] = [];
  const withFacts = patient.facts?.zosterVaccinations !== undefined && patient.facts.labResults !== undefined;
  for (const measureId of MEASURE_IDS) {
    const measureNotes: MeasureDataNote[] = [];
    let rows;
    try {
      rows = patientMeasureRows(measureId, patient, {}, measureNotes);
    } catch (error) {
      if (withFacts) throw error;
      notes.push({ source, patientId, measureId, noteNo: 0, resource: null, issue: "evaluated without the engine's facts: this measure could not be computed" });
      continue;
    }
    rows.forEach((row, caseNo) => {
      cases.push({
        source,
        patientId,
        measureId,
        caseNo,
        courseIndex: row.courseIndex,
        drug: row.drug,
        route: row.route,
        courseStart: row.courseStart,
        prescriber: row.prescriber,
        caseDate: row.date,
        stratum: row.stratum,
        item: row.item ?? "",
        inNumerator: row.inNumerator,
        excludedReason: row.excludedReason ?? null,
      });
    });
    measureNotes.forEach((note, noteNo) => notes.push({ source, patientId, measureId, noteNo, resource: note.resource, issue: note.issue }));
  }
  return { cases, notes };
}
