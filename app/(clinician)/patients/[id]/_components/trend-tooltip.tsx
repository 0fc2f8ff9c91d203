import type { ChartPoint, WeeklyMeanPoint } from "@/lib/patient-view/chart-series";
import { formatDate, formatNumber } from "@/lib/patient-view/format";

/** One row of the chart's data: a measured point (kept or excluded) or a weekly diary mean. */
export interface TrendRow {
  day: number;
  shown: number | null;
  excludedShown: number | null;
  weeklyMean: number | null;
  point?: ChartPoint;
  weekly?: WeeklyMeanPoint;
}

interface TooltipPayloadEntry {
  payload?: TrendRow;
}

/** Hover card: date and value; for an excluded point, why it was excluded; for a weekly mean, its count. */
export function TrendTooltip({ active, payload, title }: { active?: boolean; payload?: readonly TooltipPayloadEntry[]; title: string }) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  const box = "rounded border border-slate-300 bg-white px-2 py-1 text-xs text-slate-900 shadow print:hidden";
  if (row.weekly) {
    return (
      <div className={box}>
        <p className="font-semibold">Week from {formatDate(row.weekly.weekStart)}</p>
        <p>
          {title} weekly mean: {formatNumber(row.weekly.mean)} ({row.weekly.count} value{row.weekly.count === 1 ? "" : "s"})
        </p>
      </div>
    );
  }
  const point = row.point;
  if (!point) return null;
  return (
    <div className={box}>
      <p className="font-semibold">{formatDate(point.date)}</p>
      <p>
        {title}: {formatNumber(point.value)}
        {point.preliminary ? " (preliminary)" : ""}
      </p>
      {point.excluded ? <p className="text-status-critical">Excluded{point.reason ? `: ${point.reason}` : ""}</p> : null}
      <p className="text-slate-600">{point.resource}</p>
    </div>
  );
}
