"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DrugId } from "@/lib/clinical/types";
import { CHECKPOINT_WEEKS } from "@/lib/panel/filters";
import { formatPercent } from "@/lib/panel/format";
import type { PanelCharts, ResponseCurvePoint } from "@/lib/panel/types";
import { DRUG_LABELS } from "@/lib/patient-view/format";
import { DRUG_STYLES } from "./chart-styles";

type Series = PanelCharts["responseCurves"]["series"];

interface Row {
  week: number;
  [drug: string]: number | null;
}

function countsText(p: ResponseCurvePoint): string {
  const decided = p.responded + p.notResponded;
  return `${p.responded} of ${decided} responded${p.notAssessable > 0 ? `, ${p.notAssessable} not assessable` : ""}`;
}

function CurveTooltip({ active, label, series }: { active?: boolean; label?: number | string; series: Series }) {
  if (!active || label === undefined) return null;
  const week = Number(label);
  return (
    <div className="rounded border border-slate-300 bg-white p-2 text-xs shadow">
      <p className="font-semibold">Week {week}</p>
      <ul>
        {series.map((s) => {
          const p = s.points.find((x) => x.week === week);
          if (!p) return null;
          return (
            <li key={s.drug}>
              <span aria-hidden="true" style={{ color: DRUG_STYLES[s.drug].colour }}>
                {DRUG_STYLES[s.drug].marker}{" "}
              </span>
              {DRUG_LABELS[s.drug]}: {formatPercent(p.percent)} ({countsText(p)})
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** Cohort curves: percent responded per checkpoint week, one line per drug, counts in the tooltip and the table. */
export function ResponseCurvesChart({ series }: { series: Series }) {
  if (series.length === 0) return <p className="text-sm text-slate-700">No checkpoint has been decided yet.</p>;
  const weeks = CHECKPOINT_WEEKS.filter((w) => series.some((s) => s.points.some((p) => p.week === w)));
  const rows: Row[] = weeks.map((week) => {
    const row: Row = { week };
    for (const s of series) row[s.drug] = s.points.find((p) => p.week === week)?.percent ?? null;
    return row;
  });
  const description = `Percent responded by checkpoint week: ${series
    .map((s) => `${DRUG_LABELS[s.drug]} ${s.points.map((p) => `week ${p.week} ${formatPercent(p.percent)}`).join(", ")}`)
    .join("; ")}.`;
  return (
    <figure>
      <div role="img" aria-label={description} className="h-64 w-full">
        <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 600, height: 256 }}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
            <XAxis dataKey="week" type="number" domain={[0, Math.max(...weeks, 16) + 2]} ticks={weeks} tickFormatter={(w: number) => `W${w}`} tick={{ fontSize: 11, fill: "#374151" }} />
            <YAxis domain={[0, 100]} ticks={[0, 25, 50, 75, 100]} tickFormatter={(v: number) => `${v}%`} tick={{ fontSize: 11, fill: "#374151" }} width={44} />
            <Tooltip content={<CurveTooltip series={series} />} isAnimationActive={false} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {series.map((s) => (
              <Line
                key={s.drug}
                type="linear"
                dataKey={s.drug}
                name={DRUG_LABELS[s.drug as DrugId]}
                stroke={DRUG_STYLES[s.drug].colour}
                strokeDasharray={DRUG_STYLES[s.drug].dash}
                strokeWidth={2}
                dot={{ r: 4, fill: DRUG_STYLES[s.drug].colour }}
                connectNulls
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="mt-1 text-xs text-slate-600">Lines join the checkpoint weeks each drug has; hover a week for the counts.</figcaption>
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer font-medium text-brand">Show the response curves as a table</summary>
        <table className="mt-1 w-full border-collapse text-left text-sm" data-testid="response-curves-table">
          <caption className="sr-only">Percent responded per drug and checkpoint week</caption>
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 pr-2">Drug</th>
              <th scope="col" className="py-1 pr-2">Week</th>
              <th scope="col" className="py-1 pr-2 text-right">Responded</th>
              <th scope="col" className="py-1 pr-2 text-right">Not responded</th>
              <th scope="col" className="py-1 pr-2 text-right">Not assessable</th>
              <th scope="col" className="py-1 text-right">Percent responded</th>
            </tr>
          </thead>
          <tbody>
            {series.flatMap((s) =>
              s.points.map((p) => (
                <tr key={`${s.drug}-${p.week}`} className="border-b border-slate-100">
                  <td className="py-0.5 pr-2">{DRUG_LABELS[s.drug]}</td>
                  <td className="py-0.5 pr-2">{p.week}</td>
                  <td className="py-0.5 pr-2 text-right tabular-nums">{p.responded}</td>
                  <td className="py-0.5 pr-2 text-right tabular-nums">{p.notResponded}</td>
                  <td className="py-0.5 pr-2 text-right tabular-nums">{p.notAssessable}</td>
                  <td className="py-0.5 text-right tabular-nums">{formatPercent(p.percent)}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
