/**
 * Streaming CSV for report exports: RFC 4180 (fields quoted when they hold a comma, quote, CR or LF; quotes
 * doubled; CRLF line ends), optional UTF-8 byte order mark so spreadsheets read UTF-8, and safe to open in a
 * spreadsheet: a text cell starting with = + - @ tab, CR or LF (or their full-width forms) is prefixed with a
 * single quote so it is shown as text and never run as a formula (CSV injection, OWASP).
 *
 * Numbers, booleans and dates are written as values and never prefixed (a typed -3 is a number, not a formula);
 * pass numeric data as numbers. The document opens with a header block (report, measure, period, filters, rules
 * version, generation time, the neutralisation rule and any notes), one "label,value" row each, then an empty row,
 * the column names and the rows. Header rows are padded to the column count so the file stays rectangular.
 *
 * Rows are pulled one at a time from an (async) iterable and written in chunks of about 64 KiB, so memory stays
 * bounded whatever the number of rows; the Node and web stream forms pull only when the reader asks (backpressure).
 */
import { Readable } from "node:stream";

export type CsvCell = string | number | bigint | boolean | Date | null | undefined;
export type CsvRow = readonly CsvCell[];

export interface CsvHeaderBlock {
  /** Report title, e.g. the measure's title. */
  readonly report: string;
  /** Measure id (and version if any), e.g. "jak-baseline-screening". */
  readonly measure: string;
  /** Inclusive period, YYYY-MM-DD. */
  readonly period: { readonly start: string; readonly end: string };
  /** Filters as given (source, drug, route, prescriber, ...); empty values are left out. */
  readonly filters: Readonly<Record<string, string | readonly string[] | null | undefined>>;
  readonly rulesVersion: string;
  readonly generatedAt: Date;
  /** Further lines for the reader, e.g. the suppression or de-identification note. */
  readonly notes?: readonly string[];
}

export interface CsvDocument {
  /** Leading rows describing the export; left out when undefined. */
  readonly header?: CsvHeaderBlock;
  readonly columns: readonly string[];
  readonly rows: AsyncIterable<CsvRow> | Iterable<CsvRow>;
}

export interface CsvOptions {
  /** Start with a UTF-8 byte order mark (U+FEFF) so Excel reads the file as UTF-8. Default false. */
  readonly bom?: boolean;
  /** Called with the number of data rows written after each chunk and once at the end (for a progress indicator). */
  readonly onProgress?: (rowsWritten: number) => void;
  /** Approximate chunk size in UTF-16 code units before a chunk is emitted. Default 65,536. */
  readonly chunkSize?: number;
}

export const CSV_BOM = "\uFEFF";
const CRLF = "\r\n";
const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** First characters a spreadsheet may treat as the start of a formula or that hide one (full-width forms included). */
const FORMULA_TRIGGER = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;
const NEEDS_QUOTES = /[",\r\n]/;

export const FORMULA_NEUTRALISATION_NOTE =
  "Text cells starting with =, +, -, @, a tab or a carriage return are prefixed with a single quote (') so spreadsheets show them as text instead of running them as formulas.";

/** The text of a cell as a spreadsheet should see it: a leading quote when the text could start a formula. */
export function neutraliseFormula(text: string): string {
  return FORMULA_TRIGGER.test(text) ? `'${text}` : text;
}

function cellText(cell: CsvCell): string {
  if (cell === null || cell === undefined) return "";
  if (typeof cell === "string") return neutraliseFormula(cell);
  if (typeof cell === "number") {
    if (!Number.isFinite(cell)) throw new RangeError(`CSV cell is not a finite number: ${cell}`);
    return String(cell);
  }
  if (cell instanceof Date) {
    if (Number.isNaN(cell.getTime())) throw new RangeError("CSV cell is an invalid Date");
    return cell.toISOString();
  }
  return String(cell);
}

/** One RFC 4180 field, neutralised then quoted when needed. */
export function csvField(cell: CsvCell): string {
  const text = cellText(cell);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record with its CRLF line end. */
export function csvRecord(row: CsvRow): string {
  let line = "";
  for (let i = 0; i < row.length; i++) line += (i === 0 ? "" : ",") + csvField(row[i]);
  return line + CRLF;
}

function filterText(value: string | readonly string[] | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = typeof value === "string" ? value : value.join(", ");
  return text === "" ? undefined : text;
}

/** The header block's rows (label, value), as written before the column names. */
export function headerBlockRows(header: CsvHeaderBlock): string[][] {
  const rows: string[][] = [
    ["Report", header.report],
    ["Measure", header.measure],
    ["Period", `${header.period.start} to ${header.period.end}`],
  ];
  const filters = Object.entries(header.filters)
    .map(([name, value]) => [name, filterText(value)] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  if (filters.length === 0) rows.push(["Filters", "none"]);
  for (const [name, value] of filters) rows.push([`Filter: ${name}`, value]);
  rows.push(["Rules version", header.rulesVersion]);
  if (Number.isNaN(header.generatedAt.getTime())) throw new RangeError("CSV header generatedAt is an invalid Date");
  rows.push(["Generated at", header.generatedAt.toISOString()]);
  rows.push(["Cells", FORMULA_NEUTRALISATION_NOTE]);
  for (const note of header.notes ?? []) rows.push(["Note", note]);
  return rows;
}

function padded(row: readonly string[], width: number): CsvRow {
  return row.length >= width ? row : [...row, ...new Array<string>(width - row.length).fill("")];
}

/**
 * The CSV as string chunks of about `chunkSize`. Throws (from the iterator) a RangeError naming the row when a row
 * has a different number of cells than there are columns, or a cell is not writable (NaN, invalid Date).
 */
export async function* csvChunks(doc: CsvDocument, options: CsvOptions = {}): AsyncGenerator<string, void, undefined> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const width = doc.columns.length;
  if (width === 0) throw new RangeError("CSV document has no columns");
  let chunk = options.bom ? CSV_BOM : "";
  if (doc.header) {
    for (const row of headerBlockRows(doc.header)) chunk += csvRecord(padded(row, width));
    chunk += csvRecord(padded([], width));
  }
  chunk += csvRecord(doc.columns);
  let rowsWritten = 0;
  for await (const row of doc.rows) {
    if (row.length !== width) {
      throw new RangeError(`CSV row ${rowsWritten + 1} has ${row.length} cells; the document has ${width} columns`);
    }
    chunk += csvRecord(row);
    rowsWritten++;
    if (chunk.length >= chunkSize) {
      yield chunk;
      chunk = "";
      options.onProgress?.(rowsWritten);
    }
  }
  if (chunk !== "") yield chunk;
  options.onProgress?.(rowsWritten);
}

async function* utf8(chunks: AsyncIterable<string>): AsyncGenerator<Buffer, void, undefined> {
  for await (const chunk of chunks) yield Buffer.from(chunk, "utf8");
}

/** The CSV as a Node byte stream (UTF-8), e.g. for `pipeline(csvReadable(doc), file)`. */
export function csvReadable(doc: CsvDocument, options: CsvOptions = {}): Readable {
  return Readable.from(utf8(csvChunks(doc, options)), { objectMode: false });
}

/** The CSV as a web byte stream (UTF-8), e.g. for `new Response(csvWebStream(doc))` in a route handler. */
export function csvWebStream(doc: CsvDocument, options: CsvOptions = {}): ReadableStream<Uint8Array> {
  const chunks = csvChunks(doc, options);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
