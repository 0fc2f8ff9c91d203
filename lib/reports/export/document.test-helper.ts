/**
 * Sample ReportExportDocument for the export writers' tests: measure 4 (EASI-75, five exclusion reasons), a header
 * block with a formula-like filter, a hidden count ("<11"), a month without cases, a month with hidden counts and
 * a patient list with formula-like text. Deterministic: everything is derived from the options, nothing from the
 * clock or randomness.
 */
import type { CsvHeaderBlock, CsvRow } from "./csv";
import type { PublishedFigures, PublishedStratum, PublishedTrendPoint, ReportExportDocument } from "./document";
import { measureDefinition, REPORTS_VERSION, type MeasureId } from "../measures";

export const SAMPLE_PATIENT_COLUMNS = ["pseudonym", "drug", "course start", "checkpoint target", "outcome", "exclusion", "EASI baseline", "EASI at checkpoint", "comment"] as const;

/** Text a spreadsheet would run as a formula if it were not neutralised. */
export const SAMPLE_FORMULA_TEXT = '=HYPERLINK("http://evil.example","click")';

export const SAMPLE_HEADER: CsvHeaderBlock = {
  report: "EASI-75 at the primary checkpoint",
  measure: `easi-75-primary (${REPORTS_VERSION})`,
  period: { start: "2026-01-01", end: "2026-06-30" },
  filters: { source: "epic-main", drug: ["upadacitinib", "abrocitinib"], prescriber: SAMPLE_FORMULA_TEXT, route: undefined },
  rulesVersion: "2026.9.0",
  generatedAt: new Date("2026-07-01T08:30:00Z"),
  notes: ["Counts from 1 to 10 are shown as \"<11\".", "Dates shifted by up to ±180 days (≥ 1 day), “pseudonymised”."],
};

export const SAMPLE_FIGURES: PublishedFigures = {
  initialPopulation: 120,
  denominator: 90,
  numerator: 63,
  rate: 0.7,
  exclusions: [
    { reason: "window-after-course-end", label: "Course ended before the window", count: 12 },
    { reason: "not-yet-due", label: "Window not yet open", count: 11 },
    { reason: "window-open", label: "Window still open", count: "<11" },
    { reason: "no-baseline", label: "No EASI baseline", count: "*" },
    { reason: "no-value", label: "No EASI in window", count: 0 },
  ],
};

const STRATUM_NAMES = ["Upadacitinib", "Abrocitinib", "Baricitinib", "Ruxolitinib cream"];

/** Stratum i: stratum 2 has hidden counts (so a null rate); the others are shown. */
export function sampleStratum(index: number): PublishedStratum {
  const label = STRATUM_NAMES[index] ?? `Stratum ${index + 1}`;
  const key = label.toLowerCase().replace(/\s+/g, "-");
  if (index === 2) {
    return {
      key, label, initialPopulation: "<11", denominator: "<11", numerator: "*", rate: null,
      exclusions: [{ reason: "window-open", label: "Window still open", count: "<11" }],
    };
  }
  const denominator = 30 + 5 * index;
  const numerator = Math.round(denominator * (0.6 + 0.02 * (index % 5)));
  return {
    key, label, initialPopulation: denominator + 12, denominator, numerator, rate: numerator / denominator,
    exclusions: [
      { reason: "window-after-course-end", label: "Course ended before the window", count: 12 },
      { reason: "no-value", label: "No EASI in window", count: 0 },
    ],
  };
}

function monthKey(startYear: number, startMonth: number, offset: number): string {
  const zeroBased = startMonth - 1 + offset;
  const year = startYear + Math.floor(zeroBased / 12);
  return `${year}-${String((zeroBased % 12) + 1).padStart(2, "0")}`;
}

/** Month i from January 2026: month 2 has no cases (a gap), month 4 has hidden counts; the others vary. */
export function sampleTrendPoint(index: number): PublishedTrendPoint {
  const month = monthKey(2026, 1, index);
  if (index === 2) return { month, numerator: 0, denominator: 0, rate: null };
  if (index === 4) return { month, numerator: "<11", denominator: 14, rate: null };
  const denominator = 12 + ((index * 7) % 9);
  const numerator = Math.min(denominator, 6 + ((index * 5) % 8));
  return { month, numerator, denominator, rate: numerator / denominator };
}

/** Patient row i; row 1 holds formula-like text. */
export function samplePatientRow(index: number): CsvRow {
  const drugs = ["upadacitinib", "abrocitinib", "baricitinib"];
  const day = String((index % 28) + 1).padStart(2, "0");
  return [
    `P${String(index + 1).padStart(6, "0")}`,
    drugs[index % 3],
    `2025-${String((index % 9) + 1).padStart(2, "0")}-${day}`,
    `2026-${String((index % 6) + 1).padStart(2, "0")}-${day}`,
    index % 4 === 0 ? "not met" : "met",
    index % 10 === 9 ? "no-value" : null,
    20 + (index % 15),
    index % 10 === 9 ? null : 3.5 + (index % 7),
    index === 1 ? SAMPLE_FORMULA_TEXT : index === 2 ? "-5 points" : "",
  ];
}

export interface SampleDocumentOptions {
  measure?: MeasureId;
  strata?: number;
  months?: number;
  patientRows?: number;
  shared?: boolean;
  /** Patient rows as an async generator (as from the database) instead of an array. */
  asyncRows?: boolean;
}

async function* asyncRows(count: number): AsyncGenerator<CsvRow> {
  for (let i = 0; i < count; i++) yield samplePatientRow(i);
}

export function sampleReportDocument(options: SampleDocumentOptions = {}): ReportExportDocument {
  const strata = options.strata ?? 3;
  const months = options.months ?? 6;
  const patientRows = options.patientRows ?? 25;
  return {
    header: SAMPLE_HEADER,
    definition: measureDefinition(options.measure ?? "easi-75-primary"),
    figures: SAMPLE_FIGURES,
    strata: Array.from({ length: strata }, (_, i) => sampleStratum(i)),
    trend: Array.from({ length: months }, (_, i) => sampleTrendPoint(i)),
    shared: options.shared ?? false,
    patients: {
      columns: [...SAMPLE_PATIENT_COLUMNS],
      rows: options.asyncRows ? asyncRows(patientRows) : Array.from({ length: patientRows }, (_, i) => samplePatientRow(i)),
    },
  };
}
