"use client";

import { Bar, CartesianGrid, ComposedChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMonth, formatPercent } from "@/lib/panel/format";
import type { LabCompletenessPoint } from "@/lib/panel/types";

const DONE_COLOUR = "#007A5A";

function CompletenessTooltip({ active, payload }: { active?: boolean; payload?: Array<{ payload: LabCompletenessPoint }> }) {
  const p = active ? payload?.[0]?.payload : undefined;
  if (!p) return null;
  return (
    <div className="rounded border border-slate-300 bg-white p-2 text-xs shadow">
      <p className="font-semibold">{formatMonth(p.month)}</p>
      <p>
        {formatPercent(p.percent)} complete: {p.done} done of {p.done + p.missing + p.overdue}
      </p>
      <p>
        {p.missing} missing, {p.overdue} overdue
      </p>
    </div>
  );
}

/** Percent of safety-lab requirements done, per month of their due date; counts in the tooltip and the table. */
export function LabCompletenessChart({ points }: { points: LabCompletenessPoint[] }) {
  if (points.length === 0) return <p className="text-sm text-slate-700">No safety-lab requirement has fallen due yet.</p>;
  const description = `Safety-lab completeness by month of due date: ${points.map((p) => `${formatMonth(p.month)} ${formatPercent(p.percent)}`).join(", ")}.`;
  return (
    <figure>
      <div role="img" aria-label={description} className="h-64 w-full">
        <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 600, height: 256 }}>
          <ComposedChart data={points} margin={{ top: 8, right: 16, bottom: 4, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="month" tickFormatter={formatMonth} tick={{ fontSize: 11, fill: "#374151" }} minTickGap={12} />
            <YAxis domain={[0, 100]} ticks={[0, 25, 50, 75, 100]} tickFormatter={(v: number) => `${v}%`} tick={{ fontSize: 11, fill: "#374151" }} width={44} />
            <Tooltip content={<CompletenessTooltip />} isAnimationActive={false} />
            <Bar dataKey="percent" name="Percent done" fill={DONE_COLOUR} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer font-medium text-brand">Show lab completeness as a table</summary>
        <table className="mt-1 w-full border-collapse text-left text-sm" data-testid="lab-completeness-table">
          <caption className="sr-only">Safety-lab requirements by month of due date</caption>
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 pr-2">Month due</th>
              <th scope="col" className="py-1 pr-2 text-right">Done</th>
              <th scope="col" className="py-1 pr-2 text-right">Missing</th>
              <th scope="col" className="py-1 pr-2 text-right">Overdue</th>
              <th scope="col" className="py-1 text-right">Complete</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.month} className="border-b border-slate-100">
                <td className="py-0.5 pr-2">{formatMonth(p.month)}</td>
                <td className="py-0.5 pr-2 text-right tabular-nums">{p.done}</td>
                <td className="py-0.5 pr-2 text-right tabular-nums">{p.missing}</td>
                <td className="py-0.5 pr-2 text-right tabular-nums">{p.overdue}</td>
                <td className="py-0.5 text-right tabular-nums">{formatPercent(p.percent)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
