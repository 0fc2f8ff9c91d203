/** Why a flag exists: the rule id and its source (label section, guideline or trial). */
export function RuleCitation({ ruleId, source }: { ruleId: string; source: string }) {
  return (
    <p className="mt-1 text-xs text-slate-600">
      <span className="font-medium">Rule</span> <code className="rounded bg-slate-100 px-1 font-mono text-slate-800">{ruleId}</code>
      <span aria-hidden="true"> · </span>
      <span className="font-medium">Source</span> {source}
    </p>
  );
}
