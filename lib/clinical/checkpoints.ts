/**
 * Checkpoint verdicts (clinical-reference 4-5): `not-due` before the window opens; `responded` as soon as
 * any criterion is met; `open` while the window is open; after it closes `not-responded` only when at least
 * one criterion was assessable (met or not-met), else `not-assessable`.
 */
import { findBaseline, findCheckpointValue, type PickedValue, type Series } from "./baseline";
import { fromDayNumber } from "./dates";
import { assessCriterion, CRITERION_MEASURE } from "./response";
import type { CheckpointRule, CheckpointWindow, RuleSet } from "./rules";
import type { CheckpointEvaluation, CheckpointMeasure, CheckpointVerdict, MeasureAtCheckpoint, MeasureStatus } from "./types";

export interface CourseSpan {
  startDay: number;
  /** Last day of the course, or null while ongoing. Data after it is not attributed to the course. */
  endDay: number | null;
}

export type SeriesByMeasure = Partial<Record<CheckpointMeasure, Series>>;

/** Baselines of the checkpoint measures for a course, computed once. */
export function courseBaselines(series: SeriesByMeasure, course: CourseSpan, asOfDay: number, rules: RuleSet): Partial<Record<CheckpointMeasure, PickedValue | null>> {
  const out: Partial<Record<CheckpointMeasure, PickedValue | null>> = {};
  const limit = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  for (const measure of ["easi", "iga", "itch", "pain"] as const) {
    const s = series[measure];
    out[measure] = s && s.length > 0 ? findBaseline(s, course.startDay, limit, rules.diaryMeasures.includes(measure), rules) : null;
  }
  return out;
}

export function verdictOf(statuses: readonly MeasureStatus[], asOfDay: number, windowStartDay: number, effectiveEndDay: number, endedBeforeWindow: boolean): CheckpointVerdict {
  if (endedBeforeWindow) return "not-assessable";
  if (asOfDay < windowStartDay) return "not-due";
  if (statuses.includes("met")) return "responded";
  if (asOfDay <= effectiveEndDay) return "open";
  return statuses.includes("not-met") ? "not-responded" : "not-assessable";
}

export function evaluateCheckpoint(
  rule: CheckpointRule,
  window: CheckpointWindow,
  course: CourseSpan,
  series: SeriesByMeasure,
  baselines: Partial<Record<CheckpointMeasure, PickedValue | null>>,
  asOfDay: number,
  rules: RuleSet,
): CheckpointEvaluation {
  const windowStartDay = course.startDay + window.startDay;
  const windowEndDay = course.startDay + window.endDay;
  const targetDay = course.startDay + window.targetDay;
  const courseEnd = course.endDay ?? Number.POSITIVE_INFINITY;
  const endedBeforeWindow = courseEnd < windowStartDay;
  const effectiveEndDay = Math.min(windowEndDay, courseEnd);
  const dataUntil = Math.min(effectiveEndDay, asOfDay);
  const measures: Partial<Record<CheckpointMeasure, MeasureAtCheckpoint>> = {};
  const statuses: MeasureStatus[] = [];
  for (const criterion of rule.criteria) {
    const measure = CRITERION_MEASURE[criterion];
    const baseline = baselines[measure] ?? null;
    const s = series[measure];
    const value = s && !endedBeforeWindow && asOfDay >= windowStartDay
      ? findCheckpointValue(s, targetDay, windowStartDay, dataUntil, rules.diaryMeasures.includes(measure), rules)
      : null;
    const assessed = assessCriterion(criterion, baseline?.value ?? null, value?.value ?? null);
    assessed.baselineDate = baseline ? fromDayNumber(baseline.day) : null;
    assessed.valueDate = value ? fromDayNumber(value.day) : null;
    if (baseline) assessed.baselineFrom = baseline.from;
    if (value) assessed.valueFrom = value.from;
    const sources = [...(baseline?.sources ?? []), ...(value?.sources ?? [])];
    if (sources.length > 0) assessed.sources = sources;
    measures[measure] = assessed;
    statuses.push(assessed.status);
  }
  return {
    week: rule.week,
    windowStart: fromDayNumber(windowStartDay),
    windowEnd: fromDayNumber(windowEndDay),
    verdict: verdictOf(statuses, asOfDay, windowStartDay, effectiveEndDay, endedBeforeWindow),
    measures,
    targetDate: fromDayNumber(targetDay),
  };
}
