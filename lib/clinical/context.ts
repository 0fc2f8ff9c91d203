/** Per-patient evaluation context: options, the data-quality notes and the code-match tally being built. */
import type { MappingIndex } from "./codes";
import { conceptId } from "./codes";
import type { RuleSet } from "./rules";
import type { CodeMatchSummary, Concept, DataQualityNote, IsoDate, MatchHow } from "./types";

export interface EvalContext {
  asOf: IsoDate;
  asOfDay: number;
  rules: RuleSet;
  mappings: MappingIndex;
  notes: DataQualityNote[];
  matches: Map<string, CodeMatchSummary>;
  /** Ruxolitinib resources whose route could not be decided (data-quality flag). */
  routeUnknown: Array<{ resource: string; date: IsoDate }>;
  /** Tally code matches for the code-coverage view (skipped when details are not asked for). */
  collectMatches: boolean;
}

export function note(ctx: EvalContext, resource: string, issue: string, detail: string): void {
  ctx.notes.push({ resource, issue, detail });
}

export function tallyMatch(
  ctx: EvalContext,
  resourceType: string,
  system: string | null,
  code: string | null,
  display: string | null,
  concept: Concept | null,
  how: MatchHow | null,
  noteText?: string,
): void {
  if (!ctx.collectMatches) return;
  const id = concept ? conceptId(concept) : null;
  const key = `${resourceType}|${system ?? ""}|${code ?? ""}|${id ?? ""}|${code === null ? (display ?? "") : ""}`;
  const existing = ctx.matches.get(key);
  if (existing) {
    existing.count += 1;
    return;
  }
  const summary: CodeMatchSummary = { resourceType, system, code, display, concept: id, how, count: 1 };
  if (noteText) summary.note = noteText;
  ctx.matches.set(key, summary);
}
