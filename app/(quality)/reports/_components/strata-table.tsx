import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import type { MeasureStratum } from "@/lib/reports/compute";
import type { MeasureDefinition } from "@/lib/reports/measures";
import { formatCount, formatRate, stratumLabel } from "@/lib/reports/report-format";

/** The figures per stratum (drug, requirement or symptom). */
export function StrataTable({ definition, strata }: { definition: MeasureDefinition; strata: readonly MeasureStratum[] }) {
  return (
    <DashboardSection id="strata" title="Breakdown" description={definition.stratifier.description}>
      {strata.length === 0 ? (
        <p className="text-sm text-slate-700">No case in this period and these filters.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[36rem] border-collapse text-left text-sm" data-testid="strata-table">
            <caption className="sr-only">Figures per stratum: {definition.stratifier.description}</caption>
            <thead>
              <tr className="border-b border-slate-300">
                <th scope="col" className="py-1 pr-3">Stratum</th>
                <th scope="col" className="py-1 pr-3 text-right">Initial population</th>
                <th scope="col" className="py-1 pr-3 text-right">Excluded</th>
                <th scope="col" className="py-1 pr-3 text-right">Denominator</th>
                <th scope="col" className="py-1 pr-3 text-right">Numerator</th>
                <th scope="col" className="py-1 text-right">Rate</th>
              </tr>
            </thead>
            <tbody>
              {strata.map((s) => (
                <tr key={s.key} className="border-b border-slate-100">
                  <th scope="row" className="py-1 pr-3 font-medium">
                    {stratumLabel(definition, s.key)}
                  </th>
                  <td className="py-1 pr-3 text-right tabular-nums">{formatCount(s.initialPopulation)}</td>
                  <td className="py-1 pr-3 text-right tabular-nums">{formatCount(s.exclusions.reduce((sum, e) => sum + e.count, 0))}</td>
                  <td className="py-1 pr-3 text-right tabular-nums">{formatCount(s.denominator)}</td>
                  <td className="py-1 pr-3 text-right tabular-nums">{formatCount(s.numerator)}</td>
                  <td className="py-1 text-right font-medium tabular-nums">{formatRate(s.rate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </DashboardSection>
  );
}
