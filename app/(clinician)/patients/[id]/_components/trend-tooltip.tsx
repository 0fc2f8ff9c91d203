import type { ChartPoint } from "@/lib/patient-view/chart-series";
import { formatDate, formatNumber } from "@/lib/patient-view/format";

export type TrendRow = ChartPoint & { shown: number | null; excludedShown: number | null };

interface TooltipPayloadEntry {
  payload?: TrendRow;
}

/** Hover card: date and value; for an excluded point, why it was excluded. */
export function TrendTooltip({ active, payload, title }: { active?: boolean; payload?: readonly TooltipPayloadEntry[]; title: string }) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  return (
    <div className="rounded border border-slate-300 bg-white px-2 py-1 text-xs text-slate-900 shadow print:hidden">
      <p className="font-semibold">{formatDate(row.date)}</p>
      <p>
        {title}: {formatNumber(row.value)}
        {row.preliminary ? " (preliminary)" : ""}
      </p>
      {row.excluded ? <p className="text-status-critical">Excluded{row.reason ? `: ${row.reason}` : ""}</p> : null}
      <p className="text-slate-600">{row.resource}</p>
    </div>
  );
}
