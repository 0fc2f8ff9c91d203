import { FigureCard } from "@/app/(lead)/panel/_components/figure-card";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import type { MeasureDefinition } from "@/lib/reports/measures";
import { formatCount, sourceKindLabel } from "@/lib/reports/report-format";
import type { ReportSummary } from "@/lib/reports/report-queries";

const casesText = (n: number) => (n === 1 ? "case" : "cases");

/** Each figure with the definition it counts, the exclusions with their reasons, and where the rules come from. */
export function MeasureFigures({ definition, summary }: { definition: MeasureDefinition; summary: ReportSummary }) {
  const excluded = summary.exclusions.reduce((sum, e) => sum + e.count, 0);
  return (
    <DashboardSection id="figures" title="Figures and their definitions" description={`One case is ${caseUnit(definition)}. Every number is counted as the definition beside it says.`}>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        <FigureCard id="initial-population" title="Initial population" count={summary.initialPopulation} denominator={casesText(summary.initialPopulation)} definition={definition.initialPopulation} />
        <FigureCard id="exclusions" title="Excluded" count={excluded} denominator={`${casesText(excluded)}, by reason below`} definition="Cases left out of the denominator, each for the first reason that fits, in the order listed." />
        <FigureCard id="denominator" title="Denominator" count={summary.denominator} denominator={casesText(summary.denominator)} definition={definition.denominator} />
        <FigureCard id="numerator" title="Numerator" count={summary.numerator} denominator={`of ${formatCount(summary.denominator)} in the denominator`} definition={definition.numerator} />
      </div>
      <h3 className="mt-4 text-base font-semibold text-slate-900">Exclusions</h3>
      {definition.exclusions.length === 0 ? (
        <p className="text-sm text-slate-700">This measure has no exclusions: the denominator is the initial population.</p>
      ) : (
        <table className="mt-1 w-full border-collapse text-left text-sm" data-testid="exclusions-table">
          <caption className="sr-only">Exclusions with their reasons and counts</caption>
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 pr-3">Reason</th>
              <th scope="col" className="py-1 pr-3 text-right">Cases</th>
              <th scope="col" className="py-1">Rule</th>
            </tr>
          </thead>
          <tbody>
            {definition.exclusions.map((rule) => (
              <tr key={rule.reason} className="border-b border-slate-100 align-top">
                <th scope="row" className="py-1 pr-3 font-medium">
                  {rule.label}
                </th>
                <td className="py-1 pr-3 text-right tabular-nums">{formatCount(summary.exclusions.find((e) => e.reason === rule.reason)?.count ?? 0)}</td>
                <td className="py-1 text-slate-700">{rule.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <dl className="mt-4 grid gap-2 text-sm md:grid-cols-2">
        <div>
          <dt className="font-semibold text-slate-900">Period</dt>
          <dd className="text-slate-700">{definition.period.description}</dd>
        </div>
        <div>
          <dt className="font-semibold text-slate-900">Breakdown</dt>
          <dd className="text-slate-700">{definition.stratifier.description}</dd>
        </div>
      </dl>
      <h3 className="mt-4 text-base font-semibold text-slate-900">Sources</h3>
      <ul className="mt-1 list-disc space-y-0.5 pl-5 text-sm text-slate-700" data-testid="measure-sources">
        {definition.sources.map((s) => (
          <li key={s.citation}>
            <span className="font-medium text-slate-900">{sourceKindLabel(s.kind)}:</span> {s.citation}
          </li>
        ))}
      </ul>
    </DashboardSection>
  );
}

function caseUnit(definition: MeasureDefinition): string {
  switch (definition.basis) {
    case "course":
      return "a JAK course";
    case "lab-requirement":
      return "a follow-up lab requirement of a course";
    case "symptom-checkpoint":
      return "a symptom checkpoint of a course";
    case "abnormal-result":
      return "an abnormal safety-lab result";
  }
}
