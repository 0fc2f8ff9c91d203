import type { Criterion } from "@/lib/clinical/types";
import { criterionLabel } from "@/lib/patient-view/format";
import type { CheckpointRuleText } from "@/lib/patient-view/overview";
import { RuleCitation } from "./rule-citation";
import { SeverityBadge } from "./severity-badge";

/** A raised flag's message, or the rule's criteria and what it would say, always with rule id and source. */
export function CheckpointRuleCell({ rule }: { rule: CheckpointRuleText }) {
  return (
    <div>
      {rule.raised ? (
        <p className="flex flex-wrap items-start gap-2">
          <SeverityBadge severity={rule.raised.severity} />
          <span className="font-medium text-slate-900">{rule.message}</span>
        </p>
      ) : null}
      {rule.criteria.length > 0 ? (
        <p className="text-slate-700">
          Responded when any is met: {rule.criteria.map((c) => criterionLabel(c as Criterion)).join("; ")}.
        </p>
      ) : null}
      {!rule.raised ? <p className="text-xs text-slate-600">If none is met by the window&apos;s end: {rule.message}</p> : null}
      <RuleCitation ruleId={rule.ruleId} source={rule.source} sourceLabel={rule.sourceLabel} sourceUrl={rule.sourceUrl} />
    </div>
  );
}
