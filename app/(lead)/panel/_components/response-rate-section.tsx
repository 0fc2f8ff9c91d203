import { rateText } from "@/lib/panel/format";
import { RESPONSE_MEASURES, type PanelSummary, type ResponseMeasure, type ResponseRateRow } from "@/lib/panel/types";
import { DRUG_LABELS } from "@/lib/patient-view/format";
import type { DrugId } from "@/lib/clinical/types";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";

export const MEASURE_LABELS: Record<ResponseMeasure, string> = {
  easi75: "EASI-75",
  igaSuccess: "IGA success",
  itch4: "Itch ≥ 4 points better",
  pain3: "Skin pain ≥ 3 points better",
};

/** Response rates per drug and checkpoint week: each cell a percent with numerator, denominator and the not-assessable count. */
export function ResponseRateSection({ summary }: { summary: PanelSummary }) {
  const { rows, definitions, scope } = summary.responseRates;
  const byDrug = new Map<DrugId, ResponseRateRow[]>();
  for (const row of rows) byDrug.set(row.drug, [...(byDrug.get(row.drug) ?? []), row]);
  return (
    <DashboardSection id="response-rates" title="Response rates by drug and checkpoint" description={scope}>
      {byDrug.size === 0 ? <p className="text-sm text-slate-700">No checkpoint has been decided yet (no window has closed and none responded early).</p> : null}
      <div className="space-y-4">
        {[...byDrug.entries()].map(([drug, drugRows]) => (
          <div key={drug} className="overflow-x-auto">
            <table className="w-full min-w-[40rem] border-collapse text-left text-sm" data-testid={`response-rates-${drug}`}>
              <caption className="mb-1 text-left text-base font-semibold text-slate-900">{DRUG_LABELS[drug] ?? drug}</caption>
              <thead>
                <tr className="border-b border-slate-300">
                  <th scope="col" className="py-1 pr-3">Checkpoint</th>
                  <th scope="col" className="py-1 pr-3 text-right">Decided</th>
                  {RESPONSE_MEASURES.map((m) => (
                    <th key={m} scope="col" className="py-1 pr-3">
                      {MEASURE_LABELS[m]}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {drugRows.map((row) => (
                  <tr key={row.week} className="border-b border-slate-100 align-top">
                    <th scope="row" className="py-1 pr-3 font-medium">
                      Week {row.week}
                    </th>
                    <td className="py-1 pr-3 text-right tabular-nums">{row.decided.toLocaleString("en-US")}</td>
                    {RESPONSE_MEASURES.map((m) => {
                      const rate = row.rates[m];
                      if (!rate)
                        return (
                          <td key={m} className="py-1 pr-3 text-slate-500">
                            <span aria-hidden="true">–</span>
                            <span className="sr-only">not a criterion at this week</span>
                          </td>
                        );
                      const text = rateText(rate);
                      return (
                        <td key={m} className="py-1 pr-3 tabular-nums">
                          <span className="font-medium text-slate-900">{text.main}</span>
                          {text.excluded ? <span className="block text-xs text-slate-600">{text.excluded}</span> : null}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </div>
      <dl className="mt-3 grid gap-1 text-xs text-slate-600 md:grid-cols-2">
        {RESPONSE_MEASURES.map((m) => (
          <div key={m}>
            <dt className="inline font-semibold text-slate-700">{MEASURE_LABELS[m]}: </dt>
            <dd className="inline">{definitions[m]}</dd>
          </div>
        ))}
        <div>
          <dt className="inline font-semibold text-slate-700">–: </dt>
          <dd className="inline">the measure is not one of the drug&apos;s criteria at that week.</dd>
        </div>
      </dl>
    </DashboardSection>
  );
}
