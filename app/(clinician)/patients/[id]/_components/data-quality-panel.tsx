import type { PatientEvaluation } from "@/lib/clinical/types";
import type { FetchSummary } from "@/lib/fhir/patient-record-types";
import { DashboardSection } from "./dashboard-section";

/** What was ignored and why, which codes matched by text only, and which searches failed. */
export function DataQualityPanel({ evaluation, fetch }: { evaluation: PatientEvaluation; fetch: FetchSummary }) {
  const notes = evaluation.dataQuality;
  const matches = evaluation.codeMatches ?? [];
  const textOnly = matches.filter((m) => m.how === "text");
  const ignored = matches.filter((m) => m.concept === null);
  const nothing = notes.length === 0 && textOnly.length === 0 && ignored.length === 0 && fetch.failures.length === 0;
  return (
    <DashboardSection id="data-quality" title="Data quality" description="Check these before relying on a verdict.">
      {nothing ? <p className="text-sm text-slate-700">Nothing was ignored and every code matched by system and code.</p> : null}

      {fetch.failures.length > 0 ? (
        <div className="mb-3">
          <h3 className="text-sm font-semibold text-slate-800">Failed EHR searches</h3>
          <ul className="mt-1 list-disc pl-5 text-sm text-slate-700">
            {fetch.failures.map((f) => (
              <li key={f.search}>
                <code className="font-mono text-xs">{f.search}</code>: {f.status === null ? "no response" : `HTTP ${f.status}`}, {f.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {notes.length > 0 ? (
        <details open={notes.length <= 8} className="mb-3">
          <summary className="cursor-pointer text-sm font-semibold text-slate-800">Ignored or adjusted data ({notes.length})</summary>
          <div className="overflow-x-auto">
            <table className="mt-1 w-full border-collapse text-left text-sm">
              <caption className="sr-only">Data-quality notes</caption>
              <thead>
                <tr className="border-b-2 border-slate-300 text-slate-700">
                  <th scope="col" className="py-1 pr-3">Resource</th>
                  <th scope="col" className="py-1 pr-3">Issue</th>
                  <th scope="col" className="py-1">Detail</th>
                </tr>
              </thead>
              <tbody>
                {notes.map((n, i) => (
                  <tr key={`${n.resource}-${n.issue}-${i}`} className="border-b border-slate-100 align-top" data-testid="data-quality-row">
                    <td className="py-1 pr-3 font-mono text-xs">{n.resource}</td>
                    <td className="py-1 pr-3">{n.issue}</td>
                    <td className="py-1 text-slate-700">{n.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      ) : null}

      {textOnly.length > 0 ? (
        <div className="mb-3">
          <h3 className="text-sm font-semibold text-slate-800">Matched by text only ({textOnly.length})</h3>
          <p className="text-xs text-slate-600">These codes were recognised from their display text, not their system and code. A site mapping makes them exact.</p>
          <ul className="mt-1 list-disc pl-5 text-sm text-slate-700">
            {textOnly.map((m, i) => (
              <li key={`${m.system}-${m.code}-${m.display}-${i}`} data-testid="text-match">
                “{m.display ?? "no display"}” ({m.resourceType}
                {m.system || m.code ? `, ${m.system ?? "no system"}|${m.code ?? "no code"}` : ", no coding"}) → {m.concept}, {m.count}×
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {ignored.length > 0 ? (
        <details>
          <summary className="cursor-pointer text-sm font-semibold text-slate-800">Codes not used ({ignored.length})</summary>
          <ul className="mt-1 list-disc pl-5 text-sm text-slate-700">
            {ignored.map((m, i) => (
              <li key={`${m.system}-${m.code}-${i}`}>
                {m.display ?? "no display"} ({m.resourceType}, {m.system ?? "no system"}|{m.code ?? "no code"}), {m.count}×{m.note ? `: ${m.note}` : ""}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </DashboardSection>
  );
}
