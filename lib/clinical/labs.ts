/**
 * Safety-lab checklist per drug (clinical-reference 6): baseline lookbacks, week-4 / week-12 / periodic
 * windows with done / due / overdue / missing / not-due; abnormal-value thresholds from the labels.
 */
import { abnormalChecks, abnormalityOf, type AbnormalCheck } from "./abnormal";
import type { Course } from "./courses";
import { ageOn, fromDayNumber } from "./dates";
import type { LabResult } from "./normalize";
import type { DrugRules, RuleSet } from "./rules";
import { canonicalUnit, isQuantitativeLab } from "./units";
import type { LabKey, LabPhase, LabRequirementLab, LabRequirementResult, LabRequirementStatus } from "./types";

/** How each lab is named on the checklist. */
export const LAB_DISPLAY: Readonly<Record<LabKey, string>> = {
  "cbc-panel": "CBC panel", hemoglobin: "Hemoglobin", wbc: "WBC", anc: "ANC", alc: "ALC", platelets: "Platelets",
  alt: "ALT", ast: "AST",
  "lipid-panel": "Lipid panel", cholesterol: "Total cholesterol", ldl: "LDL cholesterol", hdl: "HDL cholesterol", triglycerides: "Triglycerides",
  igra: "IGRA", "igra-mitogen": "IGRA mitogen", "igra-nil": "IGRA nil", tst: "Tuberculin skin test",
  hbsag: "HBsAg", "anti-hbc": "Anti-HBc", "anti-hbs": "Anti-HBs", "hbv-dna": "HBV DNA",
  "anti-hcv": "Anti-HCV", "hcv-rna": "HCV RNA",
  ck: "CK", creatinine: "Creatinine", egfr: "eGFR", "hcg-urine": "Urine hCG", "hcg-serum": "Serum hCG",
};

export type LabIndex = ReadonlyMap<LabKey, readonly LabResult[]>;

export function indexLabs(labs: readonly LabResult[]): Map<LabKey, LabResult[]> {
  const index = new Map<LabKey, LabResult[]>();
  for (const l of labs) {
    let list = index.get(l.lab);
    if (!list) index.set(l.lab, (list = []));
    list.push(l);
  }
  for (const list of index.values()) list.sort((a, b) => a.day - b.day);
  return index;
}

const CBC_ANY: LabKey[] = ["cbc-panel", "hemoglobin", "wbc", "anc", "alc", "platelets"];

/** Each requirement is satisfied when every group has a result; a group is satisfied by any of its labs. */
export function requirementGroups(lab: LabRequirementLab, drug: DrugRules): LabKey[][] {
  switch (lab) {
    case "tb-screen":
      return [["igra", "tst"]];
    case "hbv-screen":
      return [["hbsag"], ["anti-hbc"]];
    case "hcv-screen":
      return [["anti-hcv", "hcv-rna"]];
    case "cbc":
      return drug.cbcRequiresPlatelets ? [["platelets"]] : [CBC_ANY];
    case "liver":
      return [["alt", "ast"]];
    case "lipids":
      return [["lipid-panel", "cholesterol", "ldl", "hdl", "triglycerides"]];
    case "pregnancy":
      return [["hcg-urine", "hcg-serum"]];
  }
}

/** The latest result of one lab in [fromDay, toDay] (the last in input order on a tie). */
function latestOf(index: LabIndex, key: LabKey, fromDay: number, toDay: number): LabResult | null {
  const list = index.get(key);
  if (!list) return null;
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i]!;
    if (r.day > toDay) continue;
    return r.day < fromDay ? null : r;
  }
  return null;
}

/** The latest result of any of `keys` in [fromDay, toDay] (the earlier key on a same-day tie). */
function latestIn(index: LabIndex, keys: readonly LabKey[], fromDay: number, toDay: number): LabResult | null {
  let best: LabResult | null = null;
  for (const key of keys) {
    const r = latestOf(index, key, fromDay, toDay);
    if (r && (!best || r.day > best.day)) best = r;
  }
  return best;
}

/** Resources satisfying a requirement in [fromDay, toDay], or null when any group has no result. */
export function satisfy(index: LabIndex, groups: readonly LabKey[][], fromDay: number, toDay: number): string[] | null {
  const refs: string[] = [];
  for (const group of groups) {
    const r = latestIn(index, group, fromDay, toDay);
    if (!r) return null;
    refs.push(r.resource);
  }
  return refs;
}

function hasContent(r: LabResult): boolean {
  return r.value !== null || r.interpretation !== null || r.unitProblem !== null;
}

/** Floating-point noise of the unit conversion off (0.30000000000000004 -> 0.3); thresholds use the exact value. */
function clean(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** A normalised result as the checklist shows it: canonical value and unit, or the qualitative answer. */
export function requirementResult(r: LabResult, checks: readonly AbnormalCheck[], rules: RuleSet): LabRequirementResult {
  const quantitative = isQuantitativeLab(r.lab);
  const value = quantitative ? (r.value === null ? null : clean(r.value)) : (r.interpretation ?? (r.value === null ? null : clean(r.value)));
  const out: LabRequirementResult = { resource: r.resource, date: r.date, lab: r.lab, display: LAB_DISPLAY[r.lab], value };
  if (typeof value === "number") {
    const unit = canonicalUnit(r.lab);
    if (unit !== null) out.unit = unit;
  }
  if (r.referenceHigh !== null) out.referenceHigh = clean(r.referenceHigh);
  if (r.unitProblem !== null) out.unitProblem = r.unitProblem;
  const abnormal = abnormalityOf(r, checks, rules);
  if (abnormal) out.abnormal = abnormal;
  return out;
}

/**
 * satisfy() with the values: per group, the satisfying result and the same-day latest result of each of
 * the group's other labs (the rest of the draw), leaving out value-less panel entries when members carry
 * the values.
 */
export function satisfyWithResults(
  index: LabIndex, groups: readonly LabKey[][], fromDay: number, toDay: number, checks: readonly AbnormalCheck[], rules: RuleSet,
): { satisfiedBy: string[]; results: LabRequirementResult[] } | null {
  const satisfiedBy: string[] = [];
  const results: LabRequirementResult[] = [];
  for (const group of groups) {
    const best = latestIn(index, group, fromDay, toDay);
    if (!best) return null;
    satisfiedBy.push(best.resource);
    let picked: LabResult[] = [best];
    if (group.length > 1) {
      const sameDay: LabResult[] = [];
      for (const key of group) {
        const r = key === best.lab ? best : latestOf(index, key, best.day, best.day);
        if (r && hasContent(r)) sameDay.push(r);
      }
      if (sameDay.length > 0) picked = sameDay;
    }
    for (const r of picked) results.push(requirementResult(r, checks, rules));
  }
  return { satisfiedBy, results };
}

export interface LabChecklistInput {
  course: Course;
  drug: DrugRules;
  index: LabIndex;
  asOfDay: number;
  rules: RuleSet;
  gender: string | null;
  birthDate: string | null;
  /** The course's abnormal-value checks (abnormal.ts); computed when not given. */
  abnormal?: readonly AbnormalCheck[];
}

function isScreening(lab: LabRequirementLab): boolean {
  return lab === "tb-screen" || lab === "hbv-screen" || lab === "hcv-screen";
}

function followUp(
  phase: LabPhase, lab: LabRequirementLab, groups: LabKey[][], fromDay: number, toDay: number, input: LabChecklistInput, checks: readonly AbnormalCheck[],
): LabRequirementStatus {
  const { index, asOfDay } = input;
  const base: LabRequirementStatus = { requirement: `${phase}:${lab}`, status: "not-due", dueBy: fromDayNumber(toDay), windowStart: fromDayNumber(fromDay), windowEnd: fromDayNumber(toDay) };
  const done = asOfDay >= fromDay ? satisfyWithResults(index, groups, fromDay, Math.min(toDay, asOfDay), checks, input.rules) : null;
  if (done) return { ...base, status: "done", satisfiedBy: done.satisfiedBy, results: done.results };
  if (asOfDay < fromDay) return base;
  return { ...base, status: asOfDay <= toDay ? "due" : "overdue" };
}

export function labChecklist(input: LabChecklistInput): LabRequirementStatus[] {
  const { course, drug, index, asOfDay, rules } = input;
  const w = rules.labWindows;
  const checks = input.abnormal ?? abnormalChecks(course, drug, asOfDay, rules);
  const start = course.startDay;
  const courseEnd = course.endDay ?? Number.POSITIVE_INFINITY;
  const out: LabRequirementStatus[] = [];

  for (const lab of drug.labs.baseline) {
    if (lab === "pregnancy" && !needsPregnancyTest(input)) continue;
    const from = start - (isScreening(lab) ? w.screeningLookbackDays : w.baselineLookbackDays);
    const to = start + w.baselineDaysAfterStart;
    const groups = requirementGroups(lab, drug);
    const done = satisfyWithResults(index, groups, from, Math.min(to, asOfDay), checks, rules);
    const entry: LabRequirementStatus = { requirement: `baseline:${lab}`, status: "missing", dueBy: fromDayNumber(to), windowStart: fromDayNumber(from), windowEnd: fromDayNumber(to) };
    if (done) {
      entry.status = "done";
      entry.satisfiedBy = done.satisfiedBy;
      entry.results = done.results;
    } else if (asOfDay <= to) entry.status = "due";
    out.push(entry);
  }
  const fixed: Array<[LabPhase, LabRequirementLab[], [number, number]]> = [
    ["week-4", drug.labs["week-4"], w.week4],
    ["week-12", drug.labs["week-12"], w.week12],
  ];
  for (const [phase, labs, [fromOffset, toOffset]] of fixed) {
    const from = start + fromOffset;
    if (from > courseEnd) continue; // the course ended before this window opened
    for (const lab of labs) out.push(followUp(phase, lab, requirementGroups(lab, drug), from, start + toOffset, input, checks));
  }
  for (const lab of drug.labs.periodic) {
    const entry = periodic(lab, input, checks);
    if (entry) out.push(entry);
  }
  return out;
}

/**
 * Periodic labs every `everyDays` after `afterDay` with `graceDays` grace: occurrence k is due on day
 * afterDay + k * everyDays and its window runs from the previous occurrence's grace end + 1 (day
 * afterDay + 1 for the first) to its own due day + grace. One entry per lab: the latest occurrence
 * whose window has opened; overdue when that one or the one before it closed without a result.
 */
function periodic(lab: LabRequirementLab, input: LabChecklistInput, checks: readonly AbnormalCheck[]): LabRequirementStatus | null {
  const { course, drug, index, asOfDay, rules } = input;
  const { afterDay, everyDays, graceDays } = rules.labWindows.periodic;
  const start = course.startDay;
  const courseEnd = course.endDay ?? Number.POSITIVE_INFINITY;
  const groups = requirementGroups(lab, drug);
  const windowOf = (k: number) => {
    const due = start + afterDay + k * everyDays;
    const from = k === 1 ? start + afterDay + 1 : start + afterDay + (k - 1) * everyDays + graceDays + 1;
    return { due, from, to: due + graceDays };
  };
  const first = windowOf(1);
  if (first.from > courseEnd) return null;
  const limit = Math.min(asOfDay, courseEnd);
  if (limit < first.from) {
    return { requirement: `periodic:${lab}`, status: "not-due", dueBy: fromDayNumber(first.due), windowStart: fromDayNumber(first.from), windowEnd: fromDayNumber(first.to), occurrence: 1 };
  }
  let k = 1;
  while (k < 10_000 && windowOf(k + 1).from <= limit) k++;
  const current = windowOf(k);
  const entry: LabRequirementStatus = { requirement: `periodic:${lab}`, status: "due", dueBy: fromDayNumber(current.due), windowStart: fromDayNumber(current.from), windowEnd: fromDayNumber(current.to), occurrence: k };
  const done = satisfyWithResults(index, groups, current.from, Math.min(current.to, asOfDay), checks, rules);
  if (done) return { ...entry, status: "done", satisfiedBy: done.satisfiedBy, results: done.results };
  if (asOfDay > current.to) return { ...entry, status: "overdue" };
  if (k > 1) {
    const previous = windowOf(k - 1);
    if (!satisfy(index, groups, previous.from, previous.to)) {
      return { ...entry, status: "overdue", dueBy: fromDayNumber(previous.due), windowStart: fromDayNumber(previous.from), windowEnd: fromDayNumber(previous.to), occurrence: k - 1 };
    }
  }
  return entry;
}

function needsPregnancyTest(input: LabChecklistInput): boolean {
  if (input.gender !== "female") return false;
  const age = ageOn(input.birthDate, fromDayNumber(input.course.startDay));
  if (age === null) return true; // unknown age: ask rather than assume
  const [min, max] = input.rules.thresholds.pregnancyAgeRange;
  return age >= min && age <= max;
}
