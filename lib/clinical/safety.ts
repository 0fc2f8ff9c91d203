/**
 * Safety flags of a course (clinical-reference 6): abnormal lab values against label thresholds, the
 * ruxolitinib cream BSA and quantity limits, missing/overdue labs, vaccination.
 */
import { abnormalChecks, fmt, type AbnormalCheck } from "./abnormal";
import type { Series } from "./baseline";
import type { Course } from "./courses";
import { ageOn } from "./dates";
import { ruleFlag } from "./flags";
import type { LabIndex } from "./labs";
import type { LabResult } from "./normalize";
import type { DrugRules, RuleSet } from "./rules";
import type { Flag, LabKey, LabRequirementStatus } from "./types";
import type { VaccineEvent } from "./vaccination";

const REQUIREMENT_NAMES: Record<string, string> = {
  "tb-screen": "TB screening",
  "hbv-screen": "hepatitis B screening (HBsAg and anti-HBc)",
  "hcv-screen": "hepatitis C screening",
  cbc: "CBC",
  liver: "liver enzymes (ALT/AST)",
  lipids: "lipid panel",
  pregnancy: "pregnancy test",
};
const PHASE_NAMES: Record<string, string> = { baseline: "baseline", "week-4": "week-4", "week-12": "week-12", periodic: "periodic" };

function resultsIn(index: LabIndex, lab: LabKey, fromDay: number, toDay: number): LabResult[] {
  const list = index.get(lab);
  if (!list) return [];
  return list.filter((r) => r.day >= fromDay && r.day <= toDay && r.value !== null);
}

/** One flag per result that breaks a check of abnormalChecks (abnormal.ts), in the checks' order. */
export function abnormalLabFlags(course: Course, courseIndex: number, drug: DrugRules, index: LabIndex, asOfDay: number, rules: RuleSet, checks: readonly AbnormalCheck[] = abnormalChecks(course, drug, asOfDay, rules)): Flag[] {
  const flags: Flag[] = [];
  for (const check of checks) {
    for (const lab of check.labs) {
      for (const r of resultsIn(index, lab, check.fromDay, check.toDay)) {
        if (!check.test(r.value!, r)) continue;
        const params = { value: fmt(r.value!), date: r.date, drug: drug.label, ...check.params?.(r) };
        flags.push(ruleFlag(rules, check.ruleId, params, { resource: r.resource, course: courseIndex }, course.drug));
      }
    }
  }
  return flags;
}

/** Lab results whose unit could not be converted, on safety labs during the course: a data-quality flag. */
export function labUnitFlags(course: Course, courseIndex: number, index: LabIndex, asOfDay: number, rules: RuleSet): Flag[] {
  const flags: Flag[] = [];
  const from = course.startDay - rules.labWindows.baselineLookbackDays;
  const to = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  for (const lab of ["anc", "alc", "hemoglobin", "platelets", "alt", "ast"] as const) {
    for (const r of index.get(lab) ?? []) {
      if (r.unitProblem !== null && r.day >= from && r.day <= to) {
        flags.push(ruleFlag(rules, "data-quality.lab-unit", { lab, date: r.date, unit: r.unitProblem }, { resource: r.resource, course: courseIndex }, course.drug));
      }
    }
  }
  return flags;
}

export function labChecklistFlags(course: Course, courseIndex: number, drug: DrugRules, labs: readonly LabRequirementStatus[], index: LabIndex, asOfDay: number, rules: RuleSet): Flag[] {
  const flags: Flag[] = [];
  for (const l of labs) {
    const [phase = "", lab = ""] = l.requirement.split(":");
    const params = { lab: REQUIREMENT_NAMES[lab] ?? lab, drug: drug.label, start: course.start, dueBy: l.dueBy, phase: PHASE_NAMES[phase] ?? phase };
    if (l.status === "missing") flags.push(ruleFlag(rules, "labs.baseline-missing", params, { course: courseIndex, requirement: l.requirement }, course.drug));
    else if (l.status === "overdue") flags.push(ruleFlag(rules, "labs.follow-up-overdue", params, { course: courseIndex, requirement: l.requirement }, course.drug));
  }
  if (drug.tbScreenConsider) {
    const from = course.startDay - rules.labWindows.screeningLookbackDays;
    const to = Math.min(course.startDay + rules.labWindows.baselineDaysAfterStart, asOfDay);
    const any = (index.get("igra") ?? []).concat(index.get("tst") ?? []).some((r) => r.day >= from && r.day <= to);
    if (!any && asOfDay > course.startDay + rules.labWindows.baselineDaysAfterStart) {
      flags.push(ruleFlag(rules, "labs.tb-screen-consider", { drug: drug.label }, { course: courseIndex, requirement: "baseline:tb-screen" }, course.drug));
    }
  }
  return flags;
}

/** Ruxolitinib cream: latest BSA affected above the limit; cream quantity above the label limit for age. */
export function creamFlags(course: Course, courseIndex: number, bsa: Series | undefined, birthDate: string | null, asOfDay: number, rules: RuleSet): Flag[] {
  const flags: Flag[] = [];
  if (course.drug !== "ruxolitinib-cream") return flags;
  const t = rules.thresholds;
  if (bsa && bsa.length > 0) {
    const from = course.startDay - rules.baseline.daysBefore;
    const to = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
    let latest = null;
    for (const m of bsa) if (m.day >= from && m.day <= to) latest = m;
    if (latest && latest.value > t.bsaLimitPercent) {
      flags.push(ruleFlag(rules, "ruxolitinib-cream.bsa-limit", { value: fmt(latest.value), date: latest.date }, { resource: latest.resource, course: courseIndex }, course.drug));
    }
  }
  for (const e of course.events) {
    if (e.grams === null || e.supplyDays === null || e.supplyDays <= 0) continue;
    const age = ageOn(birthDate, e.start);
    const child = age !== null && age >= 2 && age <= 11;
    const perWeek = (e.grams / e.supplyDays) * 7;
    const limitPerWeek = child ? t.creamGramsPerTwoWeeksAge2To11 / 2 : t.creamGramsPerWeekAge12Plus;
    if (perWeek > limitPerWeek + 1e-9) {
      flags.push(ruleFlag(rules, "ruxolitinib-cream.quantity", {
        grams: fmt(e.grams), days: fmt(e.supplyDays), perWeek: fmt(perWeek),
        limit: child ? `${t.creamGramsPerTwoWeeksAge2To11} g per 2 weeks (age 2-11)` : `${t.creamGramsPerWeekAge12Plus} g per week (age 12+)`,
      }, { resource: e.resource, course: courseIndex }, course.drug));
    }
  }
  return flags;
}

export function vaccinationFlags(course: Course, courseIndex: number, drug: DrugRules, vaccines: readonly VaccineEvent[], asOfDay: number, rules: RuleSet): Flag[] {
  const flags: Flag[] = [];
  if (course.route !== "oral") return flags;
  if (!vaccines.some((v) => v.zoster && v.day <= course.startDay)) {
    flags.push(ruleFlag(rules, "vaccination.no-zoster-before-oral-jak", { drug: drug.label, start: course.start }, { course: courseIndex }, course.drug));
  }
  const to = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  for (const v of vaccines) {
    if (v.live && v.day >= course.startDay && v.day <= to) {
      flags.push(ruleFlag(rules, "vaccination.live-during-oral-jak", { drug: drug.label, date: v.date }, { resource: v.resource, course: courseIndex }, course.drug));
    }
  }
  return flags;
}

