/**
 * What every export format writes (CSV, XLSX, PDF; the FHIR MeasureReport reads the same figures): one measure's
 * report as published, i.e. after small-cell suppression and de-identification when it is shared outside the
 * clinic. Counts are already text where they may be hidden ("<11", "*"), so a writer never sees a hidden count.
 * The patient list is pulled row by row (async iterable) so no writer holds it in memory.
 */
import type { CsvHeaderBlock, CsvRow } from "./csv";
import type { MeasureDefinition } from "../measures";

/** A count as published: a number, or the text standing for a hidden one. */
export type PublishedCount = number | string;

export interface PublishedFigures {
  initialPopulation: PublishedCount;
  denominator: PublishedCount;
  numerator: PublishedCount;
  /** numerator / denominator in 0..1; null when the denominator is 0 or a count is hidden. */
  rate: number | null;
  exclusions: ReadonlyArray<{ reason: string; label: string; count: PublishedCount }>;
}

export interface PublishedStratum extends PublishedFigures {
  key: string;
  label: string;
}

export interface PublishedTrendPoint {
  /** YYYY-MM */
  month: string;
  numerator: PublishedCount;
  denominator: PublishedCount;
  rate: number | null;
}

export interface ReportExportDocument {
  /** Measure, period, filters, rules version, generation time and notes (suppression, de-identification). */
  header: CsvHeaderBlock;
  definition: MeasureDefinition;
  /** The totals. */
  figures: PublishedFigures;
  /** Breakdown by the measure's stratifier (drug, requirement or symptom). */
  strata: readonly PublishedStratum[];
  /** One point per month of the period. */
  trend: readonly PublishedTrendPoint[];
  /** Whether the document is for sharing outside the clinic (suppressed counts, de-identified list). */
  shared: boolean;
  /** The patient list: column names, then rows pulled one at a time (cells already de-identified when shared). */
  patients: {
    columns: readonly string[];
    rows: AsyncIterable<CsvRow> | Iterable<CsvRow>;
    /** How many rows the list holds, when known before writing (the PDF states it instead of listing them). */
    count?: number;
  };
}

/** Called by writers with rows written so far (for a progress indicator). */
export type ExportProgress = (rowsWritten: number) => void;
