import type { Flag } from "@/lib/clinical/types";
import { flagKindLabel } from "@/lib/patient-view/format";
import { RuleCitation } from "./rule-citation";
import { SeverityBadge } from "./severity-badge";

/** Flags, most severe first, each with its rule id and source so the clinician can see why. */
export function FlagList({ flags, label }: { flags: Flag[]; label: string }) {
  if (flags.length === 0) return null;
  return (
    <ul aria-label={label} className="space-y-2">
      {flags.map((flag, i) => (
        <li key={`${flag.ruleId}-${flag.resource ?? flag.requirement ?? flag.week ?? i}-${i}`} data-testid="flag" className="rounded border border-slate-200 p-2">
          <div className="flex flex-wrap items-center gap-2">
            <SeverityBadge severity={flag.severity} />
            <span className="text-xs font-semibold uppercase tracking-wide text-slate-600">{flagKindLabel(flag.kind)}</span>
          </div>
          <p className="mt-1 text-sm text-slate-900">{flag.message}</p>
          <RuleCitation ruleId={flag.ruleId} source={flag.source} sourceLabel={flag.sourceLabel} sourceUrl={flag.sourceUrl} />
          {flag.resource ? <p className="text-xs text-slate-600">Triggered by {flag.resource}</p> : null}
        </li>
      ))}
    </ul>
  );
}
