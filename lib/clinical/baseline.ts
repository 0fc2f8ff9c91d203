/**
 * Baseline and checkpoint values of one measure (clinical-reference 4).
 * Baseline = latest valid value in [start - 30, start + 3]; for daily diaries (4 or more values in days
 * start-6 .. start) their mean. Checkpoint value = the valid value nearest the target day inside the
 * window (tie: the later one); diaries: the mean of 4 or more values in target-6 .. target inside the window.
 */
import type { Measurement } from "./normalize";
import type { RuleSet } from "./rules";

export interface PickedValue {
  value: number;
  day: number;
  from: "single" | "diary-mean";
  sources: string[];
}

/** Valid (usable) measurements of one measure, sorted by day. */
export type Series = readonly Measurement[];

function mean(values: readonly Measurement[]): number {
  let sum = 0;
  for (const m of values) sum += m.value;
  return sum / values.length;
}

/** Values with fromDay <= day <= toDay (series sorted by day). */
export function inRange(series: Series, fromDay: number, toDay: number): Measurement[] {
  const out: Measurement[] = [];
  if (toDay < fromDay) return out;
  // Binary search for the first day >= fromDay.
  let lo = 0, hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid]!.day < fromDay) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < series.length; i++) {
    const m = series[i]!;
    if (m.day > toDay) break;
    out.push(m);
  }
  return out;
}

export function findBaseline(series: Series, startDay: number, limitDay: number, diary: boolean, rules: RuleSet): PickedValue | null {
  const { daysBefore, daysAfter, diaryMinValues, diaryDays } = rules.baseline;
  if (diary) {
    const week = inRange(series, startDay - (diaryDays - 1), Math.min(startDay, limitDay));
    if (week.length >= diaryMinValues) return { value: mean(week), day: startDay, from: "diary-mean", sources: week.map((m) => m.resource) };
  }
  const candidates = inRange(series, startDay - daysBefore, Math.min(startDay + daysAfter, limitDay));
  const latest = candidates[candidates.length - 1];
  return latest ? { value: latest.value, day: latest.day, from: "single", sources: [latest.resource] } : null;
}

/** The value at a checkpoint, from data in [fromDay, toDay] (the window, already cut at asOf / course end). */
export function findCheckpointValue(series: Series, targetDay: number, fromDay: number, toDay: number, diary: boolean, rules: RuleSet): PickedValue | null {
  const inWindow = inRange(series, fromDay, toDay);
  if (inWindow.length === 0) return null;
  if (diary) {
    const week = inWindow.filter((m) => m.day >= targetDay - (rules.baseline.diaryDays - 1) && m.day <= targetDay);
    if (week.length >= rules.baseline.diaryMinValues) return { value: mean(week), day: targetDay, from: "diary-mean", sources: week.map((m) => m.resource) };
  }
  let best: Measurement | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const m of inWindow) {
    const distance = Math.abs(m.day - targetDay);
    // Sorted by day, so "<=" keeps the later value on a tie.
    if (distance <= bestDistance) {
      best = m;
      bestDistance = distance;
    }
  }
  return best ? { value: best.value, day: best.day, from: "single", sources: [best.resource] } : null;
}
