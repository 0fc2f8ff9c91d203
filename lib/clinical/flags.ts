/** Flags: rule id, kind, severity, a one-sentence message and the source with its link, all from the rule data. */
import { DEFAULT_RULES, type CheckpointRule, type RuleSet } from "./rules";
import { primarySourceOfRule, sourcesOfDefinition } from "./sources";
import type { DrugId, Flag } from "./types";

const PLACEHOLDER = /\{(\w+)\}/g;
/** Templates split once into literal text (even indexes) and placeholder names (odd indexes). */
const TEMPLATES = new Map<string, string[]>();

function parts(template: string): string[] {
  let p = TEMPLATES.get(template);
  if (!p) {
    p = template.split(PLACEHOLDER);
    if (TEMPLATES.size < 1000) TEMPLATES.set(template, p);
  }
  return p;
}

export function fillMessage(template: string, params: Readonly<Record<string, string | number>>): string {
  const p = parts(template);
  let out = p[0] ?? "";
  for (let i = 1; i < p.length; i += 2) {
    const key = p[i]!;
    const v = params[key];
    out += (v === undefined ? `{${key}}` : String(v)) + (p[i + 1] ?? "");
  }
  return out;
}

export function ruleFlag(
  rules: RuleSet,
  ruleId: string,
  params: Readonly<Record<string, string | number>>,
  extra: Pick<Flag, "resource" | "course" | "requirement" | "week"> = {},
  /** The course's drug: a rule shared by several drugs links that drug's own label. */
  drug?: DrugId,
): Flag {
  // A site's rule set may leave a rule out: fall back to the default definition rather than fail.
  const def = rules.rules[ruleId] ?? DEFAULT_RULES.rules[ruleId] ?? { ruleId, kind: "data-quality", severity: "info", message: ruleId, source: "No source recorded for this rule" };
  const primary = primarySourceOfRule(ruleId, rules, drug);
  const flag: Flag = {
    ruleId: def.ruleId, kind: def.kind, severity: def.severity, message: fillMessage(def.message, params), source: def.source,
    sourceLabel: primary.label, sourceUrl: primary.url,
  };
  return Object.assign(flag, stripUndefined(extra));
}

/** The severity a rule's flag would carry (same fallback as ruleFlag). */
export function ruleSeverity(rules: RuleSet, ruleId: string): Flag["severity"] {
  return (rules.rules[ruleId] ?? DEFAULT_RULES.rules[ruleId])?.severity ?? "info";
}

export function checkpointFlag(rule: CheckpointRule, drugLabel: string, course: number): Flag {
  const primary = sourcesOfDefinition(rule)[0]!;
  return {
    ruleId: rule.ruleId,
    kind: rule.kind,
    severity: rule.severity,
    message: fillMessage(rule.message, { drug: drugLabel }),
    source: rule.source,
    course,
    week: rule.week,
    sourceLabel: primary.label,
    sourceUrl: primary.url,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

/** Stable order: critical first, then by course and rule id. */
export function sortFlags(flags: Flag[]): Flag[] {
  return flags.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.course ?? -1) - (b.course ?? -1) ||
      (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) ||
      ((a.resource ?? "") < (b.resource ?? "") ? -1 : (a.resource ?? "") > (b.resource ?? "") ? 1 : 0),
  );
}
