import { PassThrough, Writable } from "node:stream";
import ExcelJS from "exceljs";
import { describe, expect, it } from "vitest";
import type { CsvRow } from "./csv";
import type { ReportExportDocument } from "./document";
import {
  SAMPLE_FORMULA_TEXT, SAMPLE_PATIENT_COLUMNS, samplePatientRow, sampleReportDocument,
} from "./document.test-helper";
import { RATE_NOT_AVAILABLE, reportXlsxReadable, writeReportXlsx, XLSX_SHEET_NAMES, type XlsxExportOptions } from "./xlsx";

/** A sink that keeps what it is given and counts bytes as they arrive. */
function bufferSink(): { out: Writable; bytes: () => number; buffer: () => Buffer } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      bytes += chunk.length;
      callback();
    },
  });
  return { out, bytes: () => bytes, buffer: () => Buffer.concat(chunks) };
}

/** exceljs types its input as its own Buffer interface; a Node Buffer is what it reads. */
async function loadWorkbook(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ExcelJS.Buffer);
  return workbook;
}

async function render(doc: ReportExportDocument, options: XlsxExportOptions = {}): Promise<{ workbook: ExcelJS.Workbook; rows: number }> {
  const sink = bufferSink();
  const { rows } = await writeReportXlsx(doc, sink.out, options);
  return { workbook: await loadWorkbook(sink.buffer()), rows };
}

function sheet(workbook: ExcelJS.Workbook, name: string): ExcelJS.Worksheet {
  const found = workbook.getWorksheet(name);
  if (!found) throw new Error(`no sheet ${name}`);
  return found;
}

/** The row whose first cell is `label`. */
function rowLabelled(ws: ExcelJS.Worksheet, label: string): ExcelJS.Row {
  for (let r = 1; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    if (row.getCell(1).value === label) return row;
  }
  throw new Error(`no row labelled ${label} in ${ws.name}`);
}

function valuesOf(row: ExcelJS.Row, count: number): unknown[] {
  return Array.from({ length: count }, (_, i) => row.getCell(i + 1).value);
}

describe("writeReportXlsx", () => {
  it("writes the Summary, Definitions and Patients sheets in that order", async () => {
    const { workbook } = await render(sampleReportDocument());
    expect(workbook.worksheets.map((ws) => ws.name)).toEqual([XLSX_SHEET_NAMES.summary, XLSX_SHEET_NAMES.definitions, XLSX_SHEET_NAMES.patients]);
    expect(["Summary", "Definitions", "Patients"]).toEqual(Object.values(XLSX_SHEET_NAMES));
  });

  it("opens the summary with the header block: measure, period, filters, rules version, generation time and notes", async () => {
    const ws = sheet((await render(sampleReportDocument())).workbook, "Summary");
    expect(ws.getRow(1).getCell(1).value).toBe("Report");
    expect(rowLabelled(ws, "Report").getCell(2).value).toBe("EASI-75 at the primary checkpoint");
    expect(rowLabelled(ws, "Measure").getCell(2).value).toBe("easi-75-primary (2026.11.1)");
    expect(rowLabelled(ws, "Period").getCell(2).value).toBe("2026-01-01 to 2026-06-30");
    expect(rowLabelled(ws, "Filter: drug").getCell(2).value).toBe("upadacitinib, abrocitinib");
    expect(rowLabelled(ws, "Filter: source").getCell(2).value).toBe("epic-main");
    expect(rowLabelled(ws, "Rules version").getCell(2).value).toBe("2026.9.0");
    expect(rowLabelled(ws, "Generated at").getCell(2).value).toBe("2026-07-01T08:30:00.000Z");
    expect(rowLabelled(ws, "Note").getCell(2).value).toBe('Counts from 1 to 10 are shown as "<11".');
  });

  it("neutralises a formula-like filter value in the header block so it stays text", async () => {
    const ws = sheet((await render(sampleReportDocument())).workbook, "Summary");
    const cell = rowLabelled(ws, "Filter: prescriber").getCell(2);
    expect(cell.type).toBe(ExcelJS.ValueType.String);
    expect(cell.value).toBe(`'${SAMPLE_FORMULA_TEXT}`);
  });

  it("writes the totals with counts as numbers, a hidden count as text and the rate as a percent", async () => {
    const ws = sheet((await render(sampleReportDocument())).workbook, "Summary");
    expect(rowLabelled(ws, "Initial population").getCell(2).value).toBe(120);
    expect(rowLabelled(ws, "Denominator").getCell(2).value).toBe(90);
    expect(rowLabelled(ws, "Numerator").getCell(2).value).toBe(63);
    const rate = rowLabelled(ws, "Rate").getCell(2);
    expect(rate.value).toBe(0.7);
    expect(rate.numFmt).toBe("0.0%");
    expect(valuesOf(rowLabelled(ws, "Excluded: Course ended before the window"), 3)).toEqual(["Excluded: Course ended before the window", 12, "window-after-course-end"]);
    const hidden = rowLabelled(ws, "Excluded: Window still open").getCell(2);
    expect(hidden.value).toBe("<11");
    expect(hidden.type).toBe(ExcelJS.ValueType.String);
    expect(rowLabelled(ws, "Excluded: No EASI baseline").getCell(2).value).toBe("*");
    expect(rowLabelled(ws, "Excluded: No EASI in window").getCell(2).value).toBe(0);
  });

  it("writes the strata table with one column per exclusion reason and n/a for a rate that cannot be given", async () => {
    const ws = sheet((await render(sampleReportDocument())).workbook, "Summary");
    const header = rowLabelled(ws, "Stratum");
    expect(header.font?.bold).toBe(true);
    expect(valuesOf(header, 10)).toEqual([
      "Stratum", "Initial population", "Excluded: Course ended before the window", "Excluded: Window not yet open",
      "Excluded: Window still open", "Excluded: No EASI baseline", "Excluded: No EASI in window", "Denominator", "Numerator", "Rate",
    ]);
    const upadacitinib = rowLabelled(ws, "Upadacitinib");
    expect(valuesOf(upadacitinib, 10)).toEqual(["Upadacitinib", 42, 12, null, null, null, 0, 30, 18, 0.6]);
    expect(upadacitinib.getCell(10).numFmt).toBe("0.0%");
    expect(valuesOf(rowLabelled(ws, "Baricitinib"), 10)).toEqual(["Baricitinib", "<11", null, null, "<11", null, null, "<11", "*", RATE_NOT_AVAILABLE]);
  });

  it("writes the monthly trend, a month without cases and a month with a hidden count included", async () => {
    const ws = sheet((await render(sampleReportDocument())).workbook, "Summary");
    expect(valuesOf(rowLabelled(ws, "Month"), 4)).toEqual(["Month", "Denominator", "Numerator", "Rate"]);
    expect(valuesOf(rowLabelled(ws, "2026-01"), 4)).toEqual(["2026-01", 12, 6, 0.5]);
    expect(rowLabelled(ws, "2026-01").getCell(4).numFmt).toBe("0.0%");
    expect(valuesOf(rowLabelled(ws, "2026-03"), 4)).toEqual(["2026-03", 0, 0, RATE_NOT_AVAILABLE]);
    expect(valuesOf(rowLabelled(ws, "2026-05"), 4)).toEqual(["2026-05", 14, "<11", RATE_NOT_AVAILABLE]);
    expect(rowLabelled(ws, "2026-06").number).toBe(rowLabelled(ws, "2026-01").number + 5);
  });

  it("writes the definition with every exclusion, the period, the stratifier and every source", async () => {
    const doc = sampleReportDocument();
    const ws = sheet((await render(doc)).workbook, "Definitions");
    const d = doc.definition;
    expect(rowLabelled(ws, "Measure").getCell(2).value).toBe(`4. ${d.title}`);
    expect(rowLabelled(ws, "Description").getCell(2).value).toBe(d.description);
    expect(rowLabelled(ws, "Initial population").getCell(2).value).toBe(d.initialPopulation);
    expect(rowLabelled(ws, "Denominator").getCell(2).value).toBe(d.denominator);
    expect(rowLabelled(ws, "Numerator").getCell(2).value).toBe(d.numerator);
    for (const exclusion of d.exclusions) {
      expect(rowLabelled(ws, `Exclusion: ${exclusion.label}`).getCell(2).value).toBe(`${exclusion.description} (${exclusion.reason})`);
    }
    expect(rowLabelled(ws, "Period").getCell(2).value).toBe(`${d.period.description} (checkpoint-target)`);
    expect(rowLabelled(ws, "Stratifier").getCell(2).value).toBe(`${d.stratifier.description} (drug)`);
    const citations: unknown[] = [];
    ws.eachRow((row) => { if (String(row.getCell(1).value).startsWith("Source (")) citations.push(row.getCell(2).value); });
    expect(citations).toEqual(d.sources.map((s) => s.citation));
  });

  it("says a measure without exclusions has none", async () => {
    const ws = sheet((await render(sampleReportDocument({ measure: "zoster-vaccination" }))).workbook, "Definitions");
    expect(rowLabelled(ws, "Exclusions").getCell(2).value).toBe("none");
  });

  it("writes the patient list under a bold frozen header row, values typed and formula-like text neutralised", async () => {
    const { workbook, rows } = await render(sampleReportDocument({ patientRows: 25 }));
    const ws = sheet(workbook, "Patients");
    expect(rows).toBe(25);
    expect(ws.rowCount).toBe(26);
    expect(valuesOf(ws.getRow(1), SAMPLE_PATIENT_COLUMNS.length)).toEqual([...SAMPLE_PATIENT_COLUMNS]);
    expect(ws.getRow(1).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    expect(valuesOf(ws.getRow(2), 8)).toEqual(["P000001", "upadacitinib", "2025-01-01", "2026-01-01", "not met", null, 20, 3.5]);
    expect(ws.getRow(3).getCell(9).value).toBe(`'${SAMPLE_FORMULA_TEXT}`);
    expect(ws.getRow(4).getCell(9).value).toBe("'-5 points");
    expect(ws.getRow(11).getCell(6).value).toBe("no-value");
    expect(ws.getRow(11).getCell(8).value).toBeNull();
    expect(ws.getRow(26).getCell(1).value).toBe("P000025");
    expect(ws.getColumn(4).width).toBeGreaterThanOrEqual("checkpoint target".length);
  });

  it("writes dates as ISO text, booleans as booleans and big integers as numbers, as the CSV does", async () => {
    const doc: ReportExportDocument = {
      ...sampleReportDocument(),
      patients: { columns: ["at", "flag", "count"], rows: [[new Date("2026-02-03T04:05:06Z"), true, 12n]] },
    };
    const ws = sheet((await render(doc)).workbook, "Patients");
    expect(valuesOf(ws.getRow(2), 3)).toEqual(["2026-02-03T04:05:06.000Z", true, 12]);
  });

  it("reports progress every progressEvery rows and once at the end", async () => {
    const seen: number[] = [];
    await render(sampleReportDocument({ patientRows: 25 }), { onProgress: (n) => seen.push(n), progressEvery: 10 });
    expect(seen).toEqual([10, 20, 25]);
  });

  it("pulls an async list of 5,000 rows as it writes them, streams the file out meanwhile and keeps their order", async () => {
    const total = 5000;
    const sink = bufferSink();
    let pulled = 0;
    let bytesBeforeLastRow = -1;
    async function* rows(): AsyncGenerator<CsvRow> {
      for (let i = 0; i < total; i++) {
        if (i === total - 1) bytesBeforeLastRow = sink.bytes();
        pulled++;
        yield samplePatientRow(i);
      }
    }
    let maxLead = 0;
    const doc: ReportExportDocument = { ...sampleReportDocument(), patients: { columns: [...SAMPLE_PATIENT_COLUMNS], rows: rows() } };
    const result = await writeReportXlsx(doc, sink.out, { progressEvery: 100, onProgress: (written) => { maxLead = Math.max(maxLead, pulled - written); } });
    expect(result.rows).toBe(total);
    // Only the first rows (sizing the columns) are read ahead of writing.
    expect(maxLead).toBeLessThanOrEqual(201);
    expect(bytesBeforeLastRow).toBeGreaterThan(sink.bytes() / 2);

    const workbook = await loadWorkbook(sink.buffer());
    const ws = sheet(workbook, "Patients");
    expect(ws.rowCount).toBe(total + 1);
    const pseudonyms: unknown[] = [];
    ws.eachRow((row, n) => { if (n > 1) pseudonyms.push(row.getCell(1).value); });
    expect(pseudonyms).toEqual(Array.from({ length: total }, (_, i) => samplePatientRow(i)[0]));
  });

  it("rejects a patient row with the wrong number of cells, naming the row, and leaves the output unended", async () => {
    const doc: ReportExportDocument = {
      ...sampleReportDocument(),
      patients: { columns: ["a", "b"], rows: [["1", "2"], ["3"]] },
    };
    const sink = bufferSink();
    await expect(writeReportXlsx(doc, sink.out)).rejects.toThrow(/patient row 2 has 1 cells; the list has 2 columns/);
    expect(sink.out.writableEnded).toBe(false);
  });

  it("rejects a cell that cannot be written, naming its row and column but not its value", async () => {
    const doc: ReportExportDocument = {
      ...sampleReportDocument(),
      patients: { columns: ["name", "score"], rows: [["x", 1], ["y", Number.NaN]] },
    };
    await expect(writeReportXlsx(doc, bufferSink().out)).rejects.toThrow('XLSX patient row 2 column "score" is not a finite number');
  });

  it("passes on an error thrown by the row source", async () => {
    async function* failing(): AsyncGenerator<CsvRow> {
      yield ["a"];
      throw new Error("database went away");
    }
    const doc: ReportExportDocument = { ...sampleReportDocument(), patients: { columns: ["a"], rows: failing() } };
    await expect(writeReportXlsx(doc, bufferSink().out)).rejects.toThrow("database went away");
  });

  it("stops with an error when the reader cancels the download", async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<CsvRow> {
      for (;;) { pulled++; yield samplePatientRow(pulled); }
    }
    const out = new PassThrough();
    const doc: ReportExportDocument = { ...sampleReportDocument(), patients: { columns: [...SAMPLE_PATIENT_COLUMNS], rows: endless() } };
    const writing = writeReportXlsx(doc, out, { progressEvery: 1000, onProgress: (n) => { if (n === 3000) out.destroy(); } });
    await expect(writing).rejects.toThrow("XLSX output was closed before the export finished");
    expect(pulled).toBeLessThan(3100);
  });
});

describe("reportXlsxReadable", () => {
  it("streams a workbook that opens with all three sheets", async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of reportXlsxReadable(sampleReportDocument({ asyncRows: true, patientRows: 30 }))) chunks.push(chunk as Buffer);
    const workbook = await loadWorkbook(Buffer.concat(chunks));
    expect(workbook.worksheets.map((ws) => ws.name)).toEqual(["Summary", "Definitions", "Patients"]);
    expect(sheet(workbook, "Patients").rowCount).toBe(31);
  });

  it("fails the stream when the export fails", async () => {
    const doc: ReportExportDocument = { ...sampleReportDocument(), patients: { columns: ["a"], rows: [["1", "2"]] } };
    const read = async () => { for await (const _ of reportXlsxReadable(doc)) { /* drain */ } };
    await expect(read()).rejects.toThrow(/patient row 1 has 2 cells/);
  });
});
