"use client";

import { CartesianGrid, ComposedChart, Line, ReferenceArea, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DotItemDotProps } from "recharts";
import type { TrendChartModel } from "@/lib/patient-view/chart-series";
import { formatDayNumberShort, formatNumber, verdictLabel } from "@/lib/patient-view/format";
import { VERDICT_FILLS } from "./status-styles";
import { TrendChartLegend } from "./trend-chart-legend";
import { TrendDataTable } from "./trend-data-table";
import { TrendTooltip, type TrendRow } from "./trend-tooltip";

// Okabe-Ito: blue for values, vermillion for excluded marks, bluish green for thresholds.
const VALUE_COLOUR = "#0072B2";
const EXCLUDED_COLOUR = "#D55E00";
const THRESHOLD_COLOUR = "#007A5A";
// Weekly diary means: a dark reddish purple, distinct from the daily values and at least 3:1 on white.
const WEEKLY_COLOUR = "#7A2E6B";

/** The rows inside the period shown: a years-long diary outside the range would only be drawn and clipped away. */
function rowsOf(model: TrendChartModel): TrendRow[] {
  const [from, to] = model.xDomain;
  const rows: TrendRow[] = [
    ...model.included.map((p) => ({ day: p.day, shown: p.plotValue, excludedShown: null, weeklyMean: null, point: p })),
    ...model.excluded.map((p) => ({ day: p.day, shown: null, excludedShown: p.plotValue, weeklyMean: null, point: p })),
    ...model.weekly.map((w) => ({ day: w.day, shown: null, excludedShown: null, weeklyMean: w.mean, weekly: w })),
  ];
  return rows.filter((r) => r.day >= from && r.day <= to).sort((a, b) => a.day - b.day);
}

/** Daily diaries have a hundred points or more: smaller dots keep the line readable. */
const DENSE_POINTS = 40;

function IncludedDot(props: DotItemDotProps & { dense?: boolean }) {
  const { cx, cy, payload, index, dense } = props as DotItemDotProps & { payload: TrendRow; dense?: boolean };
  const point = payload.point;
  if (cx === undefined || cy === undefined || payload.shown === null || !point) return <g key={`p-${index}`} />;
  return (
    <circle
      key={`p-${index}`}
      data-testid="chart-point"
      cx={cx}
      cy={cy}
      r={dense ? 2.5 : 4}
      fill={point.preliminary ? "#ffffff" : VALUE_COLOUR}
      stroke={VALUE_COLOUR}
      strokeWidth={dense ? 1 : 2}
    >
      <title>{`${point.date}: ${formatNumber(point.value)}${point.preliminary ? " (preliminary)" : ""}`}</title>
    </circle>
  );
}

function ExcludedMark(props: DotItemDotProps) {
  const { cx, cy, payload, index } = props as DotItemDotProps & { payload: TrendRow };
  const point = payload.point;
  if (cx === undefined || cy === undefined || payload.excludedShown === null || !point) return <g key={`x-${index}`} />;
  const s = 5;
  return (
    <g key={`x-${index}`} data-testid="chart-point-excluded" stroke={EXCLUDED_COLOUR} strokeWidth={2.5}>
      <title>{`Excluded ${point.date}: ${formatNumber(point.value)}${point.reason ? `, ${point.reason}` : ""}`}</title>
      <line x1={cx - s} y1={cy - s} x2={cx + s} y2={cy + s} />
      <line x1={cx - s} y1={cy + s} x2={cx + s} y2={cy - s} />
      {/* A wider transparent target so the hover title is easy to reach. */}
      <circle cx={cx} cy={cy} r={8} fill="transparent" stroke="none" />
    </g>
  );
}

const BAND_SYMBOL: Record<string, string> = { responded: "✓", "not-responded": "✗", "not-assessable": "?", open: "◷", "not-due": "" };

export function TrendChart({ model }: { model: TrendChartModel }) {
  const rows = rowsOf(model);
  const dense = rows.filter((r) => r.shown !== null).length > DENSE_POINTS;
  const headingId = `trend-${model.measure}-title`;
  return (
    <figure aria-labelledby={headingId} className="rounded-md border border-slate-200 p-3 print:break-inside-avoid" data-testid={`trend-${model.measure}`} data-range={model.range}>
      <h3 id={headingId} className="text-base font-semibold text-slate-900">
        {model.title}
      </h3>
      <div role="img" aria-label={model.description} className="mt-2 h-56 w-full">
        <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 600, height: 224 }}>
          <ComposedChart data={rows} margin={{ top: 18, right: 12, bottom: 4, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
            {model.bands.map((b) => (
              <ReferenceArea
                key={b.week}
                x1={b.startDay}
                x2={b.endDay}
                fill={VERDICT_FILLS[b.verdict].fill}
                fillOpacity={VERDICT_FILLS[b.verdict].opacity}
                stroke={VERDICT_FILLS[b.verdict].fill}
                strokeOpacity={0.5}
                ifOverflow="hidden"
                label={{ value: `W${b.week}${BAND_SYMBOL[b.verdict] ? ` ${BAND_SYMBOL[b.verdict]}` : ""}`, position: "insideTop", fontSize: 11, fill: "#374151" }}
              >
                <title>{`Week ${b.week} window ${b.windowStart} to ${b.windowEnd}: ${verdictLabel(b.verdict)}`}</title>
              </ReferenceArea>
            ))}
            <XAxis
              type="number"
              dataKey="day"
              domain={model.xDomain}
              tickFormatter={formatDayNumberShort}
              tick={{ fontSize: 11, fill: "#374151" }}
              tickCount={6}
              allowDataOverflow
            />
            <YAxis domain={model.yDomain} tick={{ fontSize: 11, fill: "#374151" }} width={36} allowDataOverflow />
            {model.baseline ? (
              <ReferenceLine
                y={model.baseline.value}
                stroke="#111827"
                strokeDasharray="6 3"
                label={{ value: `Baseline ${formatNumber(model.baseline.value)}`, position: "insideTopRight", fontSize: 11, fill: "#111827" }}
              />
            ) : null}
            {model.thresholds.map((t) => (
              <ReferenceLine
                key={t.label}
                y={t.value}
                stroke={THRESHOLD_COLOUR}
                strokeDasharray="2 3"
                label={{ value: `${t.label} (${formatNumber(t.value)})`, position: "insideBottomRight", fontSize: 11, fill: THRESHOLD_COLOUR }}
              />
            ))}
            <Line type="linear" dataKey="shown" name={model.title} stroke={VALUE_COLOUR} strokeWidth={dense ? 1.25 : 2} connectNulls dot={(props: DotItemDotProps) => <IncludedDot {...props} key={`p-${props.index}`} dense={dense} />} activeDot={{ r: 6 }} isAnimationActive={false} />
            {model.weekly.length > 0 ? (
              <Line type="linear" dataKey="weeklyMean" name="Weekly mean" stroke={WEEKLY_COLOUR} strokeWidth={2.5} connectNulls dot={false} activeDot={false} isAnimationActive={false} />
            ) : null}
            <Line type="linear" dataKey="excludedShown" name="Excluded" stroke="none" dot={ExcludedMark} activeDot={false} isAnimationActive={false} legendType="none" />
            <Tooltip content={<TrendTooltip title={model.title} />} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <TrendChartLegend model={model} />
      <TrendDataTable model={model} />
    </figure>
  );
}
