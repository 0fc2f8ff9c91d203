import { plural } from "@/lib/panel/format";
import type { PanelSummary } from "@/lib/panel/types";
import { DRUG_LABELS } from "@/lib/patient-view/format";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";

/** How many patients are on a JAK inhibitor now, by drug and route. */
export function OnJakSection({ summary }: { summary: PanelSummary }) {
  const { onJak, evaluatedPatients } = summary;
  return (
    <DashboardSection id="on-jak" title="Patients on a JAK inhibitor" description={onJak.definition}>
      <p className="text-sm text-slate-700">
        <span className="text-3xl font-semibold tabular-nums text-slate-900" data-testid="figure-on-jak-count">
          {onJak.count.toLocaleString("en-US")}
        </span>{" "}
        of {plural(evaluatedPatients.count, "synced patient")}
      </p>
      {onJak.byDrugRoute.length > 0 ? (
        <table className="mt-3 w-full max-w-xl border-collapse text-left text-sm">
          <caption className="sr-only">Patients on a JAK inhibitor by drug and route</caption>
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 pr-3">Drug</th>
              <th scope="col" className="py-1 pr-3">Route</th>
              <th scope="col" className="py-1 text-right">Patients</th>
              <th scope="col" className="py-1 text-right">Share</th>
            </tr>
          </thead>
          <tbody>
            {onJak.byDrugRoute.map((row) => (
              <tr key={`${row.drug}-${row.route}`} className="border-b border-slate-100">
                <td className="py-1 pr-3">{DRUG_LABELS[row.drug] ?? row.drug}</td>
                <td className="py-1 pr-3">{row.route}</td>
                <td className="py-1 text-right tabular-nums">{row.count.toLocaleString("en-US")}</td>
                <td className="py-1 text-right tabular-nums">{onJak.count > 0 ? `${Math.round((row.count / onJak.count) * 1000) / 10}%` : "-"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="mt-2 text-sm text-slate-700">No synced patient is on a JAK inhibitor now.</p>
      )}
      <p className="mt-2 text-xs text-slate-600">Synced patients: {evaluatedPatients.definition}</p>
    </DashboardSection>
  );
}
