import type { TrendChartModel } from "@/lib/patient-view/chart-series";
import { formatDate, formatNumber } from "@/lib/patient-view/format";

/** The chart's values as a table, for keyboard and screen-reader users and for print. */
export function TrendDataTable({ model }: { model: TrendChartModel }) {
  const rows = [...model.included, ...model.excluded].sort((a, b) => a.day - b.day);
  if (rows.length === 0) return null;
  return (
    <details className="mt-2 text-xs">
      <summary className="cursor-pointer font-medium text-brand">Show {model.title} values as a table</summary>
      <table className="mt-1 w-full border-collapse text-left">
        <caption className="sr-only">{model.title} values</caption>
        <thead>
          <tr className="border-b border-slate-300">
            <th scope="col" className="py-1 pr-2">Date</th>
            <th scope="col" className="py-1 pr-2">Value</th>
            <th scope="col" className="py-1 pr-2">Used</th>
            <th scope="col" className="py-1">Resource</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p, i) => (
            <tr key={`${p.resource}-${i}`} className="border-b border-slate-100">
              <td className="py-0.5 pr-2">{formatDate(p.date)}</td>
              <td className="py-0.5 pr-2">
                {formatNumber(p.value)}
                {p.preliminary ? " (preliminary)" : ""}
              </td>
              <td className="py-0.5 pr-2">{p.excluded ? `excluded${p.reason ? `: ${p.reason}` : ""}` : "yes"}</td>
              <td className="py-0.5 font-mono">{p.resource}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
