import type { LabRequirementResult } from "@/lib/clinical/types";
import { formatDate, labValueText, referenceHighText } from "@/lib/patient-view/format";
import { SEVERITY_STYLES } from "./status-styles";

/**
 * The values that satisfied a lab requirement: value, unit and date of each, the reference upper limit
 * when the lab reports one, and for a value outside the label's threshold a symbol, the word "abnormal",
 * the threshold and the rule id (colour is never the only cue).
 */
export function LabResultValues({ results }: { results: LabRequirementResult[] }) {
  return (
    <ul className="space-y-1" aria-label="Results">
      {results.map((r, i) => {
        const reference = referenceHighText(r);
        const style = r.abnormal ? SEVERITY_STYLES[r.abnormal.severity] : null;
        return (
          <li key={`${r.resource}-${r.lab}-${i}`} data-testid="lab-value" data-abnormal={r.abnormal ? "true" : undefined}>
            <span className={r.abnormal ? "font-semibold text-status-critical" : "text-slate-900"}>
              {style ? <span aria-hidden="true">{style.symbol} </span> : null}
              {labValueText(r)}
            </span>
            <span className="text-slate-600"> on {formatDate(r.date)}</span>
            {reference ? <span className="text-slate-600"> ({reference})</span> : null}
            {r.abnormal ? (
              <span className={`mt-0.5 block w-fit rounded border px-1.5 py-0.5 text-xs font-semibold ${style!.className}`}>
                Abnormal ({r.abnormal.severity}): threshold {r.abnormal.threshold}
                <span aria-hidden="true"> · </span>
                rule <code className="font-mono">{r.abnormal.ruleId}</code>
              </span>
            ) : null}
            <span className="block font-mono text-xs text-slate-600">{r.resource}</span>
          </li>
        );
      })}
    </ul>
  );
}
