import type { TrendChartModel } from "@/lib/patient-view/chart-series";
import { formatDate, formatNumber } from "@/lib/patient-view/format";
import { VerdictBadge } from "./verdict-badge";

/** Text legend under a chart: the lines' meaning and each shaded checkpoint window with its verdict. */
export function TrendChartLegend({ model }: { model: TrendChartModel }) {
  return (
    <figcaption className="mt-2 space-y-1 text-xs text-slate-700">
      <p>
        <span aria-hidden="true" className="font-bold text-[#0072B2]">●</span> value
        {model.excluded.length > 0 ? (
          <>
            {" · "}
            <span aria-hidden="true" className="font-bold text-[#D55E00]">✕</span> excluded ({model.excluded.length}, hover for why)
          </>
        ) : null}
        {model.weekly.length > 0 ? (
          <>
            {" · "}
            <span aria-hidden="true" className="font-bold text-[#7A2E6B]">━</span> weekly mean of daily values
          </>
        ) : null}
        {model.baseline ? ` · dashed: baseline ${formatNumber(model.baseline.value)} (${formatDate(model.baseline.date)})` : " · no baseline"}
        {model.thresholds.length > 0 ? ` · dotted: response thresholds (${model.thresholds.map((t) => t.label).join(", ")})` : ""}
        {model.hiddenBefore > 0 ? ` · ${model.hiddenBefore} older value${model.hiddenBefore === 1 ? "" : "s"} in the table` : ""}
      </p>
      {model.bands.length > 0 ? (
        <ul className="flex flex-wrap gap-x-3 gap-y-1" aria-label={`${model.title} checkpoint windows`}>
          {model.bands.map((b) => (
            <li key={b.week} className="flex items-center gap-1">
              W{b.week} ({formatDate(b.windowStart)} to {formatDate(b.windowEnd)}) <VerdictBadge verdict={b.verdict} />
            </li>
          ))}
        </ul>
      ) : null}
    </figcaption>
  );
}
