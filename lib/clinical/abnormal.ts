/**
 * Abnormal-value checks of a course (clinical-reference 6, abnormal results), declared once: the
 * `abnormal-lab` flags (safety.ts) and the values on the lab checklist (labs.ts) both read them, so a
 * value highlighted on the checklist and the flag it raises always agree.
 */
import type { Course } from "./courses";
import { ruleSeverity } from "./flags";
import type { LabResult } from "./normalize";
import type { DrugRules, RuleSet } from "./rules";
import type { LabAbnormality, LabKey } from "./types";

export interface AbnormalCheck {
  ruleId: string;
  labs: readonly LabKey[];
  /** Result days the check applies to, inclusive. */
  fromDay: number;
  toDay: number;
  /** True when the (canonical-unit) value breaks the threshold. */
  test(value: number, r: LabResult): boolean;
  /** The threshold in words, e.g. "< 1 x10*3/uL" or "> 120 U/L (3 x ULN 40 U/L)". */
  threshold(r: LabResult): string;
  /** Extra message parameters of the rule's flag. */
  params?(r: LabResult): Record<string, string | number>;
}

const LAB_NAMES: Partial<Record<LabKey, string>> = { alt: "ALT", ast: "AST" };

export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/**
 * The checks that apply to a course, in the order flags are raised (the most severe check of a lab comes
 * first, so the first match is the one to show). None for a topical course.
 */
export function abnormalChecks(course: Course, drug: DrugRules, asOfDay: number, rules: RuleSet): AbnormalCheck[] {
  if (course.route !== "oral") return [];
  const t = rules.thresholds;
  const from = course.startDay - rules.labWindows.baselineLookbackDays;
  const to = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  const below = (limit: number, unit: string, suffix = "") => () => `< ${fmt(limit)} ${unit}${suffix}`;
  const checks: AbnormalCheck[] = [
    { ruleId: "abnormal.anc-low", labs: ["anc"], fromDay: from, toDay: to, test: (v) => v < t.ancCritical, threshold: below(t.ancCritical, "x10*3/uL") },
    { ruleId: "abnormal.alc-low", labs: ["alc"], fromDay: from, toDay: to, test: (v) => v < t.alcCritical, threshold: below(t.alcCritical, "x10*3/uL") },
    { ruleId: "abnormal.hemoglobin-low", labs: ["hemoglobin"], fromDay: from, toDay: to, test: (v) => v < t.hemoglobinCritical, threshold: below(t.hemoglobinCritical, "g/dL") },
    {
      ruleId: "abnormal.transaminase-high", labs: ["alt", "ast"], fromDay: from, toDay: to,
      test: (v, r) => r.referenceHigh !== null && r.referenceHigh > 0 && v > t.transaminaseUlnMultiple * r.referenceHigh,
      threshold: (r) => `> ${fmt(t.transaminaseUlnMultiple * (r.referenceHigh ?? 0))} U/L (${fmt(t.transaminaseUlnMultiple)} x ULN ${fmt(r.referenceHigh ?? 0)} U/L)`,
      params: (r) => ({ lab: LAB_NAMES[r.lab] ?? r.lab, uln: fmt(r.referenceHigh ?? 0) }),
    },
  ];
  if (course.drug === "abrocitinib") {
    const before = Math.min(course.startDay, asOfDay);
    checks.push(
      { ruleId: "abnormal.platelets-abrocitinib", labs: ["platelets"], fromDay: course.startDay, toDay: to, test: (v) => v < t.plateletsCriticalAbrocitinib, threshold: below(t.plateletsCriticalAbrocitinib, "x10*3/uL", ` on ${drug.label}`) },
      { ruleId: "abnormal.platelets-before-abrocitinib", labs: ["platelets"], fromDay: from, toDay: before, test: (v) => v < t.plateletsBeforeAbrocitinib, threshold: below(t.plateletsBeforeAbrocitinib, "x10*3/uL", ` before starting ${drug.label}`) },
    );
    if (t.euAbrocitinibStart.enabled) {
      const eu = t.euAbrocitinibStart;
      checks.push(
        { ruleId: "abnormal.eu-abrocitinib-start-anc", labs: ["anc"], fromDay: from, toDay: before, test: (v) => v < eu.anc && v >= t.ancCritical, threshold: below(eu.anc, "x10*3/uL", ` before starting ${drug.label} (EU/UK label)`) },
        { ruleId: "abnormal.eu-abrocitinib-start-hemoglobin", labs: ["hemoglobin"], fromDay: from, toDay: before, test: (v) => v < eu.hemoglobin && v >= t.hemoglobinCritical, threshold: below(eu.hemoglobin, "g/dL", ` before starting ${drug.label} (EU/UK label)`) },
      );
    }
  }
  return checks;
}

/** The first check a result breaks, as shown on the checklist; undefined when none (or no numeric value). */
export function abnormalityOf(r: LabResult, checks: readonly AbnormalCheck[], rules: RuleSet): LabAbnormality | undefined {
  if (r.value === null) return undefined;
  for (const c of checks) {
    if (r.day < c.fromDay || r.day > c.toDay || !c.labs.includes(r.lab) || !c.test(r.value, r)) continue;
    return { ruleId: c.ruleId, severity: ruleSeverity(rules, c.ruleId), threshold: c.threshold(r) };
  }
  return undefined;
}
