/**
 * Why a flag exists: the rule id and its source. The source label links to the label section, trial or guideline
 * (new tab); the one-line citation, which may name further sources, is its title.
 */
export function RuleCitation({ ruleId, source, sourceLabel, sourceUrl }: { ruleId: string; source: string; sourceLabel: string; sourceUrl: string }) {
  // A flag stored before sources had links (an older rules version) still shows its citation.
  const cited = sourceUrl ? (
    <a href={sourceUrl} target="_blank" rel="noopener noreferrer" title={source} className="text-sky-800 underline underline-offset-2 hover:text-sky-950" data-testid="rule-source">
      {sourceLabel}
      <span className="sr-only"> (opens in a new tab)</span>
    </a>
  ) : (
    source
  );
  return (
    <p className="mt-1 text-xs text-slate-600">
      <span className="font-medium">Rule</span> <code className="rounded bg-slate-100 px-1 font-mono text-slate-800">{ruleId}</code>
      <span aria-hidden="true"> · </span>
      <span className="font-medium">Source</span> {cited}
    </p>
  );
}
