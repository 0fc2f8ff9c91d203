/** Builds what a trend chart draws: points, baseline, response thresholds and checkpoint windows. */
import type { CheckpointVerdict, CourseEvaluation, IsoDate, MeasureKey, MeasureTrend } from "../clinical/types";
import { isoToDayNumber, MEASURE_INFO } from "./format";

export interface ChartPoint {
  /** Days since 1970-01-01: a numeric x axis keeps real spacing between visits. */
  day: number;
  date: IsoDate;
  value: number;
  resource: string;
  excluded: boolean;
  reason?: string;
  preliminary: boolean;
  /** Where the point is drawn: the value clamped to the y axis (an out-of-range excluded value sits on the edge). */
  plotValue: number;
}

export interface ThresholdLine {
  value: number;
  label: string;
}

export interface CheckpointBand {
  week: number;
  startDay: number;
  endDay: number;
  windowStart: IsoDate;
  windowEnd: IsoDate;
  verdict: CheckpointVerdict;
}

/** A weekly mean of daily diary scores, drawn at mid-week (the trials analysed weekly means). */
export interface WeeklyMeanPoint {
  day: number;
  weekStart: IsoDate;
  mean: number;
  count: number;
}

export interface TrendChartModel {
  measure: MeasureKey;
  /** The period shown. */
  range: TrendRange;
  title: string;
  included: ChartPoint[];
  excluded: ChartPoint[];
  baseline: { value: number; date: IsoDate } | null;
  thresholds: ThresholdLine[];
  bands: CheckpointBand[];
  xDomain: [number, number];
  yDomain: [number, number];
  /** Weekly means when the measure is a real daily diary (some week has 4 or more values), else empty. */
  weekly: WeeklyMeanPoint[];
  /** Values before the x domain (older history, still listed in the values table). */
  hiddenBefore: number;
  /** One sentence for screen readers (the chart's aria-label). */
  description: string;
}

/** Days of history shown before the current course's start; older values stay in the values table. */
export const HISTORY_DAYS = 182;

/** The period a trend chart shows: the current course (and half a year before it), the last year, or everything. */
export type TrendRange = "course" | "year" | "all";

export const TREND_RANGES: ReadonlyArray<{ id: TrendRange; label: string; description: string }> = [
  { id: "course", label: "This course", description: "the current course and the six months before it" },
  { id: "year", label: "1 year", description: "the year up to today" },
  { id: "all", label: "All", description: "every value on record" },
];

/** Days in the "1 year" range. */
export const YEAR_DAYS = 365;

/** The range a chart opens with: the current course when there is one (a years-long diary is unreadable as one band), else everything. */
export function defaultTrendRange(course: CourseEvaluation | null): TrendRange {
  return course ? "course" : "all";
}

/** The ranges worth offering: "This course" only when there is a course. */
export function availableTrendRanges(course: CourseEvaluation | null): TrendRange[] {
  return TREND_RANGES.map((r) => r.id).filter((id) => id !== "course" || course !== null);
}

/**
 * The first day (days since 1970-01-01) a range shows, or null when it has no lower bound: the course's start
 * minus HISTORY_DAYS, asOf minus YEAR_DAYS, or none for "all" (and for "course" without a course).
 */
export function trendRangeStartDay(range: TrendRange, course: CourseEvaluation | null, asOf: IsoDate): number | null {
  switch (range) {
    case "course": {
      const start = course ? isoToDayNumber(course.start) : Number.NaN;
      return Number.isFinite(start) ? start - HISTORY_DAYS : null;
    }
    case "year": {
      const today = isoToDayNumber(asOf);
      return Number.isFinite(today) ? today - YEAR_DAYS : null;
    }
    case "all":
      return null;
  }
}

/** A week with this many daily values makes a diary (clinical-reference 1: 4 or more daily values). */
const DIARY_MIN_VALUES_PER_WEEK = 4;

/** Value lines a responder must reach, from the baseline (clinical-reference 5). */
export function responseThresholds(measure: MeasureKey, baseline: number | null): ThresholdLine[] {
  if (baseline === null) return [];
  switch (measure) {
    case "itch":
      return baseline >= 4 ? [{ value: baseline - 4, label: "4 points better (itch-4)" }] : [];
    case "pain":
      return baseline >= 3 ? [{ value: baseline - 3, label: "3 points better (pain-3)" }] : [];
    case "easi":
      if (baseline <= 0) return [];
      return [
        { value: baseline * 0.5, label: "EASI-50" },
        { value: baseline * 0.25, label: "EASI-75" },
        { value: baseline * 0.1, label: "EASI-90" },
      ];
    default:
      return [];
  }
}

function toPoint(p: MeasureTrend["points"][number]): ChartPoint {
  return {
    day: isoToDayNumber(p.date),
    date: p.date.slice(0, 10),
    value: p.value,
    resource: p.resource,
    excluded: p.excluded,
    ...(p.reason !== undefined ? { reason: p.reason } : {}),
    preliminary: p.preliminary === true,
    plotValue: p.value,
  };
}

/**
 * The chart model for one measure. Checkpoint bands come from `course` (the current course) and are
 * clipped to the x domain, which spans the data, the course start and asOf, from the range's first day on.
 */
export function buildTrendChart(trend: MeasureTrend, course: CourseEvaluation | null, asOf: IsoDate, range: TrendRange = defaultTrendRange(course)): TrendChartModel {
  const info = MEASURE_INFO[trend.measure];
  const points = trend.points.map(toPoint).filter((p) => Number.isFinite(p.day)).sort((a, b) => a.day - b.day);
  const included = points.filter((p) => !p.excluded);
  const excluded = points.filter((p) => p.excluded);
  const baseline = trend.baseline ? { value: trend.baseline.value, date: trend.baseline.date } : null;
  // Response thresholds are relative to a course's baseline; without a course they would mean nothing.
  const thresholds = course ? responseThresholds(trend.measure, baseline?.value ?? null) : [];

  const asOfDay = isoToDayNumber(asOf);
  const xs = points.map((p) => p.day);
  const courseStartDay = course ? isoToDayNumber(course.start) : null;
  if (courseStartDay !== null) xs.push(courseStartDay);
  if (Number.isFinite(asOfDay)) xs.push(asOfDay);
  // The range cuts older history so the period chosen stays readable; older values stay in the values table.
  const rangeStart = trendRangeStartDay(range, course, asOf);
  const minX = Math.max(Math.min(...xs), rangeStart ?? -Infinity);
  const maxX = Math.max(...xs);
  const xDomain: [number, number] = [minX - 3, maxX + 3];

  const bands: CheckpointBand[] = (course?.checkpoints ?? [])
    .map((c) => ({
      week: c.week,
      startDay: isoToDayNumber(c.windowStart),
      endDay: isoToDayNumber(c.windowEnd),
      windowStart: c.windowStart,
      windowEnd: c.windowEnd,
      verdict: c.verdict,
    }))
    .filter((b) => b.startDay <= xDomain[1] && b.endDay >= xDomain[0])
    .map((b) => ({ ...b, startDay: Math.max(b.startDay, xDomain[0]), endDay: Math.min(b.endDay, xDomain[1]) }))
    .sort((a, b) => a.week - b.week);

  const maxValue = Math.max(info.range[0], ...included.map((p) => p.value), baseline?.value ?? 0);
  // Instruments with a short scale show the whole scale; long ones (EASI 0-72, BSA 0-100) zoom to the data.
  const shortScale = info.range[1] <= 30;
  const yMax = shortScale ? info.range[1] : Math.min(info.range[1], Math.max(10, Math.ceil((maxValue * 1.15) / 5) * 5));
  const yDomain: [number, number] = [info.range[0], yMax];
  const clamp = (p: ChartPoint): ChartPoint => ({ ...p, plotValue: Math.min(yDomain[1], Math.max(yDomain[0], p.value)) });

  const weekly = (trend.weekly ?? []).some((w) => w.count >= DIARY_MIN_VALUES_PER_WEEK)
    ? (trend.weekly ?? []).map((w) => ({ day: isoToDayNumber(w.weekStart) + 3, weekStart: w.weekStart, mean: w.mean, count: w.count })).filter((w) => Number.isFinite(w.day))
    : [];
  const hiddenBefore = points.filter((p) => p.day < xDomain[0]).length;
  const parts = [`${info.label} trend: ${included.length} point${included.length === 1 ? "" : "s"}`];
  if (excluded.length > 0) parts.push(`${excluded.length} excluded`);
  if (weekly.length > 0) parts.push(`weekly means drawn for ${weekly.length} weeks`);
  if (hiddenBefore > 0) parts.push(`${hiddenBefore} older than the period shown`);
  if (baseline) parts.push(`baseline ${round1(baseline.value)} on ${baseline.date}`);
  if (trend.latest) parts.push(`latest ${round1(trend.latest.value)} on ${trend.latest.date}`);
  if (bands.length > 0) parts.push(`checkpoints: ${bands.map((b) => `week ${b.week} ${b.verdict.replace("-", " ")}`).join(", ")}`);

  return {
    measure: trend.measure,
    range,
    title: info.label,
    included: included.map(clamp),
    excluded: excluded.map(clamp),
    baseline,
    thresholds,
    bands,
    xDomain,
    yDomain,
    weekly,
    hiddenBefore,
    description: `${parts.join("; ")}.`,
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
