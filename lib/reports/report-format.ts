/**
 * Words and numbers for the report pages. Pure and deterministic (no browser locale or time zone), so the
 * server's HTML and the browser's render agree.
 */
import type { DrugId } from "../clinical/types";
import { formatCount } from "../panel/panel-format";
import { formatDate, requirementLabel } from "../patient-view/format";
import type { MeasureFigures, ReportPeriod } from "./compute";
import { DRUG_LABELS, SYMPTOM_CHECKPOINTS, type MeasureDefinition, type MeasureSource } from "./measures";
import type { ReportFilterState } from "./report-requests";
import type { CaseOutcomeFilter, ReportCaseListRow } from "./report-queries";

export { formatCount };

/** A rate in 0..1 as a percent with at most one decimal ("62.5%"); "–" without a denominator. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "–";
  return `${Number((rate * 100).toFixed(1))}%`;
}

/** "5 of 8 (62.5%)", or why there is no rate. */
export function rateSentence(figures: Pick<MeasureFigures, "numerator" | "denominator" | "rate">): string {
  if (figures.denominator === 0) return "no case in the denominator";
  return `${formatCount(figures.numerator)} of ${formatCount(figures.denominator)} (${formatRate(figures.rate)})`;
}

/** Which way the rate should move. */
export function improvementText(definition: Pick<MeasureDefinition, "improvementNotation">): string {
  return definition.improvementNotation === "increase" ? "Higher is better" : "Lower is better";
}

/** The first sentence of a description, for a card. */
export function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}

/** A stratum key in words: a drug, a symptom checkpoint, or a lab requirement ("week-4:cbc" -> "Week 4: CBC"). */
export function stratumLabel(definition: Pick<MeasureDefinition, "stratifier">, key: string): string {
  switch (definition.stratifier.by) {
    case "drug":
      return DRUG_LABELS[key as DrugId] ?? key;
    case "symptom":
      return SYMPTOM_CHECKPOINTS.find((s) => s.symptom === key)?.label ?? key;
    case "requirement":
      return key.includes(":") ? requirementLabel(key) : key;
  }
}

export const CASE_OUTCOME_LABELS: Record<CaseOutcomeFilter, string> = {
  all: "All cases",
  numerator: "In numerator",
  "not-met": "Not met",
  excluded: "Excluded",
  denominator: "Denominator (numerator and not met)",
};

/** A case's outcome in words. */
export function caseOutcomeLabel(row: Pick<ReportCaseListRow, "inNumerator" | "excludedReason">): "In numerator" | "Excluded" | "Not met" {
  if (row.inNumerator) return "In numerator";
  return row.excludedReason ? "Excluded" : "Not met";
}

/** An exclusion reason as the measure labels it. */
export function exclusionLabel(definition: Pick<MeasureDefinition, "exclusions">, reason: string | null): string {
  if (reason === null) return "";
  return definition.exclusions.find((e) => e.reason === reason)?.label ?? reason;
}

/** "1 Dec 2025 to 30 Nov 2026". */
export function formatPeriod(period: ReportPeriod): string {
  return `${formatDate(period.from)} to ${formatDate(period.to)}`;
}

/** One phrase per filter beside the period (none: "all sources, drugs, routes and prescribers"). */
export function describeReportFilters(filters: Omit<ReportFilterState, "from" | "to">, sourceName: (id: string) => string = (id) => id): string[] {
  const out: string[] = [];
  if (filters.source) out.push(`source ${sourceName(filters.source)}`);
  if (filters.drug) out.push(DRUG_LABELS[filters.drug] ?? filters.drug);
  if (filters.route) out.push(`${filters.route} route`);
  if (filters.prescriber) out.push(`prescriber ${filters.prescriber}`);
  return out.length > 0 ? out : ["all sources, drugs, routes and prescribers"];
}

const SOURCE_KIND_LABELS: Record<MeasureSource["kind"], string> = {
  reference: "Reference",
  label: "Drug label",
  trial: "Trial",
  guideline: "Guideline",
  publication: "Publication",
};

export function sourceKindLabel(kind: MeasureSource["kind"]): string {
  return SOURCE_KIND_LABELS[kind] ?? kind;
}

export const EXPORT_FORMAT_LABELS: Record<string, string> = {
  csv: "CSV",
  xlsx: "XLSX (Excel)",
  pdf: "PDF",
  fhir: "FHIR MeasureReport (JSON)",
};

export function exportFormatLabel(format: string): string {
  return EXPORT_FORMAT_LABELS[format] ?? format;
}

const EXPORT_STATUS_LABELS: Record<string, string> = { queued: "Queued", running: "Writing", done: "Ready", failed: "Failed" };

export function exportStatusLabel(status: string): string {
  return EXPORT_STATUS_LABELS[status] ?? status;
}

/** Percent of a background export written (0..100); 100 once done. */
export function exportProgressPercent(view: { status: string; rowsWritten: number; rowsTotal: number | null }): number {
  if (view.status === "done") return 100;
  if (!view.rowsTotal || view.rowsTotal <= 0) return 0;
  return Math.max(0, Math.min(99, Math.floor((view.rowsWritten / view.rowsTotal) * 100)));
}

/** 512 -> "512 B", 2048 -> "2.0 KB", 3_500_000 -> "3.3 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** An audit entry's filters ({ drug: "upadacitinib", route: "oral" }) in words; "none" without any. */
export function auditFiltersText(filters: Record<string, string> | null | undefined): string {
  const entries = Object.entries(filters ?? {}).filter(([, v]) => typeof v === "string" && v !== "");
  if (entries.length === 0) return "none";
  return entries.map(([k, v]) => `${k} ${k === "drug" ? (DRUG_LABELS[v as DrugId] ?? v) : v}`).join(" · ");
}
