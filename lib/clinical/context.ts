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
  /**
   * Set by the asOf-independent stage (prepare.ts), which reads with asOfDay = Infinity: the day of the data the
   * current notes and matches are about (null: about no dated data), recorded with each so the second stage keeps
   * only those an evaluation at its asOf would have made.
   */
  gateDay?: number | null;
  /** With gateDay: the gate of each note in `notes`, in the same order. */
  noteGates?: Array<number | null>;
  /** With gateDay: every match in order, with its gate, instead of the tally in `matches`. */
  matchLog?: MatchEvent[];
}

/** One code match as tallyMatch records it: [gate, resourceType, system, code, display, concept id, how, note]. */
export type MatchEvent = [number | null, string, string | null, string | null, string | null, string | null, MatchHow | null, string | null];

export function note(ctx: EvalContext, resource: string, issue: string, detail: string): void {
  ctx.notes.push({ resource, issue, detail });
  ctx.noteGates?.push(ctx.gateDay ?? null);
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
  if (ctx.matchLog) {
    ctx.matchLog.push([ctx.gateDay ?? null, resourceType, system, code, display, id, how, noteText ?? null]);
    return;
  }
  tallyConcept(ctx, resourceType, system, code, display, id, how, noteText);
}

/** tallyMatch by concept id (how the second stage replays the first stage's matches). */
export function tallyConcept(
  ctx: Pick<EvalContext, "collectMatches" | "matches">,
  resourceType: string,
  system: string | null,
  code: string | null,
  display: string | null,
  id: string | null,
  how: MatchHow | null,
  noteText?: string | null,
): void {
  if (!ctx.collectMatches) return;
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
