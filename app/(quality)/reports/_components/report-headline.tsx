import { formatTimestamp } from "@/lib/panel/format";
import type { MeasureDefinition } from "@/lib/reports/measures";
import { describeReportFilters, formatCount, formatPeriod, formatRate, improvementText, rateSentence } from "@/lib/reports/report-format";
import type { ReportSummary } from "@/lib/reports/report-queries";
import type { ReportFilterState } from "@/lib/reports/report-requests";
import { formatDate } from "@/lib/patient-view/format";

/** The rate, numerator of denominator, what the rate means, and what it was computed from. */
export function ReportHeadline({ definition, summary, filters, sourceName }: { definition: MeasureDefinition; summary: ReportSummary; filters: ReportFilterState; sourceName: (id: string) => string }) {
  const e = summary.evaluations;
  const asOf = e.asOfFrom && e.asOfTo ? (e.asOfFrom === e.asOfTo ? formatDate(e.asOfTo) : `${formatDate(e.asOfFrom)} to ${formatDate(e.asOfTo)}`) : null;
  return (
    <section aria-labelledby="headline-heading" className="grid gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm md:grid-cols-[auto_1fr]" data-testid="report-headline">
      <div>
        <h2 id="headline-heading" className="text-sm font-semibold text-slate-700">
          Rate
        </h2>
        <p className="text-5xl font-semibold tabular-nums text-slate-900" data-testid="report-rate">
          {formatRate(summary.rate)}
        </p>
        <p className="text-sm text-slate-700" data-testid="report-rate-counts">
          {rateSentence(summary)}
        </p>
      </div>
      <div className="space-y-1 text-sm text-slate-700">
        <p>
          <span className="font-semibold text-slate-900">Numerator ÷ denominator.</span> {improvementText(definition)}
          {definition.improvementNotation === "decrease" ? ": each case in the numerator is one to review." : "."}
        </p>
        <p>
          <span className="font-semibold text-slate-900">Period:</span> {formatPeriod(summary.period)}. {definition.period.description}
        </p>
        <p>
          <span className="font-semibold text-slate-900">Filters:</span> {describeReportFilters(filters, sourceName).join(" · ")}
        </p>
        <p className="text-xs text-slate-600" data-testid="report-evaluations">
          {e.patients > 0 ? `Evaluations of ${formatCount(e.patients)} patients${asOf ? ` as of ${asOf}` : ""}` : "No evaluated patient in these filters yet"}
          {e.rulesVersions.length > 0 ? ` · rules ${e.rulesVersions.join(", ")}` : ""} · reports {summary.reportsVersion}
          {e.evaluatedAt ? ` · last evaluated ${formatTimestamp(e.evaluatedAt)}` : ""}
        </p>
      </div>
    </section>
  );
}
