/**
 * The JSON contract of the clinic lead's panel API (GET /api/panel/summary, /worklist, /charts and
 * /patients/[source]/[id]). Plain JSON only (no bigint, no Date): the pages hydrate React Query with it.
 * Every number a person reads comes with its denominator and a one-line `definition` shown beside it.
 */
import type { CheckpointVerdict, DrugId, Route, Severity } from "../clinical/types";
import type { PatientViewResponse } from "../fhir/patient-record-types";

/** A count of patients (or courses, checkpoints, labs: the definition says which) with what it means. */
export interface CountFigure {
  count: number;
  definition: string;
}

/** A rate: numerator over a denominator that excludes the not-assessable, and how many were excluded. */
export interface RateFigure {
  numerator: number;
  denominator: number;
  /** Decided checkpoints where the measure belonged to the checkpoint but could not be assessed. */
  notAssessable: number;
  /** numerator / denominator in percent, one decimal; null when the denominator is 0. */
  percent: number | null;
}

export type ResponseMeasure = "easi75" | "igaSuccess" | "itch4" | "pain3";
export const RESPONSE_MEASURES: readonly ResponseMeasure[] = ["easi75", "igaSuccess", "itch4", "pain3"];

export interface ResponseRateRow {
  drug: DrugId;
  week: number;
  /** Decided checkpoints of this drug and week (responded, not responded, not assessable). */
  decided: number;
  /** Only measures that belong to the drug's checkpoint at this week are present. */
  rates: Partial<Record<ResponseMeasure, RateFigure>>;
}

export interface SourceSummary {
  id: string;
  name: string;
  lastSuccessAt: string | null;
}

/** The latest sync run of the selection (any status), for the "synced at" line and the empty state. */
export interface LastSyncInfo {
  source: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface PanelSummary {
  /** The clinic's today (the reference for "due in the next 7 days"). */
  today: string;
  /** The selected source, or null for all sources. */
  source: string | null;
  sources: SourceSummary[];
  lastSync: LastSyncInfo | null;
  /** Patients with an evaluation row (synced and evaluated), whether on a JAK or not. */
  evaluatedPatients: CountFigure;
  onJak: CountFigure & { byDrugRoute: Array<{ drug: DrugId; route: Route; count: number }> };
  responseRates: {
    definitions: Record<ResponseMeasure, string>;
    /** Which checkpoints are counted at all. */
    scope: string;
    rows: ResponseRateRow[];
  };
  notResponded: CountFigure & { denominator: number };
  overdueLabs: CountFigure & { requirements: number; denominator: number };
  abnormalLabs: CountFigure & { results: number; denominator: number };
  /** Patients whose next checkpoint is due soon; count and patients are equal (one checkpoint per patient). */
  dueNext7Days: CountFigure & { patients: number };
  /** Evaluation dates present in the rows (normally one: the last re-evaluation). */
  evaluatedAsOf: { min: string | null; max: string | null };
}

export interface WorklistRow {
  source: string;
  patientId: string;
  name: string | null;
  onJak: boolean;
  drug: DrugId | null;
  route: Route | null;
  courseStart: string | null;
  courseWeek: number | null;
  prescriber: string | null;
  latestCheckpointWeek: number | null;
  latestVerdict: CheckpointVerdict | null;
  flags: Record<Severity, number>;
  labs: { overdue: number; missing: number; abnormal: number };
  nextDue: { date: string; kind: string } | null;
  /** The panel's patient view of this row. */
  href: string;
}

export interface WorklistPage {
  today: string;
  rows: WorklistRow[];
  /** Rows matching the filters, over all pages. */
  total: number;
  page: number;
  pageSize: number;
  pageCount: number;
  /** The filters as applied, in the URL's canonical form (what a bookmark holds). */
  query: string;
  /** One sentence per active filter, for the page's "showing" line. */
  describedFilters: string[];
}

export interface ResponseCurvePoint {
  week: number;
  responded: number;
  notResponded: number;
  notAssessable: number;
  /** responded / (responded + not responded), one decimal; null without any. */
  percent: number | null;
}

export interface LabCompletenessPoint {
  /** YYYY-MM of the requirement's due date. */
  month: string;
  done: number;
  missing: number;
  overdue: number;
  /** done / (done + missing + overdue), one decimal; null without any. */
  percent: number | null;
}

export interface PanelCharts {
  today: string;
  source: string | null;
  responseCurves: { definition: string; series: Array<{ drug: DrugId; points: ResponseCurvePoint[] }> };
  labCompleteness: { definition: string; points: LabCompletenessPoint[] };
}

export interface FilterOptions {
  sources: SourceSummary[];
  prescribers: string[];
}

/** GET /api/panel/patients/[source]/[id]: the patient view built from synced data, plus where it came from. */
export interface SyncedPatientViewResponse extends PatientViewResponse {
  synced: { source: string; sourceName: string; syncedAt: string | null };
}

/** Error body of the panel API. */
export interface PanelErrorBody {
  error: "bad-request" | "not-found" | "no-session" | "session-expired" | "forbidden" | "server-error";
  message: string;
  /** For bad-request: each rejected query parameter and why. */
  problems?: Array<{ param: string; reason: string }>;
}
