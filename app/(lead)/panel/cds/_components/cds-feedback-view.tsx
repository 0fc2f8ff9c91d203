import Link from "next/link";
import type { CdsFeedbackSummary, CdsRuleFeedback } from "@/lib/panel/cds-feedback";
import { formatPercent, formatTimestamp } from "@/lib/panel/format";
import { formatCount } from "@/lib/panel/panel-format";

/** "Patient declined (4)", "no reason given (1)". */
function reasonText(reason: CdsRuleFeedback["topOverrideReasons"][number]): string {
  const name = reason.display ?? reason.code ?? "no reason given";
  return `${name} (${formatCount(reason.count)})`;
}

function rateCell(rule: CdsRuleFeedback): string {
  const answered = rule.accepted + rule.overridden;
  return rule.overrideRate === null ? "no feedback yet" : `${formatPercent(rule.overrideRate * 100)} (${formatCount(rule.overridden)} of ${formatCount(answered)})`;
}

/**
 * The CDS cards the EHR showed, per rule: issued, accepted, overridden, the override rate and why clinicians
 * overrode. A high rate with one recurring reason is a rule to review (or a code the site should map).
 */
export function CdsFeedbackView({ summary, days, periods }: { summary: CdsFeedbackSummary | null; days: number; periods: readonly number[] }) {
  return (
    <div className="space-y-6">
      <header className="flex flex-wrap items-start justify-between gap-3">
        <div className="max-w-3xl space-y-1">
          <h2 className="text-xl font-semibold text-slate-900">CDS cards</h2>
          <p className="text-sm text-slate-700">
            Cards the EHR showed from this app&apos;s CDS Hooks service (patient-view and order-sign), per rule, and what clinicians did with them. The
            override rate is overridden cards out of cards with feedback; a rule overridden most of the time, for the same reason, is worth reviewing.
          </p>
        </div>
        <nav aria-label="Period" className="flex flex-wrap items-center gap-1 text-sm">
          <span className="mr-1 text-slate-700">Period:</span>
          {periods.map((p) => (
            <Link
              key={p}
              href={`/panel/cds?days=${p}`}
              aria-current={p === days ? "page" : undefined}
              className={`rounded border px-2 py-1 ${p === days ? "border-slate-400 bg-white font-semibold text-slate-900" : "border-transparent text-brand hover:bg-white"}`}
            >
              {p} days
            </Link>
          ))}
        </nav>
      </header>

      {summary === null ? (
        <p role="alert" className="rounded border border-status-critical bg-red-50 px-3 py-2 text-sm text-status-critical">
          The CDS card figures could not be read (the database did not answer). Reload the page; if it keeps failing, check GET /api/health.
        </p>
      ) : (
        <CdsFeedbackTable summary={summary} />
      )}
    </div>
  );
}

function CdsFeedbackTable({ summary }: { summary: CdsFeedbackSummary }) {
  const period = `${formatTimestamp(summary.from)} to ${formatTimestamp(summary.to)}`;
  if (summary.rules.length === 0) {
    return (
      <p className="text-sm text-slate-700" data-testid="cds-feedback-empty">
        No CDS cards were issued in the last {summary.days} days ({period}). Cards appear here once an EHR calls the service (see the README, CDS Hooks).
      </p>
    );
  }
  const { totals } = summary;
  return (
    <section className="space-y-2" aria-labelledby="cds-rules-title">
      <h3 id="cds-rules-title" className="text-lg font-semibold text-slate-900">
        By rule, last {summary.days} days
      </h3>
      <p className="text-sm text-slate-700">
        {period}. {formatCount(totals.cardsIssued)} cards issued; {formatCount(totals.accepted)} accepted, {formatCount(totals.overridden)} overridden
        {totals.overrideRate === null ? "" : ` (override rate ${formatPercent(totals.overrideRate * 100)})`}.
        {summary.unattributedFeedback > 0 ? ` ${formatCount(summary.unattributedFeedback)} feedback entries named cards this service did not issue to that EHR and are not counted.` : ""}
      </p>
      <div className="overflow-x-auto">
        <table className="w-full border-collapse text-left text-sm" data-testid="cds-feedback-table">
          <caption className="sr-only">CDS cards per rule: issued, accepted, overridden, override rate and top override reasons; noisiest first</caption>
          <thead>
            <tr className="border-b-2 border-slate-300 align-bottom text-slate-700">
              <th scope="col" className="py-2 pr-3">Rule</th>
              <th scope="col" className="py-2 pr-3 text-right">Cards issued</th>
              <th scope="col" className="py-2 pr-3 text-right">Accepted</th>
              <th scope="col" className="py-2 pr-3 text-right">Overridden</th>
              <th scope="col" className="py-2 pr-3">Override rate</th>
              <th scope="col" className="py-2">Top override reasons</th>
            </tr>
          </thead>
          <tbody>
            {summary.rules.map((rule) => (
              <tr key={rule.ruleId} className="border-b border-slate-200 align-top" data-testid="cds-feedback-row" data-rule-id={rule.ruleId}>
                <th scope="row" className="py-2 pr-3 font-normal">
                  <span className="block font-semibold text-slate-900">{rule.title}</span>
                  <span className="block font-mono text-xs text-slate-600">{rule.ruleId}</span>
                  <a href={rule.sourceUrl} target="_blank" rel="noopener noreferrer" className="block text-xs text-brand underline">
                    {rule.sourceLabel}
                  </a>
                </th>
                <td className="py-2 pr-3 text-right tabular-nums">{formatCount(rule.cardsIssued)}</td>
                <td className="py-2 pr-3 text-right tabular-nums">{formatCount(rule.accepted)}</td>
                <td className="py-2 pr-3 text-right tabular-nums">{formatCount(rule.overridden)}</td>
                <td className="py-2 pr-3 tabular-nums">{rateCell(rule)}</td>
                <td className="py-2">
                  {rule.topOverrideReasons.length === 0 ? (
                    <span className="text-slate-600">–</span>
                  ) : (
                    <ul className="space-y-0.5">
                      {rule.topOverrideReasons.map((reason) => (
                        <li key={reason.code ?? "(none)"}>{reasonText(reason)}</li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
