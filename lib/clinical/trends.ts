/**
 * Trends per measure for the patient page: every point (with excluded ones and why), the baseline
 * against the latest course start (else the first valid value), latest value, change and percent change,
 * and weekly averages of daily diary scores.
 */
import { roundTo } from "./round";
import { findBaseline } from "./baseline";
import { fromDayNumber } from "./dates";
import type { Measurement } from "./normalize";
import type { RuleSet } from "./rules";
import type { MeasureKey, MeasureTrend, TrendPoint, WeeklyAverage } from "./types";


export function buildTrends(
  all: readonly Measurement[],
  validByMeasure: ReadonlyMap<MeasureKey, Measurement[]>,
  anchorDay: number | null,
  asOfDay: number,
  rules: RuleSet,
): Partial<Record<MeasureKey, MeasureTrend>> {
  const pointsByMeasure = new Map<MeasureKey, TrendPoint[]>();
  for (const m of all) {
    let points = pointsByMeasure.get(m.measure);
    if (!points) pointsByMeasure.set(m.measure, (points = []));
    const excluded = !m.valid || m.excludedReason !== undefined;
    const point: TrendPoint = { date: m.date, value: m.value, resource: m.resource, excluded };
    if (m.excludedReason) point.reason = m.excludedReason;
    else if (!m.valid) point.reason = m.preliminary ? "preliminary" : "not-final";
    if (m.preliminary) point.preliminary = true;
    points.push(point);
  }
  const trends: Partial<Record<MeasureKey, MeasureTrend>> = {};
  for (const [measure, points] of pointsByMeasure) {
    points.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    const valid = validByMeasure.get(measure) ?? [];
    const diary = rules.diaryMeasures.includes(measure);
    let baseline: MeasureTrend["baseline"] = null;
    if (anchorDay !== null) {
      const b = findBaseline(valid, anchorDay, asOfDay, diary, rules);
      if (b) baseline = { value: roundTo(b.value, 2), date: fromDayNumber(b.day), from: b.from };
    } else if (valid[0]) {
      baseline = { value: valid[0].value, date: valid[0].date, from: "single" };
    }
    const last = valid[valid.length - 1];
    const latest = last ? { value: last.value, date: last.date } : null;
    const change = baseline && latest ? roundTo(latest.value - baseline.value, 2) : null;
    const percentChange = baseline && latest && baseline.value !== 0 ? roundTo(((latest.value - baseline.value) / baseline.value) * 100, 1) : null;
    const trend: MeasureTrend = { measure, points, baseline, latest, change, percentChange };
    if (diary && valid.length > 0) trend.weekly = weeklyAverages(valid, anchorDay ?? valid[0]!.day);
    trends[measure] = trend;
  }
  return trends;
}

/** Means of values in 7-day buckets aligned on the anchor day (course start). */
function weeklyAverages(valid: readonly Measurement[], anchorDay: number): WeeklyAverage[] {
  const buckets = new Map<number, { sum: number; count: number }>();
  for (const m of valid) {
    const week = Math.floor((m.day - anchorDay) / 7);
    const b = buckets.get(week);
    if (b) {
      b.sum += m.value;
      b.count += 1;
    } else buckets.set(week, { sum: m.value, count: 1 });
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([week, b]) => ({ weekStart: fromDayNumber(anchorDay + week * 7), mean: roundTo(b.sum / b.count, 2), count: b.count }));
}
