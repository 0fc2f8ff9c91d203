/**
 * Quality reports read from PostgreSQL: every figure is an aggregation of report_cases (the cases stored with each
 * patient's evaluation, lib/reports/report-cases.ts) for the request's measure, period and filters, assembled by
 * the same code as the pure computation (measureFiguresFromCounts), so SQL and computeMeasure agree. The patient
 * list is read in the computation's order with keyset paging over the table's index, so an export of any size
 * streams in bounded memory.
 */
import type pg from "pg";
import type { DrugId, Route } from "../clinical/types";
import { cachedByEvaluations } from "../db/evaluation-cache";
import { measureFiguresFromCounts, type MeasureResult, type OutcomeCount, type ReportFilters, type ReportPeriod } from "./compute";
import { MEASURE_IDS, type ExclusionReason, type MeasureId } from "./measures";

export interface ReportRequest {
  measureId: MeasureId;
  period: ReportPeriod;
  filters: ReportFilters;
}

/** What the evaluations behind a report were computed for. */
export interface ReportEvaluationInfo {
  /** Patients with a stored evaluation (in the source filter, when given). */
  patients: number;
  /** Earliest and latest evaluation dates (asOf) among them; equal after a nightly run. */
  asOfFrom: string | null;
  asOfTo: string | null;
  rulesVersions: string[];
  /** When the latest evaluation was written (ISO timestamp). */
  evaluatedAt: string | null;
}

export interface ReportSummary extends Omit<MeasureResult, "patients" | "dataNotes"> {
  /** Data notes (what the measure could not count) of the patients in the filters. */
  dataNotes: number;
  evaluations: ReportEvaluationInfo;
}

/** Which cases of the list to show. */
export type CaseOutcomeFilter = "all" | "numerator" | "not-met" | "excluded" | "denominator";
export const CASE_OUTCOME_FILTERS: readonly CaseOutcomeFilter[] = ["all", "numerator", "not-met", "excluded", "denominator"];

export interface ReportCaseListRow {
  source: string;
  patientId: string;
  /** The synced Patient's name; internal lists only (exports for sharing drop it). */
  patientName: string | null;
  courseIndex: number;
  drug: DrugId;
  route: Route;
  courseStart: string;
  prescriber: string | null;
  date: string;
  stratum: string;
  item: string | null;
  inNumerator: boolean;
  excludedReason: ExclusionReason | null;
}

export interface ReportCasePage {
  rows: ReportCaseListRow[];
  total: number;
  page: number;
  pageSize: number;
}

export interface ReportDataNoteRow {
  source: string;
  patientId: string;
  resource: string | null;
  issue: string;
}

/** WHERE clause over report_cases (alias c) for a request; parameters appended to `params`. */
function caseConditions(request: ReportRequest, params: unknown[], outcome: CaseOutcomeFilter = "all"): string {
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = [`c.measure_id = ${p(request.measureId)}`, `c.case_date >= ${p(request.period.from)}`, `c.case_date <= ${p(request.period.to)}`];
  const f = request.filters;
  if (f.source !== undefined) where.push(`c.source = ${p(f.source)}`);
  if (f.drug !== undefined) where.push(`c.drug = ${p(f.drug)}`);
  if (f.route !== undefined) where.push(`c.route = ${p(f.route)}`);
  if (f.prescriber !== undefined) where.push(`c.prescriber = ${p(f.prescriber)}`);
  if (outcome === "numerator") where.push("c.in_numerator");
  else if (outcome === "not-met") where.push("NOT c.in_numerator AND c.excluded_reason IS NULL");
  else if (outcome === "excluded") where.push("c.excluded_reason IS NOT NULL");
  else if (outcome === "denominator") where.push("c.excluded_reason IS NULL");
  return where.join(" AND ");
}

/**
 * The report's figures: totals, exclusions by reason, strata, the monthly trend; one scan of the measure's cases,
 * cached until an evaluation is written (the report page asks for the figures and a page of the list at once:
 * both share this computation).
 */
export function reportSummary(pool: pg.Pool, request: ReportRequest): Promise<ReportSummary> {
  return cachedByEvaluations(pool, JSON.stringify(["report-summary", request.measureId, request.period, request.filters]), null, () => computeSummary(pool, request));
}

async function computeSummary(pool: pg.Pool, request: ReportRequest): Promise<ReportSummary> {
  const params: unknown[] = [];
  const where = caseConditions(request, params);
  // One grouping by stratum and month; the strata and the trend are both sums over it.
  const counts = pool.query<{ stratum: string; month: string; in_numerator: boolean; excluded_reason: ExclusionReason | null; cases: string }>(
    `SELECT c.stratum, left(c.case_date, 7) AS month, c.in_numerator, c.excluded_reason, count(*) AS cases
       FROM report_cases c WHERE ${where}
      GROUP BY 1, 2, 3, 4`,
    params,
  );
  const noteParams: unknown[] = [request.measureId];
  let noteWhere = "n.measure_id = $1";
  if (request.filters.source !== undefined) {
    noteParams.push(request.filters.source);
    noteWhere += ` AND n.source = $${noteParams.length}`;
  }
  const notes = pool.query<{ n: string }>(`SELECT count(*) AS n FROM report_notes n WHERE ${noteWhere}`, noteParams);
  const evaluations = reportEvaluationInfo(pool, request.filters.source);
  const [c, n, e] = await Promise.all([counts, notes, evaluations]);
  const outcomeCounts: OutcomeCount[] = c.rows.flatMap((r) => {
    const outcome = { inNumerator: r.in_numerator, excludedReason: r.excluded_reason, cases: Number(r.cases) };
    return [
      { by: "stratum" as const, key: r.stratum, ...outcome },
      { by: "month" as const, key: r.month, ...outcome },
    ];
  });
  const figures = measureFiguresFromCounts(request.measureId, { period: request.period, filters: request.filters }, outcomeCounts);
  return { ...figures, dataNotes: Number(n.rows[0]?.n ?? 0), evaluations: e };
}

/** The cases a list of the given outcome holds, from the report's figures. */
export function outcomeTotal(summary: Pick<ReportSummary, "initialPopulation" | "denominator" | "numerator" | "exclusions">, outcome: CaseOutcomeFilter = "all"): number {
  switch (outcome) {
    case "all":
      return summary.initialPopulation;
    case "numerator":
      return summary.numerator;
    case "not-met":
      return summary.denominator - summary.numerator;
    case "excluded":
      return summary.exclusions.reduce((n, e) => n + e.count, 0);
    case "denominator":
      return summary.denominator;
  }
}

/** What the report's evaluations were computed for; cached until an evaluation is written (a scan of evaluations). */
export function reportEvaluationInfo(pool: pg.Pool, source?: string): Promise<ReportEvaluationInfo> {
  return cachedByEvaluations(pool, JSON.stringify(["report-evaluations", source ?? null]), source ?? null, () => evaluationInfo(pool, source));
}

async function evaluationInfo(pool: pg.Pool, source?: string): Promise<ReportEvaluationInfo> {
  const { rows } = await pool.query<{ patients: string; as_of_from: string | null; as_of_to: string | null; versions: string[] | null; evaluated_at: Date | null }>(
    `SELECT count(*) AS patients, min(as_of) AS as_of_from, max(as_of) AS as_of_to,
            array_agg(DISTINCT rules_version) FILTER (WHERE rules_version IS NOT NULL) AS versions, max(evaluated_at) AS evaluated_at
       FROM evaluations ${source === undefined ? "" : "WHERE source = $1"}`,
    source === undefined ? [] : [source],
  );
  const r = rows[0];
  return {
    patients: Number(r?.patients ?? 0),
    asOfFrom: r?.as_of_from ?? null,
    asOfTo: r?.as_of_to ?? null,
    rulesVersions: (r?.versions ?? []).sort(),
    evaluatedAt: r?.evaluated_at ? r.evaluated_at.toISOString() : null,
  };
}

interface CaseRecord {
  source: string;
  patient_id: string;
  patient_name: string | null;
  course_index: number;
  drug: DrugId;
  route: Route;
  course_start: string;
  prescriber: string | null;
  case_date: string;
  stratum: string;
  item: string;
  in_numerator: boolean;
  excluded_reason: ExclusionReason | null;
  case_no: number;
}

const CASE_COLUMNS = `c.source, c.patient_id, c.course_index, c.drug, c.route, c.course_start, c.prescriber, c.case_date,
  c.stratum, c.item, c.in_numerator, c.excluded_reason, c.case_no`;
// The computation's order (date, source, patient, course, item), then the stored case number: the index's order.
const LIST_ORDER = "c.case_date, c.source, c.patient_id, c.course_index, c.item, c.case_no";

/** The cases picked and ordered on report_cases alone (its index), then named from evaluations for those rows only. */
function listSql(where: string, limit: string): string {
  return `SELECT c.*, e.patient_name FROM (SELECT ${CASE_COLUMNS} FROM report_cases c WHERE ${where} ORDER BY ${LIST_ORDER} ${limit}) AS c
    LEFT JOIN evaluations e ON e.source = c.source AND e.patient_id = c.patient_id ORDER BY ${LIST_ORDER}`;
}

function listRow(r: CaseRecord): ReportCaseListRow {
  return {
    source: r.source,
    patientId: r.patient_id,
    patientName: r.patient_name,
    courseIndex: r.course_index,
    drug: r.drug,
    route: r.route,
    courseStart: r.course_start,
    prescriber: r.prescriber,
    date: r.case_date,
    stratum: r.stratum,
    item: r.item === "" ? null : r.item,
    inNumerator: r.in_numerator,
    excludedReason: r.excluded_reason,
  };
}

/** One page of the case list (page from 1), with the total for the pager (from the report's cached figures). */
export async function reportCasePage(pool: pg.Pool, request: ReportRequest, options: { page: number; pageSize: number; outcome?: CaseOutcomeFilter }): Promise<ReportCasePage> {
  const page = Math.max(1, Math.floor(options.page));
  const pageSize = Math.min(500, Math.max(1, Math.floor(options.pageSize)));
  const params: unknown[] = [];
  const where = caseConditions(request, params, options.outcome);
  params.push(pageSize, (page - 1) * pageSize);
  const [rows, summary] = await Promise.all([
    pool.query<CaseRecord>(listSql(where, `LIMIT $${params.length - 1} OFFSET $${params.length}`), params),
    reportSummary(pool, request),
  ]);
  return { rows: rows.rows.map(listRow), total: outcomeTotal(summary, options.outcome), page, pageSize };
}

/** Number of cases a list or export of the request holds. */
export async function reportCaseCount(pool: pg.Pool, request: ReportRequest, outcome: CaseOutcomeFilter = "all"): Promise<number> {
  const params: unknown[] = [];
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM report_cases c WHERE ${caseConditions(request, params, outcome)}`, params);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Every case of the request in list order, read in keyset batches (each a short index range scan), so memory
 * holds one batch whatever the list's size.
 */
export async function* reportCaseStream(pool: pg.Pool, request: ReportRequest, options: { batchSize?: number; outcome?: CaseOutcomeFilter } = {}): AsyncGenerator<ReportCaseListRow, void, undefined> {
  const batchSize = options.batchSize ?? 5_000;
  let after: CaseRecord | null = null;
  for (;;) {
    const params: unknown[] = [];
    let where = caseConditions(request, params, options.outcome);
    if (after) {
      params.push(after.case_date, after.source, after.patient_id, after.course_index, after.item, after.case_no);
      const n = params.length;
      where += ` AND (c.case_date, c.source, c.patient_id, c.course_index, c.item, c.case_no) > ($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}::integer, $${n - 1}, $${n}::integer)`;
    }
    params.push(batchSize);
    const { rows } = await pool.query<CaseRecord>(listSql(where, `LIMIT $${params.length}`), params);
    for (const r of rows) yield listRow(r);
    if (rows.length < batchSize) return;
    after = rows[rows.length - 1]!;
  }
}

/** What the measure could not count for the patients of the source filter (first `limit`). */
export async function reportDataNotes(pool: pg.Pool, request: Pick<ReportRequest, "measureId" | "filters">, limit = 200): Promise<ReportDataNoteRow[]> {
  const params: unknown[] = [request.measureId];
  let where = "measure_id = $1";
  if (request.filters.source !== undefined) {
    params.push(request.filters.source);
    where += ` AND source = $${params.length}`;
  }
  params.push(limit);
  const { rows } = await pool.query<{ source: string; patient_id: string; resource: string | null; issue: string }>(
    `SELECT source, patient_id, resource, issue FROM report_notes WHERE ${where} ORDER BY source, patient_id, note_no LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({ source: r.source, patientId: r.patient_id, resource: r.resource, issue: r.issue }));
}

/** The values the report filters offer: sources and prescribers with cases. */
export async function reportFilterChoices(pool: pg.Pool): Promise<{ sources: Array<{ id: string; name: string }>; prescribers: string[] }> {
  const [sources, prescribers] = await Promise.all([
    pool.query<{ id: string; name: string }>("SELECT id, name FROM sources ORDER BY name, id"),
    pool.query<{ prescriber: string }>("SELECT DISTINCT prescriber FROM evaluations WHERE prescriber IS NOT NULL ORDER BY prescriber LIMIT 500"),
  ]);
  return { sources: sources.rows, prescribers: prescribers.rows.map((r) => r.prescriber) };
}

/** Cases per measure for the catalogue (any period). */
export async function reportCatalogueCounts(pool: pg.Pool): Promise<Record<MeasureId, number>> {
  const { rows } = await pool.query<{ measure_id: string; n: string }>("SELECT measure_id, count(*) AS n FROM report_cases GROUP BY measure_id");
  const out = Object.fromEntries(MEASURE_IDS.map((id) => [id, 0])) as Record<MeasureId, number>;
  for (const r of rows) if ((MEASURE_IDS as readonly string[]).includes(r.measure_id)) out[r.measure_id as MeasureId] = Number(r.n);
  return out;
}

