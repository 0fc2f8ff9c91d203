/** Display labels and date arithmetic for the patient page and the copied note. Pure; no clock reads.
 * Day arithmetic is the engine's own (lib/clinical/dates), so the page counts days exactly as the verdicts do. */
import type {
  CheckpointMeasure,
  CheckpointVerdict,
  Criterion,
  DrugId,
  FlagKind,
  IsoDate,
  LabRequirementResult,
  LabStatus,
  MeasureKey,
  MeasureStatus,
  Severity,
  TherapyClass,
} from "../clinical/types";
import { calendarDate, dayNumber, fromDayNumber } from "../clinical/dates";

export const DRUG_LABELS: Record<DrugId, string> = {
  upadacitinib: "Upadacitinib (Rinvoq)",
  abrocitinib: "Abrocitinib (Cibinqo)",
  baricitinib: "Baricitinib (Olumiant)",
  "ruxolitinib-cream": "Ruxolitinib 1.5% cream (Opzelura)",
};

export interface MeasureInfo {
  label: string;
  /** Fixed scale of the instrument, used for the chart's y axis. */
  range: [number, number];
  unit: string;
}

export const MEASURE_INFO: Record<MeasureKey, MeasureInfo> = {
  itch: { label: "Itch NRS", range: [0, 10], unit: "points" },
  pain: { label: "Skin pain NRS", range: [0, 10], unit: "points" },
  easi: { label: "EASI", range: [0, 72], unit: "points" },
  iga: { label: "IGA", range: [0, 4], unit: "grade" },
  bsa: { label: "BSA affected", range: [0, 100], unit: "%" },
  dlqi: { label: "DLQI", range: [0, 30], unit: "points" },
  poem: { label: "POEM", range: [0, 28], unit: "points" },
  sleep: { label: "Sleep loss NRS", range: [0, 10], unit: "points" },
  scorad: { label: "SCORAD", range: [0, 103], unit: "points" },
  "po-scorad": { label: "PO-SCORAD", range: [0, 103], unit: "points" },
};

/** Order of the trend charts: the three the dermatologist asked for first, then the rest when present. */
export const TREND_ORDER: readonly MeasureKey[] = ["itch", "pain", "easi", "iga", "bsa", "dlqi", "poem", "sleep", "scorad", "po-scorad"];

export const CHECKPOINT_MEASURE_ORDER: readonly CheckpointMeasure[] = ["easi", "iga", "itch", "pain"];

const VERDICT_LABELS: Record<CheckpointVerdict, string> = {
  responded: "responded",
  "not-responded": "not responded",
  "not-assessable": "not assessable",
  open: "window open",
  "not-due": "not yet due",
};
export function verdictLabel(verdict: CheckpointVerdict): string {
  return VERDICT_LABELS[verdict];
}

const LAB_STATUS_LABELS: Record<LabStatus, string> = {
  done: "done",
  due: "due",
  overdue: "overdue",
  missing: "missing",
  "not-due": "not yet due",
};
export function labStatusLabel(status: LabStatus): string {
  return LAB_STATUS_LABELS[status];
}

const MEASURE_STATUS_LABELS: Record<MeasureStatus, string> = {
  met: "met",
  "not-met": "not met",
  "no-baseline": "no baseline",
  "no-value": "no value in window",
  "not-applicable": "not applicable",
};
export function measureStatusLabel(status: MeasureStatus): string {
  return MEASURE_STATUS_LABELS[status];
}

const CRITERION_LABELS: Record<Criterion, string> = {
  "easi-50": "EASI-50 (at least 50% better)",
  "iga-success": "IGA success (0/1 and at least 2 grades better)",
  "iga-improved": "IGA improved (at least 1 grade better)",
  "itch-4": "Itch at least 4 points better",
  "pain-3": "Skin pain at least 3 points better",
};
export function criterionLabel(criterion: Criterion): string {
  return CRITERION_LABELS[criterion];
}

const LAB_LABELS: Record<string, string> = {
  "tb-screen": "TB screen",
  "hbv-screen": "Hepatitis B screen",
  "hcv-screen": "Hepatitis C screen",
  cbc: "CBC",
  liver: "Liver enzymes (ALT, AST)",
  lipids: "Lipids",
  pregnancy: "Pregnancy test",
};
const PHASE_LABELS: Record<string, string> = {
  baseline: "Baseline",
  "week-4": "Week 4",
  "week-12": "Week 12",
  periodic: "Periodic",
};

/** "baseline:tb-screen" -> { phase: "Baseline", lab: "TB screen" }; unknown parts are shown as written. */
export function requirementParts(requirement: string): { phase: string; lab: string } {
  const [phase = "", lab = ""] = requirement.split(":");
  return { phase: PHASE_LABELS[phase] ?? phase, lab: LAB_LABELS[lab] ?? lab };
}

export function requirementLabel(requirement: string, occurrence?: number): string {
  const { phase, lab } = requirementParts(requirement);
  const nth = occurrence !== undefined && occurrence > 0 ? ` #${occurrence}` : "";
  return `${phase}${nth}: ${lab}`;
}

/** A lab unit as the flag messages write it: "10*3/uL" -> "x10*3/uL"; others as they are. */
export function labUnitLabel(unit: string | null | undefined): string {
  if (!unit) return "";
  return unit.startsWith("10*") ? `x${unit}` : unit;
}

/** A lab value: numbers with up to 2 decimals (3 below 1, so 0.999 never reads as 1), answers as written. */
export function formatLabValue(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return "no value";
  if (typeof value === "string") return value;
  return String(Number(value.toFixed(Math.abs(value) < 1 ? 3 : 2)));
}

/** "ANC 0.8 x10*3/uL", "IGRA negative", "ANC: unit furlongs not convertible". */
export function labValueText(r: LabRequirementResult): string {
  if (r.value === null) return r.unitProblem ? `${r.display}: unit "${r.unitProblem}" not convertible` : `${r.display}: reported without a value`;
  const unit = typeof r.value === "number" ? labUnitLabel(r.unit) : "";
  return `${r.display} ${formatLabValue(r.value)}${unit ? ` ${unit}` : ""}`;
}

/** The reference upper limit in words, e.g. "upper limit 40 U/L". */
export function referenceHighText(r: LabRequirementResult): string | null {
  if (r.referenceHigh === undefined) return null;
  const unit = labUnitLabel(r.unit);
  return `upper limit ${formatLabValue(r.referenceHigh)}${unit ? ` ${unit}` : ""}`;
}

const THERAPY_CLASS_LABELS: Record<TherapyClass, string> = {
  "jak-ad": "JAK inhibitor (eczema)",
  "jak-other": "JAK inhibitor (other indication)",
  "topical-corticosteroid": "Topical corticosteroid",
  "topical-calcineurin-inhibitor": "Topical calcineurin inhibitor",
  "topical-pde4-inhibitor": "Topical PDE4 inhibitor",
  biologic: "Biologic",
  "systemic-immunosuppressant": "Systemic immunosuppressant",
  phototherapy: "Phototherapy",
};
export function therapyClassLabel(therapyClass: TherapyClass): string {
  return THERAPY_CLASS_LABELS[therapyClass];
}

const FLAG_KIND_LABELS: Record<FlagKind, string> = {
  "non-response": "Non-response",
  "early-signal": "Early signal",
  "missing-lab": "Missing lab",
  "overdue-lab": "Overdue lab",
  "abnormal-lab": "Abnormal lab",
  "bsa-limit": "BSA limit",
  "cream-quantity": "Cream quantity",
  vaccination: "Vaccination",
  "data-quality": "Data quality",
};
export function flagKindLabel(kind: FlagKind): string {
  return FLAG_KIND_LABELS[kind];
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Whole days since 1970-01-01 for a YYYY-MM-DD date (or the date part of a dateTime), as written; NaN when not a date. */
export function isoToDayNumber(iso: IsoDate): number {
  const date = calendarDate(iso);
  return date ? dayNumber(date) : Number.NaN;
}

export const dayNumberToIso = fromDayNumber;

export function daysBetween(from: IsoDate, to: IsoDate): number {
  return isoToDayNumber(to) - isoToDayNumber(from);
}

/** "2026-03-05" -> "5 Mar 2026": unambiguous in every locale; the input is shown as is when not a date. */
export function formatDate(iso: IsoDate | null | undefined): string {
  if (!iso) return "unknown date";
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!match) return iso;
  return `${Number(match[3])} ${MONTHS[Number(match[2]) - 1] ?? match[2]} ${match[1]}`;
}

/** Axis tick: "Mar 2026" style is too coarse for 2-week windows, so day and month, year when it changes. */
export function formatDayNumberShort(day: number): string {
  const iso = dayNumberToIso(day);
  const [year = "", month = "01", date = "01"] = iso.split("-");
  return `${Number(date)} ${MONTHS[Number(month) - 1] ?? month} ${year.slice(2)}`;
}

/** Course week at a date: whole weeks since start (week 0 is the first week). */
export function courseWeekAt(start: IsoDate, asOf: IsoDate): number {
  return Math.floor(daysBetween(start, asOf) / 7);
}

export function formatNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  const rounded = Number(value.toFixed(digits));
  return String(rounded);
}

/** Improvement is baseline - value (positive is better); shown with a sign so direction is never ambiguous. */
export function formatImprovement(improvement: number | null | undefined, percent?: number | null): string {
  if (improvement === null || improvement === undefined) return "-";
  const points = improvement > 0 ? `${formatNumber(improvement)} better` : improvement < 0 ? `${formatNumber(-improvement)} worse` : "no change";
  if (percent === null || percent === undefined) return points;
  return `${points} (${formatNumber(percent, 0)}%)`;
}

export function sexLabel(sex: string | null | undefined): string {
  if (!sex) return "sex not recorded";
  return sex;
}

export function formatAge(age: number | null | undefined): string {
  return age === null || age === undefined ? "age unknown" : `${age} y`;
}

export function formatDose(mg: number | null | undefined): string | null {
  return mg === null || mg === undefined ? null : `${formatNumber(mg)} mg`;
}
