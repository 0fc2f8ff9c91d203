/**
 * Safety-lab checklist per drug (clinical-reference 6): baseline lookbacks, week-4 / week-12 / periodic
 * windows with done / due / overdue / missing / not-due; abnormal-value thresholds from the labels.
 */
import type { Course } from "./courses";
import { ageOn, fromDayNumber } from "./dates";
import type { LabResult } from "./normalize";
import type { DrugRules, RuleSet } from "./rules";
import type { LabKey, LabPhase, LabRequirementLab, LabRequirementStatus } from "./types";

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

/** The latest result of any of `keys` in [fromDay, toDay]. */
function latestIn(index: LabIndex, keys: readonly LabKey[], fromDay: number, toDay: number): LabResult | null {
  let best: LabResult | null = null;
  for (const key of keys) {
    const list = index.get(key);
    if (!list) continue;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i]!;
      if (r.day > toDay) continue;
      if (r.day < fromDay) break;
      if (!best || r.day > best.day) best = r;
      break;
    }
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

export interface LabChecklistInput {
  course: Course;
  drug: DrugRules;
  index: LabIndex;
  asOfDay: number;
  rules: RuleSet;
  gender: string | null;
  birthDate: string | null;
}

function isScreening(lab: LabRequirementLab): boolean {
  return lab === "tb-screen" || lab === "hbv-screen" || lab === "hcv-screen";
}

function followUp(
  phase: LabPhase, lab: LabRequirementLab, groups: LabKey[][], fromDay: number, toDay: number, input: LabChecklistInput,
): LabRequirementStatus {
  const { index, asOfDay } = input;
  const base: LabRequirementStatus = { requirement: `${phase}:${lab}`, status: "not-due", dueBy: fromDayNumber(toDay), windowStart: fromDayNumber(fromDay), windowEnd: fromDayNumber(toDay) };
  const satisfiedBy = asOfDay >= fromDay ? satisfy(index, groups, fromDay, Math.min(toDay, asOfDay)) : null;
  if (satisfiedBy) return { ...base, status: "done", satisfiedBy };
  if (asOfDay < fromDay) return base;
  return { ...base, status: asOfDay <= toDay ? "due" : "overdue" };
}

export function labChecklist(input: LabChecklistInput): LabRequirementStatus[] {
  const { course, drug, index, asOfDay, rules } = input;
  const w = rules.labWindows;
  const start = course.startDay;
  const courseEnd = course.endDay ?? Number.POSITIVE_INFINITY;
  const out: LabRequirementStatus[] = [];

  for (const lab of drug.labs.baseline) {
    if (lab === "pregnancy" && !needsPregnancyTest(input)) continue;
    const from = start - (isScreening(lab) ? w.screeningLookbackDays : w.baselineLookbackDays);
    const to = start + w.baselineDaysAfterStart;
    const groups = requirementGroups(lab, drug);
    const satisfiedBy = satisfy(index, groups, from, Math.min(to, asOfDay));
    const entry: LabRequirementStatus = { requirement: `baseline:${lab}`, status: "missing", dueBy: fromDayNumber(to), windowStart: fromDayNumber(from), windowEnd: fromDayNumber(to) };
    if (satisfiedBy) {
      entry.status = "done";
      entry.satisfiedBy = satisfiedBy;
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
    for (const lab of labs) out.push(followUp(phase, lab, requirementGroups(lab, drug), from, start + toOffset, input));
  }
  for (const lab of drug.labs.periodic) {
    const entry = periodic(lab, input);
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
function periodic(lab: LabRequirementLab, input: LabChecklistInput): LabRequirementStatus | null {
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
  const satisfiedBy = satisfy(index, groups, current.from, Math.min(current.to, asOfDay));
  if (satisfiedBy) return { ...entry, status: "done", satisfiedBy };
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
