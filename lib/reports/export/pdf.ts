/**
 * Printable A4 PDF of one measure's report (pdfkit, built-in standard fonts only: nothing is embedded or fetched).
 * Order: title, header block (period, filters, rules version, generation time, notes), summary figures, strata
 * table, monthly trend chart (vector bars of the monthly rate, 0-100 %, with month labels and n per month), then
 * the definitions. "Page x of y" in every footer. The patient list is not printed (it is in the CSV/XLSX export);
 * only its size, and when the report is shared only a size that the published figures already show.
 *
 * The standard fonts encode WinAnsi (Windows-1252) only: every text goes through winAnsiText, which spells out
 * what it can ("≥" as ">=") and shows "?" for the rest instead of a wrong glyph. No IO but the given stream and
 * no clock: the PDF's dates are the report's generation time. Metadata holds the measure's title only.
 */
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import PDFDocument from "pdfkit";
import { FORMULA_NEUTRALISATION_NOTE, headerBlockRows } from "./csv";
import type { PublishedCount, PublishedFigures, PublishedTrendPoint, ReportExportDocument } from "./document";

export interface PdfExportOptions {
  /** Compress page content (default true); tests turn it off to read the text. */
  readonly compress?: boolean;
}

/** A rectangle on a page, in PDF points from the page's top-left corner; page counts from 1. */
export interface PdfArea {
  readonly page: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PdfReportResult {
  readonly pages: number;
  /** Where the trend chart's panels were drawn (one panel per up to MONTHS_PER_PANEL months). */
  readonly trendChart: readonly PdfArea[];
}

export const PDF_CONTENT_TYPE = "application/pdf";
export const MONTHS_PER_PANEL = 18;
const RATE_NOT_AVAILABLE = "n/a";

const FONT = "Helvetica";
const BOLD = "Helvetica-Bold";
const MARGIN = { top: 50, bottom: 60, left: 50, right: 50 } as const;
const COLORS = { text: "#111111", muted: "#555555", rule: "#bbbbbb", grid: "#d0d0d0", bar: "#2b5d8a", shade: "#f0f3f6" } as const;

// ---- Text ----------------------------------------------------------------------------------------------------

/** Characters Windows-1252 has beyond Latin-1 (pdfkit maps them to the standard fonts' glyphs). */
const WIN_ANSI_EXTRA = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ");
const SPELLED_OUT: Readonly<Record<string, string>> = {
  "≥": ">=", "≤": "<=", "≠": "!=", "≈": "~", "∼": "~", "−": "-", "‐": "-", "‑": "-", "‒": "-", "―": "-",
  "→": "->", "←": "<-", "↔": "<->", "⇒": "=>", "∞": "infinity", "√": "sqrt", "′": "'", "″": "\"",
  "μ": "µ", "∆": "delta", "Δ": "delta", "✓": "yes", "✔": "yes", "✗": "no", "✘": "no",
  "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\u200a": " ", "\u2007": " ", "\u2008": " ",
  "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
};

function isWinAnsi(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char);
}

/** Text the standard fonts can show: WinAnsi characters kept, others spelled out, decomposed or shown as "?". */
export function winAnsiText(text: string): string {
  let out = "";
  for (const char of text.normalize("NFC").replace(/\r\n?/g, "\n")) {
    if (char === "\n" || isWinAnsi(char)) { out += char; continue; }
    if (/\p{M}/u.test(char)) continue; // a combining mark NFC could not merge into its letter
    if (char === "\t") { out += " "; continue; }
    const spelled = SPELLED_OUT[char];
    if (spelled !== undefined) { out += spelled; continue; }
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) continue; // other control characters show nothing
    // "é" in another form, full-width "＝", ligatures: their compatibility decomposition without accents.
    const decomposed = char.normalize("NFKD").replace(/\p{M}/gu, "");
    out += decomposed !== "" && [...decomposed].every(isWinAnsi) ? decomposed : "?";
  }
  return out;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function countText(count: PublishedCount): string {
  return typeof count === "number" ? integer.format(count) : count;
}

function rateText(rate: number | null): string {
  return rate === null ? RATE_NOT_AVAILABLE : `${(rate * 100).toFixed(1)} %`;
}

const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function monthLabel(month: string): { name: string; year: string } {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  const name = match ? MONTH_NAMES[Number(match[2]) - 1] : undefined;
  return match && name ? { name, year: match[1] ?? "" } : { name: month, year: "" };
}

// ---- Layout --------------------------------------------------------------------------------------------------

type Pdf = PDFKit.PDFDocument;

interface TextStyle { size?: number; bold?: boolean; color?: string; align?: "left" | "right" | "center" }

class Layout {
  readonly left = MARGIN.left;
  readonly width: number;
  readonly charts: PdfArea[] = [];

  constructor(readonly pdf: Pdf) {
    this.width = pdf.page.width - MARGIN.left - MARGIN.right;
  }

  get bottom(): number {
    return this.pdf.page.height - MARGIN.bottom;
  }

  get page(): number {
    const range = this.pdf.bufferedPageRange();
    return range.start + range.count;
  }

  style(style: TextStyle): this {
    this.pdf.font(style.bold ? BOLD : FONT).fontSize(style.size ?? 9).fillColor(style.color ?? COLORS.text);
    return this;
  }

  height(text: string, width: number, style: TextStyle = {}): number {
    this.style(style);
    return this.pdf.heightOfString(winAnsiText(text), { width });
  }

  /** Text at a fixed place that must not flow onto another page. */
  put(text: string, x: number, y: number, width: number, style: TextStyle = {}): void {
    this.style(style);
    this.pdf.text(winAnsiText(text), x, y, { width, align: style.align ?? "left", lineBreak: true });
  }

  /** Starts a new page unless `height` points fit below the current position. */
  ensure(height: number): void {
    if (this.pdf.y + height > this.bottom) {
      this.pdf.addPage();
      this.pdf.y = MARGIN.top;
    }
  }

  gap(points: number): void {
    this.pdf.y += points;
  }

  /** Flowing text at the left margin; long text continues on the next page. */
  paragraph(text: string, style: TextStyle = {}, indent = 0): void {
    this.ensure(Math.min(this.height(text, this.width - indent, style), 3 * (style.size ?? 9)));
    this.style(style);
    this.pdf.text(winAnsiText(text), this.left + indent, this.pdf.y, { width: this.width - indent, align: style.align ?? "left" });
  }

  heading(text: string, size = 12): void {
    this.ensure(size + 40); // keep a heading with the first lines below it
    this.gap(size * 0.6);
    this.paragraph(text, { size, bold: true });
    const y = this.pdf.y + 2;
    this.pdf.moveTo(this.left, y).lineTo(this.left + this.width, y).lineWidth(0.5).strokeColor(COLORS.rule).stroke();
    this.pdf.y = y + 5;
  }

  /** Label/value rows, the value wrapping in its column; a row never splits across pages. */
  keyValues(rows: ReadonlyArray<readonly [string, string]>, labelWidth = 130, valueStyle: TextStyle = {}): void {
    const valueWidth = this.width - labelWidth - 8;
    for (const [label, value] of rows) {
      const height = Math.max(this.height(label, labelWidth, { bold: true }), this.height(value, valueWidth, valueStyle)) + 3;
      this.ensure(height);
      const y = this.pdf.y;
      this.put(label, this.left, y, labelWidth, { bold: true });
      this.put(value, this.left + labelWidth + 8, y, valueWidth, valueStyle);
      this.pdf.y = y + height;
    }
  }
}

// ---- Sections ------------------------------------------------------------------------------------------------

function writeTitle(layout: Layout, doc: ReportExportDocument): void {
  const d = doc.definition;
  layout.paragraph("Quality report - Eczema JAK Monitor", { size: 9, color: COLORS.muted });
  layout.gap(2);
  layout.paragraph(`Measure ${d.number}: ${d.title}`, { size: 17, bold: true });
  layout.gap(2);
  layout.paragraph(
    doc.shared
      ? "Prepared for sharing outside the clinic: small counts are suppressed and the patient list is de-identified."
      : "For use inside the clinic: counts are not suppressed.",
    { size: 9, color: COLORS.muted },
  );
}

function writeHeaderBlock(layout: Layout, doc: ReportExportDocument): void {
  layout.heading("Report");
  // The formula note is about spreadsheets; it says nothing about a printed report.
  const rows = headerBlockRows(doc.header).filter(([label, value]) => !(label === "Cells" && value === FORMULA_NEUTRALISATION_NOTE));
  layout.keyValues(rows.map(([label, value]) => [label ?? "", value ?? ""] as const));
}

function exclusionRows(figures: PublishedFigures): Array<readonly [string, string]> {
  return figures.exclusions.map((e) => [`Excluded: ${e.label}`, countText(e.count)] as const);
}

/** The patient-list line: when shared, a size is printed only if the published figures already show it. */
export function patientListLine(doc: ReportExportDocument, rows: number): string {
  if (!doc.shared) return `Patient list: ${integer.format(rows)} rows, available in the CSV/XLSX export.`;
  if (rows === 0 || rows === doc.figures.initialPopulation) return `Patient list: ${integer.format(rows)} rows (de-identified).`;
  return "Patient list: de-identified, in the CSV/XLSX export; its size is not printed because of small-cell suppression.";
}

function writeSummary(layout: Layout, doc: ReportExportDocument, patientRows: number): void {
  const f = doc.figures;
  layout.heading("Summary");
  layout.ensure(30);
  const y = layout.pdf.y;
  layout.put(rateText(f.rate), layout.left, y, 150, { size: 22, bold: true });
  layout.put(`rate: ${countText(f.numerator)} of ${countText(f.denominator)}`, layout.left + 150, y + 9, layout.width - 150, { size: 10, color: COLORS.muted });
  layout.pdf.y = y + 30;
  layout.keyValues([
    ["Initial population", countText(f.initialPopulation)],
    ...exclusionRows(f),
    ...(f.exclusions.length === 0 ? [["Exclusions", "none"] as const] : []),
    ["Denominator", countText(f.denominator)],
    ["Numerator", countText(f.numerator)],
    ["Rate", rateText(f.rate)],
  ], 200);
  layout.gap(3);
  layout.paragraph(
    `Rate = numerator / denominator; ${doc.definition.improvementNotation === "increase" ? "a higher rate is better" : "a lower rate is better"}. ` +
    `"${RATE_NOT_AVAILABLE}" when the denominator is 0 or a count is hidden.`,
    { size: 8, color: COLORS.muted },
  );
  layout.gap(3);
  layout.paragraph(patientListLine(doc, patientRows), { size: 9 });
}

function writeStrata(layout: Layout, doc: ReportExportDocument): void {
  layout.heading(`By ${doc.definition.stratifier.by}`);
  layout.paragraph(doc.definition.stratifier.description, { size: 8, color: COLORS.muted });
  layout.gap(3);
  if (doc.strata.length === 0) {
    layout.paragraph("No strata.");
    return;
  }
  const numeric = 72;
  const labelWidth = layout.width - 4 * numeric;
  const columns = [
    { title: "Stratum", width: labelWidth, align: "left" as const },
    { title: "Initial population", width: numeric, align: "right" as const },
    { title: "Denominator", width: numeric, align: "right" as const },
    { title: "Numerator", width: numeric, align: "right" as const },
    { title: "Rate", width: numeric, align: "right" as const },
  ];
  const pad = 3;
  const header = (): void => {
    const y = layout.pdf.y;
    let x = layout.left;
    for (const column of columns) {
      layout.put(column.title, x + pad, y + pad, column.width - 2 * pad, { bold: true, size: 8, align: column.align });
      x += column.width;
    }
    layout.pdf.y = y + 16;
    layout.pdf.moveTo(layout.left, layout.pdf.y).lineTo(layout.left + layout.width, layout.pdf.y).lineWidth(0.5).strokeColor(COLORS.rule).stroke();
  };
  layout.ensure(40);
  header();
  doc.strata.forEach((stratum, index) => {
    const cells = [stratum.label, countText(stratum.initialPopulation), countText(stratum.denominator), countText(stratum.numerator), rateText(stratum.rate)];
    const excluded = stratum.exclusions.filter((e) => e.count !== 0).map((e) => `${e.label} ${countText(e.count)}`).join("; ");
    const excludedText = excluded === "" ? "" : `Excluded: ${excluded}`;
    const mainHeight = layout.height(stratum.label, labelWidth - 2 * pad, {}) + 2 * pad;
    const subHeight = excludedText === "" ? 0 : layout.height(excludedText, layout.width - 2 * pad - 10, { size: 7 }) + pad;
    const height = mainHeight + subHeight;
    if (layout.pdf.y + height > layout.bottom) {
      layout.ensure(height + 20);
      header();
    }
    const y = layout.pdf.y;
    if (index % 2 === 1) layout.pdf.rect(layout.left, y, layout.width, height).fill(COLORS.shade);
    let x = layout.left;
    cells.forEach((cell, i) => {
      const column = columns[i];
      if (!column) return;
      layout.put(cell, x + pad, y + pad, column.width - 2 * pad, { align: column.align });
      x += column.width;
    });
    if (excludedText !== "") layout.put(excludedText, layout.left + pad + 10, y + mainHeight - 1, layout.width - 2 * pad - 10, { size: 7, color: COLORS.muted });
    layout.pdf.y = y + height;
  });
}

function panels<T>(items: readonly T[], perPanel: number): T[][] {
  const count = Math.ceil(items.length / perPanel);
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size));
}

const PLOT_HEIGHT = 110;
const AXIS_WIDTH = 34;
const PANEL_TOP = 12; // room for the rate labels above a full bar
const PANEL_LABELS = 30; // month, year and n under the axis

function drawTrendPanel(layout: Layout, points: readonly PublishedTrendPoint[]): void {
  const pdf = layout.pdf;
  const top = pdf.y;
  const plotTop = top + PANEL_TOP;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const plotLeft = layout.left + AXIS_WIDTH;
  const plotWidth = layout.width - AXIS_WIDTH;
  const slot = plotWidth / Math.max(points.length, 1);
  const barWidth = Math.min(slot * 0.62, 28);

  for (const percent of [0, 25, 50, 75, 100]) {
    const y = plotBottom - (percent / 100) * PLOT_HEIGHT;
    pdf.moveTo(plotLeft, y).lineTo(plotLeft + plotWidth, y).lineWidth(percent === 0 ? 0.8 : 0.4).strokeColor(percent === 0 ? COLORS.muted : COLORS.grid).stroke();
    layout.put(`${percent} %`, layout.left, y - 3, AXIS_WIDTH - 5, { size: 7, color: COLORS.muted, align: "right" });
  }
  pdf.moveTo(plotLeft, plotTop).lineTo(plotLeft, plotBottom).lineWidth(0.8).strokeColor(COLORS.muted).stroke();

  points.forEach((point, i) => {
    const x = plotLeft + i * slot;
    if (point.rate !== null) {
      const rate = Math.min(1, Math.max(0, point.rate));
      const height = rate * PLOT_HEIGHT;
      if (height > 0) pdf.rect(x + (slot - barWidth) / 2, plotBottom - height, barWidth, height).fill(COLORS.bar);
      layout.put(`${Math.round(rate * 100)}`, x, plotBottom - height - 9, slot, { size: 6.5, align: "center" });
    } else if (point.denominator === 0) {
      layout.put("none", x, plotBottom - 10, slot, { size: 6, color: COLORS.muted, align: "center" });
    } else {
      // A hidden count: the bar is left out and the counts are shown as published.
      layout.put(`${countText(point.numerator)}/${countText(point.denominator)}`, x, plotBottom - 10, slot, { size: 6, color: COLORS.muted, align: "center" });
    }
    const label = monthLabel(point.month);
    layout.put(label.name, x, plotBottom + 3, slot, { size: 6.5, align: "center" });
    layout.put(label.year, x, plotBottom + 11, slot, { size: 6.5, color: COLORS.muted, align: "center" });
    layout.put(`n ${countText(point.denominator)}`, x, plotBottom + 19, slot, { size: 6.5, align: "center" });
  });
  layout.charts.push({ page: layout.page, x: layout.left, y: top, width: layout.width, height: PANEL_HEIGHT });
  pdf.y = plotBottom + PANEL_LABELS;
}

const PANEL_HEIGHT = PANEL_TOP + PLOT_HEIGHT + PANEL_LABELS;

function writeTrend(layout: Layout, doc: ReportExportDocument): void {
  layout.ensure(70 + PANEL_HEIGHT); // the heading and its caption stay with the first panel
  layout.heading("Monthly trend");
  const first = doc.trend[0];
  const last = doc.trend[doc.trend.length - 1];
  if (!first || !last) {
    layout.paragraph("No months in the period.");
    return;
  }
  layout.paragraph(
    `Monthly rate in %, ${first.month} to ${last.month}: a bar is the month's numerator / denominator (the figure above it), n is the denominator. ` +
    `"none": no cases that month. A count shown as "<k" or "*" is hidden by small-cell suppression, so that month has no bar.`,
    { size: 8, color: COLORS.muted },
  );
  layout.gap(4);
  for (const panel of panels(doc.trend, MONTHS_PER_PANEL)) {
    layout.ensure(PANEL_HEIGHT + 8);
    drawTrendPanel(layout, panel);
    layout.gap(8);
  }
}

function writeDefinitions(layout: Layout, doc: ReportExportDocument): void {
  const d = doc.definition;
  layout.heading("Definitions");
  const block = (label: string, text: string): void => {
    layout.ensure(30);
    layout.paragraph(label, { bold: true });
    layout.paragraph(text);
    layout.gap(5);
  };
  block("Description", d.description);
  block("Counted case", `One ${d.basis.replace(/-/g, " ")} per row of the patient list; scoring: ${d.scoring}.`);
  block("Initial population", d.initialPopulation);
  block("Denominator", d.denominator);
  layout.ensure(30);
  layout.paragraph("Exclusions (the first that fits applies)", { bold: true });
  if (d.exclusions.length === 0) layout.paragraph("None.");
  for (const exclusion of d.exclusions) layout.paragraph(`- ${exclusion.label}: ${exclusion.description}`, {}, 8);
  layout.gap(5);
  block("Numerator", d.numerator);
  block("Period", d.period.description);
  block("Stratifier", d.stratifier.description);
  layout.ensure(30);
  layout.paragraph("Sources", { bold: true });
  for (const source of d.sources) layout.paragraph(`- ${source.citation} (${source.kind})`, {}, 8);
}

function writeFooters(pdf: Pdf, doc: ReportExportDocument): number {
  const range = pdf.bufferedPageRange();
  const left = `Measure ${doc.definition.number} (${doc.definition.id}), ${doc.header.period.start} to ${doc.header.period.end}, generated ${doc.header.generatedAt.toISOString()}`;
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    const width = pdf.page.width - MARGIN.left - MARGIN.right;
    const y = pdf.page.height - MARGIN.bottom + 24;
    // Text below the bottom margin would start a new page: lift the margin while writing the footer.
    pdf.page.margins.bottom = 0;
    pdf.font(FONT).fontSize(7.5).fillColor(COLORS.muted);
    pdf.text(winAnsiText(left), MARGIN.left, y, { width: width - 90, lineBreak: false });
    pdf.text(`Page ${i + 1 - range.start} of ${range.count}`, MARGIN.left + width - 90, y, { width: 90, align: "right", lineBreak: false });
    pdf.page.margins.bottom = MARGIN.bottom;
  }
  return range.count;
}

async function countRows(rows: ReportExportDocument["patients"]["rows"]): Promise<number> {
  let count = 0;
  for await (const _ of rows) count++;
  return count;
}

/**
 * Writes the report as a PDF to `out` and resolves once `out` has finished. The patient rows are only counted
 * (the iterable is consumed). The whole PDF is laid out before the first byte is written, so a failure leaves
 * `out` untouched; a failure while writing destroys `out` (stream pipeline).
 */
export async function writeReportPdf(doc: ReportExportDocument, out: NodeJS.WritableStream, options: PdfExportOptions = {}): Promise<PdfReportResult> {
  const patientRows = doc.patients.count ?? (await countRows(doc.patients.rows));
  const title = `Measure ${doc.definition.number}: ${doc.definition.title}`;
  const pdf = new PDFDocument({
    size: "A4",
    margins: MARGIN,
    bufferPages: true,
    compress: options.compress ?? true,
    displayTitle: true,
    lang: "en",
    info: {
      Title: title,
      Subject: "Quality report",
      Author: "Eczema JAK Monitor",
      Creator: "Eczema JAK Monitor",
      CreationDate: doc.header.generatedAt,
      ModDate: doc.header.generatedAt,
    },
  });
  const layout = new Layout(pdf);
  let pages: number;
  try {
    writeTitle(layout, doc);
    writeHeaderBlock(layout, doc);
    writeSummary(layout, doc, patientRows);
    writeStrata(layout, doc);
    writeTrend(layout, doc);
    writeDefinitions(layout, doc);
    pages = writeFooters(pdf, doc);
  } catch (error) {
    pdf.destroy();
    throw error;
  }
  const written = pipeline(pdf, out);
  pdf.end();
  await written;
  return { pages, trendChart: layout.charts };
}

/** The PDF as a Node byte stream, e.g. for a route handler; a failure destroys the stream with the error. */
export function reportPdfReadable(doc: ReportExportDocument, options: PdfExportOptions = {}): Readable {
  const out = new PassThrough();
  writeReportPdf(doc, out, options).catch((error: unknown) => {
    out.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return out;
}
