"use client";

import { Bar, CartesianGrid, ComposedChart, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import type { MeasureTrendPoint } from "@/lib/reports/compute";
import { formatMonth } from "@/lib/panel/format";
import { formatCount, formatRate } from "@/lib/reports/report-format";

const RATE_COLOUR = "#0072B2";
const COUNT_COLOUR = "#cbd5e1";

interface Point extends MeasureTrendPoint {
  percent: number | null;
}

function countsText(p: MeasureTrendPoint): string {
  return p.denominator === 0 ? "no case in the denominator" : `${formatRate(p.rate)} (${formatCount(p.numerator)} of ${formatCount(p.denominator)})`;
}

function TrendTooltip({ active, payload }: { active?: boolean; payload?: Array<{ payload: Point }> }) {
  const p = active ? payload?.[0]?.payload : undefined;
  if (!p) return null;
  return (
    <div className="rounded border border-slate-300 bg-white p-2 text-xs shadow">
      <p className="font-semibold">{formatMonth(p.month)}</p>
      <p>{countsText(p)}</p>
    </div>
  );
}

/** The rate per month (line; months without a denominator are gaps) over the month's denominator n (bars), with a table alternative. */
export function TrendChart({ trend }: { trend: readonly MeasureTrendPoint[] }) {
  const points: Point[] = trend.map((p) => ({ ...p, percent: p.rate === null ? null : p.rate * 100 }));
  const empty = points.every((p) => p.denominator === 0);
  const description = `Rate by month: ${points.map((p) => `${formatMonth(p.month)} ${countsText(p)}`).join(", ")}.`;
  return (
    <DashboardSection id="trend" title="Monthly trend" description="The rate per month of the date that puts a case in the period; the bars show how many cases each month's rate rests on.">
      {empty ? (
        <p className="text-sm text-slate-700">No case fell in the denominator in this period.</p>
      ) : (
        <figure>
          <div role="img" aria-label={description} className="h-64 w-full">
            <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 600, height: 256 }}>
              <ComposedChart data={points} margin={{ top: 8, right: 8, bottom: 4, left: 0 }} accessibilityLayer={false}>
                <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="month" tickFormatter={formatMonth} tick={{ fontSize: 11, fill: "#374151" }} minTickGap={12} />
                <YAxis yAxisId="rate" domain={[0, 100]} ticks={[0, 25, 50, 75, 100]} tickFormatter={(v: number) => `${v}%`} tick={{ fontSize: 11, fill: "#374151" }} width={44} />
                <YAxis yAxisId="n" orientation="right" allowDecimals={false} tick={{ fontSize: 11, fill: "#64748b" }} width={40} />
                <Tooltip content={<TrendTooltip />} isAnimationActive={false} />
                <Bar yAxisId="n" dataKey="denominator" name="Cases in the denominator" fill={COUNT_COLOUR} isAnimationActive={false} />
                <Line yAxisId="rate" type="linear" dataKey="percent" name="Rate" stroke={RATE_COLOUR} strokeWidth={2} dot={{ r: 3, fill: RATE_COLOUR }} connectNulls={false} isAnimationActive={false} />
              </ComposedChart>
            </ResponsiveContainer>
          </div>
          <figcaption className="mt-1 text-xs text-slate-600">Line: rate (left axis). Bars: cases in the denominator (right axis). A month without a denominator has no rate and leaves a gap.</figcaption>
        </figure>
      )}
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer font-medium text-brand">Show the monthly trend as a table</summary>
        <table className="mt-1 w-full border-collapse text-left text-sm" data-testid="trend-table">
          <caption className="sr-only">Numerator, denominator and rate per month</caption>
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 pr-2">Month</th>
              <th scope="col" className="py-1 pr-2 text-right">Numerator</th>
              <th scope="col" className="py-1 pr-2 text-right">Denominator</th>
              <th scope="col" className="py-1 text-right">Rate</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.month} className="border-b border-slate-100">
                <td className="py-0.5 pr-2">{formatMonth(p.month)}</td>
                <td className="py-0.5 pr-2 text-right tabular-nums">{formatCount(p.numerator)}</td>
                <td className="py-0.5 pr-2 text-right tabular-nums">{formatCount(p.denominator)}</td>
                <td className="py-0.5 text-right tabular-nums">{formatRate(p.rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </DashboardSection>
  );
}
