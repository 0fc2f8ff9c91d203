import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { CsvRow } from "./csv";
import type { ReportExportDocument } from "./document";
import { sampleReportDocument } from "./document.test-helper";
import { patientListLine, reportPdfReadable, winAnsiText, writeReportPdf, type PdfExportOptions, type PdfReportResult } from "./pdf";

const run = promisify(execFile);
const PDFTOPPM = "/usr/bin/pdftoppm";
const PDFTOTEXT = "/usr/bin/pdftotext";
const hasPdftoppm = existsSync(PDFTOPPM);
const A4_HEIGHT = 841.89;

async function render(doc: ReportExportDocument, options: PdfExportOptions = {}): Promise<{ bytes: Buffer; result: PdfReportResult }> {
  const chunks: Buffer[] = [];
  const out = new Writable({ write(chunk: Buffer, _encoding, callback) { chunks.push(chunk); callback(); } });
  const result = await writeReportPdf(doc, out, options);
  return { bytes: Buffer.concat(chunks), result };
}

/** The text shown by an uncompressed pdfkit PDF: each TJ array's hex strings decoded (WinAnsi, read as Latin-1), one line each. */
function shownText(pdf: Buffer): string {
  const lines: string[] = [];
  for (const [, array] of pdf.toString("latin1").matchAll(/\[([^\]]*)\]\s*TJ/g)) {
    lines.push([...(array ?? "").matchAll(/<([0-9a-fA-F]*)>/g)].map(([, hex]) => Buffer.from(hex ?? "", "hex").toString("latin1")).join(""));
  }
  return lines.join("\n");
}

/** The document information dictionary's Title of an uncompressed PDF. */
function metadataTitle(pdf: Buffer): string | undefined {
  const text = pdf.toString("latin1");
  const ref = /\/Title (\d+) 0 R/.exec(text)?.[1];
  return ref === undefined ? undefined : new RegExp(`\\n${ref} 0 obj\\n\\((.*)\\)\\nendobj`).exec(text)?.[1];
}

interface Gray { width: number; height: number; pixels: Buffer }

/** A binary PGM (P5, 8-bit) as written by `pdftoppm -gray`. */
function parsePgm(file: Buffer): Gray {
  let offset = 0;
  const tokens: string[] = [];
  while (tokens.length < 4) {
    while (/\s/.test(String.fromCharCode(file[offset] ?? 0))) offset++;
    if (file[offset] === 0x23) { while (file[offset] !== 0x0a) offset++; continue; } // comment line
    let token = "";
    while (offset < file.length && !/\s/.test(String.fromCharCode(file[offset] ?? 0))) token += String.fromCharCode(file[offset++] ?? 0);
    tokens.push(token);
  }
  offset++; // the single whitespace after maxval
  const [magic, width, height, maxval] = tokens;
  if (magic !== "P5" || maxval !== "255") throw new Error(`not an 8-bit binary PGM: ${magic} ${maxval}`);
  const w = Number(width);
  const h = Number(height);
  const pixels = file.subarray(offset, offset + w * h);
  if (pixels.length !== w * h) throw new Error("PGM is truncated");
  return { width: w, height: h, pixels };
}

/** Share of pixels darker than mid-grey inside a rectangle given in pixels. */
function darkShare(image: Gray, box = { x: 0, y: 0, width: image.width, height: image.height }): number {
  let dark = 0;
  let all = 0;
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(image.height, Math.ceil(box.y + box.height)); y++) {
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(image.width, Math.ceil(box.x + box.width)); x++) {
      all++;
      if ((image.pixels[y * image.width + x] ?? 255) < 128) dark++;
    }
  }
  return all === 0 ? 0 : dark / all;
}

async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), "report-pdf-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("winAnsiText", () => {
  it.each([
    ["itch >= 4 points", "itch >= 4 points"],
    ["baseline ≥ 4, ≤ 10, ≠ 3", "baseline >= 4, <= 10, != 3"],
    ["±180 days, 8 g/dL, 1000/mm³, café", "±180 days, 8 g/dL, 1000/mm³, café"],
    ["“quoted” – dash — and … €", "“quoted” – dash — and … €"],
    ["cafe\u0301 (decomposed)", "café (decomposed)"],
    ["＝SUM(A1) ﬁne", "=SUM(A1) fine"],
    ["week 4 → week 16, 5 μg", "week 4 -> week 16, 5 µg"],
    ["tab\there\r\nnext\u0007", "tab here\nnext"],
    ["患者 😀", "?? ?"],
  ])("shows %j as %j", (input, expected) => {
    expect(winAnsiText(input)).toBe(expected);
  });
});

describe("patientListLine", () => {
  const doc = sampleReportDocument();
  it("points to the CSV/XLSX export with the row count inside the clinic", () => {
    expect(patientListLine(doc, 1234)).toBe("Patient list: 1,234 rows, available in the CSV/XLSX export.");
  });
  it("when shared, prints a count the published initial population already shows", () => {
    expect(patientListLine({ ...doc, shared: true }, 120)).toBe("Patient list: 120 rows (de-identified).");
    expect(patientListLine({ ...doc, shared: true }, 0)).toBe("Patient list: 0 rows (de-identified).");
  });
  it("when shared, does not print a count the published figures do not show (it could undo suppression)", () => {
    const hidden = { ...doc, shared: true, figures: { ...doc.figures, initialPopulation: "<11" } };
    expect(patientListLine(hidden, 7)).not.toMatch(/\d/);
    expect(patientListLine({ ...doc, shared: true }, 119)).not.toMatch(/\d/);
  });
});

describe("writeReportPdf", () => {
  it("writes an A4 PDF", async () => {
    const { bytes, result } = await render(sampleReportDocument());
    expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(bytes.subarray(-6).toString("latin1")).toContain("%%EOF");
    expect(bytes.toString("latin1")).toMatch(/\/MediaBox \[0 0 595\.28 841\.89\]/);
    expect(result.pages).toBeGreaterThanOrEqual(1);
  });

  it("prints the title, header block, summary figures, strata, trend labels and definitions", async () => {
    const doc = sampleReportDocument();
    const text = shownText((await render(doc, { compress: false })).bytes);
    for (const expected of [
      "Measure 4: EASI-75 at the primary checkpoint",
      "2026-01-01 to 2026-06-30", "upadacitinib, abrocitinib", "2026.9.0", "2026-07-01T08:30:00.000Z",
      'Counts from 1 to 10 are shown as "<11".',
      "Initial population", "120", "Excluded: Window still open", "<11", "Denominator", "90", "Numerator", "63", "70.0 %",
      "Upadacitinib", "Baricitinib", "62.9 %", "n/a",
      "Jan", "Jun", "2026", "n 12", "none", "<11/14", "100 %",
      "Definitions", "Courses whose EASI at the primary checkpoint is at least 75% below baseline.",
      "Measure Up 1/2: EASI-75 at week 16",
      "Patient list: 25 rows, available in the CSV/XLSX export.",
    ]) expect(text).toContain(expected);
    // The spreadsheet-only formula note is left out; the formula-like filter is plain text here.
    expect(text).not.toContain("prefixed with a single quote");
    expect(text).toContain('=HYPERLINK("http://evil.example","click")');
  });

  it("spells out characters the standard fonts cannot show", async () => {
    const text = shownText((await render(sampleReportDocument(), { compress: false })).bytes);
    expect(text).toContain("Dates shifted by up to \u00b1180 days (>= 1 day), \u0093pseudonymised\u0094.");
    expect(text).not.toContain("≥");
  });

  it("sets the measure's title as metadata and prints no patient data", async () => {
    const { bytes } = await render(sampleReportDocument({ patientRows: 5 }), { compress: false });
    expect(metadataTitle(bytes)).toBe("Measure 4: EASI-75 at the primary checkpoint");
    const raw = bytes.toString("latin1");
    for (const text of [raw, shownText(bytes)]) {
      expect(text).not.toContain("P000001");
      expect(text).not.toContain("2025-01-01");
    }
  });

  it("counts an async patient list without printing it", async () => {
    const text = shownText((await render(sampleReportDocument({ asyncRows: true, patientRows: 30 }), { compress: false })).bytes);
    expect(text).toContain("Patient list: 30 rows, available in the CSV/XLSX export.");
  });

  it("says a shared report is prepared for sharing and gives only the count of its patient list", async () => {
    const doc = { ...sampleReportDocument({ shared: true, patientRows: 120 }) };
    const text = shownText((await render(doc, { compress: false })).bytes);
    expect(text).toContain("Prepared for sharing outside the clinic");
    expect(text).toContain("Patient list: 120 rows (de-identified).");
  });

  it("breaks 40 months and 12 strata over several pages, with Page x of y on each", async () => {
    const { bytes, result } = await render(sampleReportDocument({ months: 40, strata: 12 }), { compress: false });
    expect(result.pages).toBeGreaterThan(1);
    const text = shownText(bytes);
    for (let page = 1; page <= result.pages; page++) {
      expect(text.split(`Page ${page} of ${result.pages}`).length - 1).toBe(1);
    }
    expect(text).not.toContain(`Page ${result.pages + 1} of`);
    expect((bytes.toString("latin1").match(/\/Type \/Page\b/g) ?? []).length).toBe(result.pages);
    // 40 months in panels of at most 18, each panel whole on one page above the footer.
    expect(result.trendChart).toHaveLength(3);
    for (const panel of result.trendChart) expect(panel.y + panel.height).toBeLessThanOrEqual(A4_HEIGHT - 50);
    expect(text).toContain("Apr\n2029");
    // The strata table's header is repeated on the page it continues on.
    expect(text.split("Initial population").length - 1).toBeGreaterThanOrEqual(3);
  });

  it("keeps a long description flowing onto the next page", async () => {
    const doc = sampleReportDocument();
    const long = { ...doc, definition: { ...doc.definition, description: Array.from({ length: 120 }, (_, i) => `Sentence ${i + 1} of the description.`).join(" ") } };
    const { bytes, result } = await render(long, { compress: false });
    const text = shownText(bytes);
    expect(result.pages).toBeGreaterThan(2);
    expect(text).toContain("Sentence 120 of the description.");
    expect(text).toContain(`Page ${result.pages} of ${result.pages}`);
  });

  it("renders a report with no months and no strata", async () => {
    const doc = { ...sampleReportDocument(), trend: [], strata: [] };
    const { bytes, result } = await render(doc, { compress: false });
    expect(result.trendChart).toEqual([]);
    expect(shownText(bytes)).toContain("No months in the period.");
  });

  it("writes the same bytes for the same document (no clock)", async () => {
    const first = await render(sampleReportDocument());
    const second = await render(sampleReportDocument());
    expect(first.bytes.equals(second.bytes)).toBe(true);
  });

  it.skipIf(!hasPdftoppm)("renders page 1 to a PNG and a page that is not blank, with a chart that is drawn (poppler pdftoppm)", async () => {
    const { bytes, result } = await render(sampleReportDocument());
    const chart = result.trendChart[0];
    expect(chart).toBeDefined();
    if (!chart) return;
    await withTempDir(async (dir) => {
      const file = path.join(dir, "report.pdf");
      await writeFile(file, bytes);
      await run(PDFTOPPM, ["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", file, path.join(dir, "page1")]);
      const png = await readFile(path.join(dir, "page1.png"));
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(png.readUInt32BE(16)).toBe(Math.ceil((595.28 * 50) / 72)); // IHDR width: A4 at 50 dpi
      expect(png.length).toBeGreaterThan(5000);

      await run(PDFTOPPM, ["-gray", "-r", "50", "-f", "1", "-l", "1", "-singlefile", file, path.join(dir, "page1")]);
      const page1 = parsePgm(await readFile(path.join(dir, "page1.pgm")));
      expect(page1.width).toBe(png.readUInt32BE(16));
      expect(darkShare(page1)).toBeGreaterThan(0.005);

      const chartPage = String(chart.page);
      await run(PDFTOPPM, ["-gray", "-r", "50", "-f", chartPage, "-l", chartPage, "-singlefile", file, path.join(dir, "chart")]);
      const image = parsePgm(await readFile(path.join(dir, "chart.pgm")));
      const scale = 50 / 72;
      const box = { x: chart.x * scale, y: chart.y * scale, width: chart.width * scale, height: chart.height * scale };
      expect(darkShare(image, box)).toBeGreaterThan(0.03);
      // Below the chart's axis labels and above the next heading: the chart does not spill.
      expect(darkShare(image, { ...box, y: box.y + box.height + 1, height: 3 })).toBe(0);
    });
  });

  it.skipIf(!hasPdftoppm || !existsSync(PDFTOTEXT))("numbers pages as poppler reads them (pdftotext)", async () => {
    const { bytes, result } = await render(sampleReportDocument({ months: 40, strata: 12 }));
    await withTempDir(async (dir) => {
      const file = path.join(dir, "report.pdf");
      await writeFile(file, bytes);
      const { stdout } = await run(PDFTOTEXT, [file, "-"]);
      expect(stdout).toContain("Measure 4: EASI-75 at the primary checkpoint");
      for (let page = 1; page <= result.pages; page++) expect(stdout).toContain(`Page ${page} of ${result.pages}`);
    });
  });
});

describe("reportPdfReadable", () => {
  it("streams the PDF", async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of reportPdfReadable(sampleReportDocument())) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).subarray(0, 5).toString("latin1")).toBe("%PDF-");
  });

  it("fails the stream when the patient rows fail", async () => {
    async function* failing(): AsyncGenerator<CsvRow> {
      yield ["a"];
      throw new Error("database went away");
    }
    const doc = { ...sampleReportDocument(), patients: { columns: ["a"], rows: failing() } };
    const read = async () => { for await (const _ of reportPdfReadable(doc)) { /* drain */ } };
    await expect(read()).rejects.toThrow("database went away");
  });
});
