/**
 * One report export from request to bytes: reads the report (lib/reports/report-queries.ts), publishes it
 * (as it is inside the clinic; with small-cell suppression and a de-identified patient list when shared outside),
 * and writes it in the asked format to a stream. Every format reads the same ReportExportDocument.
 *
 * Suppression when shared: the strata table (rows: strata; columns: in numerator, not met, each exclusion reason;
 * row totals are the initial populations) and the trend table (rows: months; columns: in numerator, not met) are
 * suppressed with complementary suppression. A denominator (numerator + not met) is shown only when both its cells
 * are, and a rate only when its numerator and denominator are, so no derived figure reveals a hidden cell.
 */
import { PassThrough, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { RULES_VERSION } from "../../clinical/rules";
import { DRUG_LABELS, measureDefinition, REPORTS_VERSION, type MeasureDefinition } from "../measures";
import type { DrugId } from "../../clinical/types";
import { reportCaseCount, reportCaseStream, reportSummary, type CaseOutcomeFilter, type ReportCaseListRow, type ReportRequest, type ReportSummary } from "../report-queries";
import { csvReadable, type CsvHeaderBlock, type CsvRow } from "./csv";
import { deidentificationNote, deidentifier, type DeidentificationSecret } from "./deidentify";
import type { PublishedCount, PublishedFigures, PublishedStratum, PublishedTrendPoint, ReportExportDocument } from "./document";
import { DEFAULT_SUPPRESSION_K, suppressSmallCells, type PublishedCell } from "./suppression";
import { writeReportXlsx } from "./xlsx";
import { writeReportPdf } from "./pdf";
import { measureReportBundle, type SubjectCase } from "./fhir-measure";

export const EXPORT_FORMATS = ["csv", "xlsx", "pdf", "fhir"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pdf: "application/pdf",
  fhir: "application/fhir+json; charset=utf-8",
};

export interface ExportOptions {
  format: ExportFormat;
  /** CSV: start with a UTF-8 byte order mark for spreadsheet users. */
  bom?: boolean;
  /** For sharing outside the clinic: small-cell suppression and a de-identified patient list. */
  shared?: boolean;
  /** Which cases the patient list holds (default all). */
  outcome?: CaseOutcomeFilter;
}

export interface ExportContext {
  generatedAt: Date;
  /** The app's base URL (FHIR Measure canonical URLs). */
  baseUrl: string;
  /** Who asked, for the document's reporter (FHIR); never a patient. */
  reporter?: string;
  /** Small-cell threshold k (counts 1..k-1 hidden) when shared; default REPORT_SUPPRESSION_K or 11. */
  suppressionK?: number;
  /** Required when shared: the de-identification secret (32+ bytes). */
  secret?: DeidentificationSecret;
  /** Called with rows written so far. */
  onProgress?: (rows: number) => void;
}

export interface ExportResult {
  /** Patient-list rows written (0 for the PDF, which states the list's size instead). */
  rows: number;
  /** Rows the patient list holds. */
  listRows: number;
  fileName: string;
  contentType: string;
}

const OUTCOME_TEXT = (row: ReportCaseListRow): string => (row.inNumerator ? "numerator" : row.excludedReason ? "excluded" : "not met");

const INTERNAL_COLUMNS = ["source", "patient_id", "patient_name", "course", "drug", "route", "course_start", "prescriber", "case_date", "stratum", "item", "outcome", "exclusion_reason"];
const SHARED_COLUMNS = ["pseudonym", "course", "drug", "route", "course_start", "case_date", "stratum", "item", "outcome", "exclusion_reason"];

/** A case's item as shared: requirement ids and symptoms stay; a resource reference (an EHR identifier) does not. */
function sharedItem(item: string | null): string | null {
  if (item === null) return null;
  return /^[A-Z][A-Za-z]+\/./.test(item) ? "(result)" : item;
}

function drugText(drug: string): string {
  return DRUG_LABELS[drug as DrugId] ?? drug;
}

/** The file name of an export: measure, period and format; no patient or user in it. */
export function exportFileName(request: ReportRequest, format: ExportFormat, shared: boolean): string {
  const ext = format === "fhir" ? "json" : format;
  return `${request.measureId}_${request.period.from}_${request.period.to}${shared ? "_shared" : ""}.${ext}`;
}

function headerBlock(definition: MeasureDefinition, request: ReportRequest, summary: ReportSummary, ctx: ExportContext, notes: string[]): CsvHeaderBlock {
  const f = request.filters;
  return {
    report: `${definition.number}. ${definition.title}`,
    measure: `${definition.id} (reports ${REPORTS_VERSION})`,
    period: { start: request.period.from, end: request.period.to },
    filters: { source: f.source, drug: f.drug ? drugText(f.drug) : undefined, route: f.route, prescriber: f.prescriber },
    rulesVersion: summary.evaluations.rulesVersions.length > 0 ? summary.evaluations.rulesVersions.join(", ") : RULES_VERSION,
    generatedAt: ctx.generatedAt,
    notes: [
      summary.evaluations.asOfTo
        ? `Evaluations of ${summary.evaluations.patients} patients as of ${summary.evaluations.asOfFrom === summary.evaluations.asOfTo ? summary.evaluations.asOfTo : `${summary.evaluations.asOfFrom} to ${summary.evaluations.asOfTo}`}.`
        : "No evaluated patients in these filters.",
      ...(summary.dataNotes > 0 ? [`${summary.dataNotes} data note(s): records this measure could not count (listed on the report page).`] : []),
      ...notes,
    ],
  };
}

function cellValue(cell: PublishedCell): PublishedCount {
  return cell.status === "shown" ? cell.count : cell.display;
}

function rateOf(numerator: PublishedCount, denominator: PublishedCount): number | null {
  return typeof numerator === "number" && typeof denominator === "number" && denominator > 0 ? numerator / denominator : null;
}

/** Numerator + not met, shown only when both are. */
function denominatorOf(numerator: PublishedCell, notMet: PublishedCell, marker: string): PublishedCount {
  return numerator.status === "shown" && notMet.status === "shown" ? numerator.count + notMet.count : marker;
}

/** The report's figures as published: as computed, or suppressed for sharing. */
export function publishFigures(
  summary: ReportSummary, definition: MeasureDefinition, shared: boolean, k: number,
): { figures: PublishedFigures; strata: PublishedStratum[]; trend: PublishedTrendPoint[]; notes: string[]; hidden: boolean } {
  if (!shared) {
    return {
      hidden: false,
      figures: { initialPopulation: summary.initialPopulation, denominator: summary.denominator, numerator: summary.numerator, rate: summary.rate, exclusions: summary.exclusions },
      strata: summary.strata.map((s) => ({ key: s.key, label: s.label, initialPopulation: s.initialPopulation, denominator: s.denominator, numerator: s.numerator, rate: s.rate, exclusions: s.exclusions })),
      trend: summary.trend.map((t) => ({ ...t })),
      notes: [],
    };
  }
  const reasons = definition.exclusions;
  const strataTable = suppressSmallCells(
    {
      rowLabels: summary.strata.map((s) => s.key),
      columnLabels: ["numerator", "not-met", ...reasons.map((r) => r.reason)],
      counts: summary.strata.map((s) => [s.numerator, s.denominator - s.numerator, ...s.exclusions.map((e) => e.count)]),
    },
    { k },
  );
  const trendTable = suppressSmallCells(
    {
      rowLabels: summary.trend.map((t) => t.month),
      columnLabels: ["numerator", "not-met"],
      counts: summary.trend.map((t) => [t.numerator, t.denominator - t.numerator]),
    },
    { k },
  );
  const marker = "*";
  const figuresFrom = (cells: readonly PublishedCell[], total: PublishedCell) => {
    const numerator = cellValue(cells[0]!);
    const denominator = denominatorOf(cells[0]!, cells[1]!, marker);
    return {
      initialPopulation: cellValue(total),
      numerator,
      denominator,
      rate: rateOf(numerator, denominator),
      exclusions: reasons.map((r, i) => ({ reason: r.reason, label: r.label, count: cellValue(cells[2 + i]!) })),
    };
  };
  const strata = summary.strata.map((s, i) => ({ key: s.key, label: s.label, ...figuresFrom(strataTable.cells[i]!, strataTable.rowTotals[i]!) }));
  const figures = figuresFrom(strataTable.columnTotals, strataTable.grandTotal);
  const trend = summary.trend.map((t, i) => {
    const [num, notMet] = trendTable.cells[i]!;
    const numerator = cellValue(num!);
    const denominator = denominatorOf(num!, notMet!, marker);
    return { month: t.month, numerator, denominator, rate: rateOf(numerator, denominator) };
  });
  // The shared list's drug and outcome columns rebuild the strata table, not the trend (its dates are shifted).
  const hidden = [...strataTable.cells.flat(), ...strataTable.rowTotals, ...strataTable.columnTotals, strataTable.grandTotal].some((cell) => cell.status !== "shown");
  return {
    figures,
    strata,
    trend,
    hidden,
    notes: [
      strataTable.note,
      "A denominator is shown only when its numerator and not-met counts are, and a rate only when both its counts are shown. The strata and trend tables are suppressed separately.",
    ],
  };
}

function sharedRows(rows: AsyncIterable<ReportCaseListRow>, secret: DeidentificationSecret): AsyncIterable<CsvRow> {
  const deidentify = deidentifier({
    secret,
    dateFields: ["courseStart", "caseDate"] as const,
    keepFields: ["course", "drug", "route", "stratum", "item", "outcome", "exclusion"] as const,
  });
  return (async function* () {
    for await (const r of rows) {
      const d = deidentify({
        sourceId: r.source,
        patientId: r.patientId,
        courseStart: r.courseStart,
        caseDate: r.date,
        course: r.courseIndex + 1,
        drug: drugText(r.drug),
        route: r.route,
        stratum: r.stratum,
        item: sharedItem(r.item),
        outcome: OUTCOME_TEXT(r),
        exclusion: r.excludedReason,
      });
      yield [d.pseudonym, d.course, d.drug, d.route, d.courseStart, d.caseDate, d.stratum, d.item, d.outcome, d.exclusion];
    }
  })();
}

function internalRows(rows: AsyncIterable<ReportCaseListRow>): AsyncIterable<CsvRow> {
  return (async function* () {
    for await (const r of rows) {
      yield [r.source, r.patientId, r.patientName, r.courseIndex + 1, drugText(r.drug), r.route, r.courseStart, r.prescriber, r.date, r.stratum, r.item, OUTCOME_TEXT(r), r.excludedReason];
    }
  })();
}

/** The document every writer reads; the patient list is pulled from the database as the writer goes. */
export async function exportDocument(
  pool: pg.Pool, request: ReportRequest, options: Omit<ExportOptions, "format">, ctx: ExportContext,
): Promise<{ document: ReportExportDocument; rows: number; withheld: boolean }> {
  const definition = measureDefinition(request.measureId);
  const shared = options.shared ?? false;
  if (shared && ctx.secret === undefined) throw new Error("A shared export needs the de-identification secret (REPORT_DEIDENTIFICATION_SECRET).");
  const k = ctx.suppressionK ?? DEFAULT_SUPPRESSION_K;
  const [summary, rows] = await Promise.all([reportSummary(pool, request), reportCaseCount(pool, request, options.outcome)]);
  const published = publishFigures(summary, definition, shared, k);
  const notes = [...published.notes];
  if (shared) notes.push(deidentificationNote(), "Names, patient ids, prescribers and record references are left out.");
  if (options.outcome && options.outcome !== "all") notes.push(`Patient list: ${options.outcome} cases only.`);
  // A case list with outcomes would give hidden counts away: a shared export with any hidden count leaves it out.
  const withholdList = shared && published.hidden;
  if (withholdList) notes.push("The patient list is left out of this shared export: some counts by stratum are hidden, and a list of cases would reveal them.");
  const stream = withholdList ? emptyRows() : reportCaseStream(pool, request, { outcome: options.outcome });
  const listRows = withholdList ? 0 : rows;
  const document: ReportExportDocument = {
    header: headerBlock(definition, request, summary, ctx, notes),
    definition,
    figures: published.figures,
    strata: published.strata,
    trend: published.trend,
    shared,
    patients: shared ? { columns: SHARED_COLUMNS, rows: sharedRows(stream, ctx.secret!), count: listRows } : { columns: INTERNAL_COLUMNS, rows: internalRows(stream), count: listRows },
  };
  return { document, rows: listRows, withheld: withholdList };
}

function percent(rate: number | null): string {
  return rate === null ? "-" : `${(rate * 100).toFixed(1)}%`;
}

/** The figures as lines of text (the CSV header block): totals, exclusions by reason, each stratum. */
export function figureLines(doc: ReportExportDocument): string[] {
  const f = doc.figures;
  const lines = [
    `Rate ${percent(f.rate)}: numerator ${f.numerator} of denominator ${f.denominator}; initial population ${f.initialPopulation}.`,
    ...f.exclusions.map((e) => `Excluded (${e.label}): ${e.count}.`),
  ];
  for (const s of doc.strata) lines.push(`${s.label}: ${percent(s.rate)}, ${s.numerator} of ${s.denominator} (initial population ${s.initialPopulation}).`);
  return lines;
}

async function* emptyRows(): AsyncGenerator<ReportCaseListRow, void, undefined> {
  // Nothing: the list is withheld.
}

/** Counts rows as a writer pulls them (for progress and the audit record). */
function counted(rows: AsyncIterable<CsvRow> | Iterable<CsvRow>, onRow: () => void): AsyncIterable<CsvRow> {
  return (async function* () {
    for await (const row of rows) {
      onRow();
      yield row;
    }
  })();
}

/** The cases of a FHIR subject-list, by patient reference (a pseudonym when shared). */
async function subjectCases(pool: pg.Pool, request: ReportRequest, options: ExportOptions, ctx: ExportContext, onRow: () => void): Promise<SubjectCase[]> {
  const shared = options.shared ?? false;
  const pseudonymOf = shared ? deidentifier({ secret: ctx.secret!, dateFields: [] as const, keepFields: [] as const }) : null;
  const cases: SubjectCase[] = [];
  for await (const row of reportCaseStream(pool, request, { outcome: options.outcome })) {
    onRow();
    const id = pseudonymOf ? pseudonymOf({ sourceId: row.source, patientId: row.patientId }).pseudonym : row.patientId;
    cases.push({ reference: `Patient/${id}`, inNumerator: row.inNumerator, excluded: row.excludedReason !== null });
  }
  return cases;
}

/** Writes one export to `out`; resolves with the rows written. */
export async function writeExport(pool: pg.Pool, request: ReportRequest, options: ExportOptions, ctx: ExportContext, out: Writable): Promise<ExportResult> {
  const { document, rows: listRows, withheld } = await exportDocument(pool, request, options, ctx);
  let rows = 0;
  document.patients = { ...document.patients, rows: counted(document.patients.rows, () => rows++) };
  const shared = options.shared ?? false;
  const progress = (n: number) => ctx.onProgress?.(n);
  switch (options.format) {
    case "csv": {
      // One table per CSV file: the figures travel in the header block, the patient list is the table.
      const header = { ...document.header, notes: [...figureLines(document), ...(document.header.notes ?? [])] };
      await pipeline(csvReadable({ header, columns: document.patients.columns, rows: document.patients.rows }, { bom: options.bom, onProgress: progress }), out);
      break;
    }
    case "xlsx":
      // The XLSX writer leaves `out` open when it fails: end it so the reader sees the failure.
      await writeReportXlsx(document, out, { onProgress: progress }).catch((error: unknown) => {
        out.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      });
      break;
    case "pdf":
      // The PDF shows the count of the list, not its rows.
      await writeReportPdf(document, out);
      break;
    case "fhir": {
      // Summary only when the list is withheld; otherwise a subject-list with the cases' patients.
      const withList = !withheld;
      const patientReferences = withList ? await subjectCases(pool, request, options, ctx, () => rows++) : undefined;
      const bundle = measureReportBundle({
        definition: document.definition,
        reportsVersion: REPORTS_VERSION,
        baseUrl: ctx.baseUrl,
        figures: document.figures,
        strata: document.strata,
        period: request.period,
        generatedAt: ctx.generatedAt,
        ...(ctx.reporter ? { reporter: ctx.reporter } : {}),
        type: withList ? "subject-list" : "summary",
        ...(patientReferences ? { patientReferences } : {}),
        shared,
        notes: document.header.notes ?? [],
      });
      await pipeline(toReadable(JSON.stringify(bundle, null, 2)), out);
      break;
    }
  }
  ctx.onProgress?.(rows);
  return { rows, listRows, fileName: exportFileName(request, options.format, shared), contentType: EXPORT_CONTENT_TYPES[options.format] };
}

function toReadable(text: string): Readable {
  const stream = new PassThrough();
  stream.end(text);
  return stream;
}
