/**
 * Streaming XLSX for report exports (exceljs's streaming WorkbookWriter): one sheet per section.
 * - "Summary": the header block (the CSV's headerBlockRows), the totals (initial population, exclusions by reason,
 *   denominator, numerator, rate as a percent), the strata table and the monthly trend table.
 * - "Definitions": the measure's definition as label/value rows, with every exclusion and source.
 * - "Patients": the column names as a bold, frozen header row, then the rows, each committed (written to the zip)
 *   as soon as it is added, so the list is never held in memory.
 *
 * Cells as in the CSV: numbers stay numbers, published counts that are text ("<11", "*") stay text, and a text cell
 * starting with = + - @ tab or CR is prefixed with a single quote (neutraliseFormula) so the sheet stays safe when
 * re-saved as CSV. Dates are written as ISO 8601 text, as in the CSV. Shared strings are off (they would keep every
 * distinct string in memory). No IO but the given stream and no clock: workbook dates are the generation time.
 */
import { PassThrough, type Readable, type Stream } from "node:stream";
import ExcelJS from "exceljs";
import { headerBlockRows, neutraliseFormula, type CsvCell, type CsvRow } from "./csv";
import type { ExportProgress, PublishedCount, PublishedFigures, ReportExportDocument } from "./document";

export interface XlsxExportOptions {
  /** Called with the number of patient rows written, every `progressEvery` rows and once at the end. */
  readonly onProgress?: ExportProgress;
  /** Default 500. */
  readonly progressEvery?: number;
}

export const XLSX_SHEET_NAMES = { summary: "Summary", definitions: "Definitions", patients: "Patients" } as const;
export const XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/** What a rate cell shows when there is no rate (denominator 0, or a count hidden by suppression). */
export const RATE_NOT_AVAILABLE = "n/a";

const PERCENT_FORMAT = "0.0%";
const DEFAULT_PROGRESS_EVERY = 500;
/** Rows looked at to size the patient columns (bounded, so the list still streams). */
const WIDTH_SAMPLE_ROWS = 200;
const MIN_WIDTH = 8;
const MAX_WIDTH = 50;
/** Excel refuses longer cell text. */
const MAX_CELL_TEXT = 32_767;
/** XML buffered in exceljs before its zip entry is read, above which writing waits. */
const MAX_UNPIPED_BUFFERS = 8;
/** Rows written between turns of the event loop. */
const YIELD_EVERY = 64;
const BOLD: Partial<ExcelJS.Font> = { bold: true };

type Sheet = ExcelJS.Worksheet;
type Value = string | number | boolean | null;

function text(value: string): string {
  return neutraliseFormula(value);
}

function countValue(count: PublishedCount): Value {
  if (typeof count === "number") {
    if (!Number.isFinite(count)) throw new RangeError(`XLSX count is not a finite number: ${count}`);
    return count;
  }
  return text(count);
}

function rateValue(rate: number | null): Value {
  if (rate === null) return RATE_NOT_AVAILABLE;
  if (!Number.isFinite(rate)) throw new RangeError(`XLSX rate is not a finite number: ${rate}`);
  return rate;
}

/** A patient-list cell as exceljs writes it; `where` names the cell in errors (never its value: it may be PHI). */
function cellValue(cell: CsvCell, where: string): Value {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === "string") {
    const value = text(cell);
    if (value.length > MAX_CELL_TEXT) throw new RangeError(`XLSX ${where} has ${value.length} characters; a cell holds at most ${MAX_CELL_TEXT}`);
    return value;
  }
  if (typeof cell === "number") {
    if (!Number.isFinite(cell)) throw new RangeError(`XLSX ${where} is not a finite number`);
    return cell;
  }
  if (typeof cell === "bigint") {
    const asNumber = Number(cell);
    return Number.isSafeInteger(asNumber) ? asNumber : cell.toString();
  }
  if (typeof cell === "boolean") return cell;
  if (Number.isNaN(cell.getTime())) throw new RangeError(`XLSX ${where} is an invalid Date`);
  return cell.toISOString();
}

function displayLength(value: Value): number {
  if (value === null) return 0;
  if (typeof value === "number") return String(Math.round(value * 1000) / 1000).length;
  return String(value).length;
}

function widthFor(length: number): number {
  return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, length + 2));
}

function addRow(sheet: Sheet, values: readonly Value[], style: { bold?: boolean; percentColumns?: readonly number[]; wrap?: number } = {}): void {
  const row = sheet.addRow([...values]);
  if (style.bold) row.font = BOLD;
  for (const column of style.percentColumns ?? []) {
    if (typeof values[column - 1] === "number") row.getCell(column).numFmt = PERCENT_FORMAT;
  }
  if (style.wrap !== undefined) row.getCell(style.wrap).alignment = { wrapText: true, vertical: "top" };
  row.commit();
}

function exclusionReasons(doc: ReportExportDocument): Array<{ reason: string; label: string }> {
  const reasons = new Map<string, string>();
  for (const exclusion of doc.definition.exclusions) reasons.set(exclusion.reason, exclusion.label);
  for (const figures of [doc.figures, ...doc.strata]) {
    for (const exclusion of figures.exclusions) if (!reasons.has(exclusion.reason)) reasons.set(exclusion.reason, exclusion.label);
  }
  return [...reasons].map(([reason, label]) => ({ reason, label }));
}

function exclusionCount(figures: PublishedFigures, reason: string): Value {
  const exclusion = figures.exclusions.find((e) => e.reason === reason);
  return exclusion === undefined ? null : countValue(exclusion.count);
}

function writeSummary(sheet: Sheet, doc: ReportExportDocument): void {
  const reasons = exclusionReasons(doc);
  const stratumColumns = ["Stratum", "Initial population", ...reasons.map((r) => `Excluded: ${r.label}`), "Denominator", "Numerator", "Rate"];
  const header = headerBlockRows(doc.header);
  const labels = [...header.map((row) => row[0] ?? ""), ...doc.strata.map((s) => s.label), ...reasons.map((r) => `Excluded: ${r.label}`)];
  sheet.columns = [
    { width: widthFor(Math.max(...labels.map((label) => label.length))) },
    ...stratumColumns.slice(1).map((name) => ({ width: widthFor(Math.min(name.length, 24)) })),
  ];

  for (const [label, value] of header) addRow(sheet, [text(label ?? ""), text(value ?? "")]);
  addRow(sheet, []);

  addRow(sheet, ["Totals"], { bold: true });
  const figures = doc.figures;
  addRow(sheet, ["Initial population", countValue(figures.initialPopulation)]);
  for (const exclusion of figures.exclusions) {
    addRow(sheet, [text(`Excluded: ${exclusion.label}`), countValue(exclusion.count), text(exclusion.reason)]);
  }
  addRow(sheet, ["Denominator", countValue(figures.denominator)]);
  addRow(sheet, ["Numerator", countValue(figures.numerator)]);
  addRow(sheet, ["Rate", rateValue(figures.rate)], { percentColumns: [2] });
  addRow(sheet, [text(`Rate is numerator / denominator; ${RATE_NOT_AVAILABLE} when the denominator is 0 or a count is hidden.`)]);
  addRow(sheet, []);

  addRow(sheet, [text(`Strata: ${doc.definition.stratifier.description}`)], { bold: true });
  addRow(sheet, stratumColumns.map(text), { bold: true });
  const rateColumn = stratumColumns.length;
  for (const stratum of doc.strata) {
    addRow(sheet, [
      text(stratum.label),
      countValue(stratum.initialPopulation),
      ...reasons.map((r) => exclusionCount(stratum, r.reason)),
      countValue(stratum.denominator),
      countValue(stratum.numerator),
      rateValue(stratum.rate),
    ], { percentColumns: [rateColumn] });
  }
  addRow(sheet, []);

  addRow(sheet, ["Monthly trend"], { bold: true });
  addRow(sheet, ["Month", "Denominator", "Numerator", "Rate"], { bold: true });
  for (const point of doc.trend) {
    addRow(sheet, [text(point.month), countValue(point.denominator), countValue(point.numerator), rateValue(point.rate)], { percentColumns: [4] });
  }
}

function writeDefinitions(sheet: Sheet, doc: ReportExportDocument): void {
  const d = doc.definition;
  const rows: Array<[string, string]> = [
    ["Measure", `${d.number}. ${d.title}`],
    ["Measure id", d.id],
    ["Description", d.description],
    ["Scoring", `${d.scoring}; ${d.improvementNotation === "increase" ? "a higher rate is better" : "a lower rate is better"}`],
    ["Counted case", d.basis],
    ["Initial population", d.initialPopulation],
    ["Denominator", d.denominator],
    ...d.exclusions.map((e): [string, string] => [`Exclusion: ${e.label}`, `${e.description} (${e.reason})`]),
    ...(d.exclusions.length === 0 ? [["Exclusions", "none"] as [string, string]] : []),
    ["Numerator", d.numerator],
    ["Period", `${d.period.description} (${d.period.anchor})`],
    ["Stratifier", `${d.stratifier.description} (${d.stratifier.by})`],
    ...d.sources.map((s): [string, string] => [`Source (${s.kind})`, s.citation]),
  ];
  sheet.columns = [{ width: widthFor(Math.max(...rows.map(([label]) => label.length))) }, { width: 100 }];
  addRow(sheet, ["Definition", "Value"], { bold: true });
  for (const [label, value] of rows) addRow(sheet, [text(label), text(value)], { wrap: 2 });
}

interface StreamBufInternals { buffers?: unknown[]; pipes?: unknown[] }
interface WritableState {
  writableNeedDrain?: boolean;
  destroyed?: boolean;
  writableFinished?: boolean;
  /** readable-stream (archiver's streams) keeps its state here, without the newer getters. */
  _writableState?: { needDrain?: boolean };
}
type Emitter = NodeJS.EventEmitter & WritableState;

function isEmitter(stream: unknown): stream is Emitter {
  return typeof stream === "object" && stream !== null && typeof (stream as { once?: unknown }).once === "function";
}

function needsDrain(stream: Emitter): boolean {
  return stream.writableNeedDrain === true || stream._writableState?.needDrain === true;
}

function outputClosedError(): Error {
  return new Error("XLSX output was closed before the export finished");
}

/** Resolves when `target` drains; rejects when `out` (or `target`) errors or closes first (e.g. the download was cancelled). */
function drained(target: Emitter, out: Emitter): Promise<void> {
  return new Promise((resolve, reject) => {
    const streams = target === out ? [out] : [target, out];
    const cleanup = () => {
      target.off("drain", onDrain);
      for (const stream of streams) { stream.off("close", onClose); stream.off("error", onError); }
    };
    const onDrain = () => { cleanup(); resolve(); };
    const onClose = () => { cleanup(); reject(outputClosedError()); };
    const onError = (error: unknown) => { cleanup(); reject(error instanceof Error ? error : new Error(String(error))); };
    target.on("drain", onDrain);
    for (const stream of streams) { stream.on("close", onClose); stream.on("error", onError); }
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Waits until the output and the worksheet's zip entry have room. exceljs's worksheet writer pushes XML into the
 * zip without backpressure, and rows pulled from an iterable only ever wait on microtasks, so without this the
 * zip (compression runs off the main thread) would not move until the whole list had piled up in memory. Every
 * `YIELD_EVERY` rows the event loop gets a turn; whenever the output or the zip entry is full, writing waits for
 * it to drain. exceljs's internals are read defensively: if they change, only the waiting is lost, not correctness.
 */
async function waitForRoom(output: NodeJS.WritableStream, sheet: Sheet, rowsWritten: number): Promise<void> {
  const out: Emitter = output;
  if (rowsWritten % YIELD_EVERY === 0) await nextTurn();
  for (;;) {
    if (out.destroyed) throw outputClosedError();
    if (needsDrain(out)) { await drained(out, out); continue; }
    const buf = (sheet as unknown as { stream?: StreamBufInternals }).stream;
    const entry = Array.isArray(buf?.pipes) ? buf.pipes[0] : undefined;
    if (isEmitter(entry) && needsDrain(entry)) { await drained(entry, out); continue; }
    if (entry === undefined && Array.isArray(buf?.buffers) && buf.buffers.length > MAX_UNPIPED_BUFFERS) {
      // The zip is still busy with an earlier entry; its progress raises no event on this stream.
      await nextTurn();
      continue;
    }
    return;
  }
}

/** Rejects if `out` closes before it has finished (exceljs would otherwise wait for "finish" forever). */
function closedEarly(output: NodeJS.WritableStream): { promise: Promise<never>; dispose: () => void } {
  const out: Emitter = output;
  let onClose = () => {};
  const promise = new Promise<never>((_, reject) => {
    onClose = () => { if (out.writableFinished !== true) reject(outputClosedError()); };
    out.on("close", onClose);
  });
  promise.catch(() => {}); // observed by the race below; never an unhandled rejection
  return { promise, dispose: () => out.off("close", onClose) };
}

async function writePatients(sheet: Sheet, doc: ReportExportDocument, out: NodeJS.WritableStream, options: XlsxExportOptions): Promise<number> {
  const columns = doc.patients.columns;
  const width = columns.length;
  if (width === 0) throw new RangeError("XLSX patient list has no columns");
  const progressEvery = options.progressEvery ?? DEFAULT_PROGRESS_EVERY;
  const iterator = (Symbol.asyncIterator in doc.patients.rows
    ? doc.patients.rows[Symbol.asyncIterator]()
    : doc.patients.rows[Symbol.iterator]()) as AsyncIterator<CsvRow> | Iterator<CsvRow>;
  let rowsWritten = 0;
  const valuesOf = (row: CsvRow): Value[] => {
    const rowNumber = rowsWritten + 1;
    if (row.length !== width) throw new RangeError(`XLSX patient row ${rowNumber} has ${row.length} cells; the list has ${width} columns`);
    return row.map((cell, i) => cellValue(cell, `patient row ${rowNumber} column "${columns[i]}"`));
  };
  try {
    // Column widths must be set before the first row is written: size them from the first rows only.
    const sample: CsvRow[] = [];
    let done = false;
    while (sample.length < WIDTH_SAMPLE_ROWS) {
      const next = await iterator.next();
      if (next.done) { done = true; break; }
      sample.push(next.value);
    }
    const lengths = columns.map((name) => name.length);
    sample.forEach((row, r) => {
      if (row.length !== width) throw new RangeError(`XLSX patient row ${r + 1} has ${row.length} cells; the list has ${width} columns`);
      row.forEach((cell, i) => { lengths[i] = Math.max(lengths[i] ?? 0, displayLength(cellValue(cell, `patient row ${r + 1} column "${columns[i]}"`))); });
    });
    sheet.columns = lengths.map((length) => ({ width: widthFor(length) }));
    addRow(sheet, columns.map(text), { bold: true });

    const write = async (row: CsvRow): Promise<void> => {
      addRow(sheet, valuesOf(row));
      rowsWritten++;
      if (rowsWritten % progressEvery === 0) options.onProgress?.(rowsWritten);
      await waitForRoom(out, sheet, rowsWritten);
    };
    for (const row of sample) await write(row);
    sample.length = 0;
    while (!done) {
      const next = await iterator.next();
      if (next.done) break;
      await write(next.value);
    }
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  options.onProgress?.(rowsWritten);
  return rowsWritten;
}

/** Stops the zip feeding `out` so a failed export never ends it as if it were a complete file. */
function abandon(workbook: ExcelJS.stream.xlsx.WorkbookWriter, out: NodeJS.WritableStream): void {
  const zip = (workbook as unknown as { zip?: { unpipe?: (dest: unknown) => void; abort?: () => void } }).zip;
  zip?.unpipe?.(out);
  zip?.abort?.();
}

/**
 * Writes the report as XLSX to `out` and resolves once `out` has finished. Rejects with a RangeError naming the
 * row and column when a patient row has the wrong number of cells or a cell cannot be written; `out` is then left
 * unended (the caller destroys it), so a partial file never looks complete.
 */
export async function writeReportXlsx(doc: ReportExportDocument, out: NodeJS.WritableStream, options: XlsxExportOptions = {}): Promise<{ rows: number }> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out as unknown as Stream, useStyles: true, useSharedStrings: false });
  workbook.creator = "Eczema JAK Monitor";
  workbook.lastModifiedBy = "Eczema JAK Monitor";
  workbook.created = doc.header.generatedAt;
  workbook.modified = doc.header.generatedAt;
  workbook.title = `${doc.definition.number}. ${doc.definition.title}`;
  try {
    // Sheets are written one after another: each is committed before the next opens, so the zip reads the
    // patient sheet as it is written instead of buffering it behind an open earlier sheet.
    const summary = workbook.addWorksheet(XLSX_SHEET_NAMES.summary);
    writeSummary(summary, doc);
    summary.commit();
    const definitions = workbook.addWorksheet(XLSX_SHEET_NAMES.definitions);
    writeDefinitions(definitions, doc);
    definitions.commit();
    const patients = workbook.addWorksheet(XLSX_SHEET_NAMES.patients, { views: [{ state: "frozen", ySplit: 1 }] });
    const rows = await writePatients(patients, doc, out, options);
    patients.commit();
    const closed = closedEarly(out);
    try {
      await Promise.race([workbook.commit(), closed.promise]);
    } finally {
      closed.dispose();
    }
    return { rows };
  } catch (error) {
    abandon(workbook, out);
    throw error;
  }
}

/** The XLSX as a Node byte stream, e.g. for a route handler; a failure destroys the stream with the error. */
export function reportXlsxReadable(doc: ReportExportDocument, options: XlsxExportOptions = {}): Readable {
  const out = new PassThrough();
  writeReportXlsx(doc, out, options).catch((error: unknown) => {
    out.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return out;
}
