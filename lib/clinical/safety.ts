/**
 * Safety flags of a course (clinical-reference 6): abnormal lab values against label thresholds, the
 * ruxolitinib cream BSA and quantity limits, missing/overdue labs, vaccination.
 */
import type { Series } from "./baseline";
import type { Course } from "./courses";
import { ageOn } from "./dates";
import { ruleFlag } from "./flags";
import type { LabIndex } from "./labs";
import type { LabResult } from "./normalize";
import type { DrugRules, RuleSet } from "./rules";
import type { Flag, LabKey, LabRequirementStatus } from "./types";
import type { VaccineEvent } from "./vaccination";

const LAB_NAMES: Partial<Record<LabKey, string>> = { alt: "ALT", ast: "AST" };
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

function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

function resultsIn(index: LabIndex, lab: LabKey, fromDay: number, toDay: number): LabResult[] {
  const list = index.get(lab);
  if (!list) return [];
  return list.filter((r) => r.day >= fromDay && r.day <= toDay && r.value !== null);
}

export function abnormalLabFlags(course: Course, courseIndex: number, drug: DrugRules, index: LabIndex, asOfDay: number, rules: RuleSet): Flag[] {
  const flags: Flag[] = [];
  if (course.route !== "oral") return flags;
  const t = rules.thresholds;
  const from = course.startDay - rules.labWindows.baselineLookbackDays;
  const to = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  const params = (r: LabResult, extra: Record<string, string | number> = {}) => ({ value: fmt(r.value!), date: r.date, drug: drug.label, ...extra });
  const push = (ruleId: string, r: LabResult, extra?: Record<string, string | number>) =>
    flags.push(ruleFlag(rules, ruleId, params(r, extra), { resource: r.resource, course: courseIndex }));

  for (const r of resultsIn(index, "anc", from, to)) if (r.value! < t.ancCritical) push("abnormal.anc-low", r);
  for (const r of resultsIn(index, "alc", from, to)) if (r.value! < t.alcCritical) push("abnormal.alc-low", r);
  for (const r of resultsIn(index, "hemoglobin", from, to)) if (r.value! < t.hemoglobinCritical) push("abnormal.hemoglobin-low", r);
  for (const lab of ["alt", "ast"] as const) {
    for (const r of resultsIn(index, lab, from, to)) {
      if (r.referenceHigh !== null && r.referenceHigh > 0 && r.value! > t.transaminaseUlnMultiple * r.referenceHigh) {
        push("abnormal.transaminase-high", r, { lab: LAB_NAMES[lab] ?? lab, uln: fmt(r.referenceHigh) });
      }
    }
  }
  if (course.drug === "abrocitinib") {
    for (const r of resultsIn(index, "platelets", course.startDay, to)) if (r.value! < t.plateletsCriticalAbrocitinib) push("abnormal.platelets-abrocitinib", r);
    for (const r of resultsIn(index, "platelets", from, Math.min(course.startDay, asOfDay))) if (r.value! < t.plateletsBeforeAbrocitinib) push("abnormal.platelets-before-abrocitinib", r);
    if (t.euAbrocitinibStart.enabled) {
      const before = Math.min(course.startDay, asOfDay);
      for (const r of resultsIn(index, "anc", from, before)) if (r.value! < t.euAbrocitinibStart.anc && r.value! >= t.ancCritical) push("abnormal.eu-abrocitinib-start-anc", r);
      for (const r of resultsIn(index, "hemoglobin", from, before)) if (r.value! < t.euAbrocitinibStart.hemoglobin && r.value! >= t.hemoglobinCritical) push("abnormal.eu-abrocitinib-start-hemoglobin", r);
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
        flags.push(ruleFlag(rules, "data-quality.lab-unit", { lab, date: r.date, unit: r.unitProblem }, { resource: r.resource, course: courseIndex }));
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
    if (l.status === "missing") flags.push(ruleFlag(rules, "labs.baseline-missing", params, { course: courseIndex, requirement: l.requirement }));
    else if (l.status === "overdue") flags.push(ruleFlag(rules, "labs.follow-up-overdue", params, { course: courseIndex, requirement: l.requirement }));
  }
  if (drug.tbScreenConsider) {
    const from = course.startDay - rules.labWindows.screeningLookbackDays;
    const to = Math.min(course.startDay + rules.labWindows.baselineDaysAfterStart, asOfDay);
    const any = (index.get("igra") ?? []).concat(index.get("tst") ?? []).some((r) => r.day >= from && r.day <= to);
    if (!any && asOfDay > course.startDay + rules.labWindows.baselineDaysAfterStart) {
      flags.push(ruleFlag(rules, "labs.tb-screen-consider", { drug: drug.label }, { course: courseIndex, requirement: "baseline:tb-screen" }));
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
      flags.push(ruleFlag(rules, "ruxolitinib-cream.bsa-limit", { value: fmt(latest.value), date: latest.date }, { resource: latest.resource, course: courseIndex }));
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
      }, { resource: e.resource, course: courseIndex }));
    }
  }
  return flags;
}

export function vaccinationFlags(course: Course, courseIndex: number, drug: DrugRules, vaccines: readonly VaccineEvent[], asOfDay: number, rules: RuleSet): Flag[] {
  const flags: Flag[] = [];
  if (course.route !== "oral") return flags;
  if (!vaccines.some((v) => v.zoster && v.day <= course.startDay)) {
    flags.push(ruleFlag(rules, "vaccination.no-zoster-before-oral-jak", { drug: drug.label, start: course.start }, { course: courseIndex }));
  }
  const to = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  for (const v of vaccines) {
    if (v.live && v.day >= course.startDay && v.day <= to) {
      flags.push(ruleFlag(rules, "vaccination.live-during-oral-jak", { drug: drug.label, date: v.date }, { resource: v.resource, course: courseIndex }));
    }
  }
  return flags;
}

