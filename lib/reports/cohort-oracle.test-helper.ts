/**
 * The independent oracle of the cohort test: each measure's cases for one generated patient, computed from
 * what the generator fixed by construction, never from the engine or lib/reports' code (types only).
 *
 * - The expectation (expected.ndjson) gives the courses, checkpoint verdicts and lab statuses it fixes.
 * - What it does not carry is read from the generator's plan, the clean facts the expectation is built from:
 *   the day each course stopped, score values (for EASI/IGA/itch/pain statuses), lab days (repeats, follow-ups
 *   past a stop) and vaccination days.
 * - Where the reference leaves room (a coded IGA, generic LOINC pain, a diary mean near a threshold, periodic
 *   labs of a running course) or the expectation leaves an entry out, the patient is undetermined for that
 *   measure and the test leaves it out of the comparison.
 */
import { dayFromIso, isoFromDay } from "../sandbox/cohort/dates";
import { CHECKPOINT_WINDOWS, DRUG_CHECKPOINTS, DRUG_LABS, type CohortExpectation, type CourseExpectation } from "../sandbox/cohort/expectations";
import { courseEnd, courseStart, type LabKind, type MeasureKey, type PatientPlan, type ScoreEvent } from "../sandbox/cohort/plan";
import type { ExclusionReason, MeasureId } from "./measures";

export interface OracleCase {
  patientId: string;
  courseStart: string;
  drug: string;
  /** drug, requirement id or symptom: the stratum the case counts in */
  stratum: string;
  /** YYYY-MM-DD that puts the case in the period */
  date: string;
  inNumerator: boolean;
  excludedReason?: ExclusionReason;
}

export type OracleAnswer = { determined: true; cases: OracleCase[] } | { determined: false; why: string };

export interface OracleOptions {
  asOf: string;
  period: { from: string; to: string };
  filters: { drug?: string; route?: string; prescriber?: string };
}

class Undetermined extends Error {}

// The reference's numbers, written out here rather than read from lib/reports (clinical-reference.md 4-6).
const PRIMARY_WEEK: Record<string, string> = { upadacitinib: "16", abrocitinib: "16", baricitinib: "16", "ruxolitinib-cream": "8" };
const PERIODIC_LABS: Record<string, LabKind[]> = { upadacitinib: ["cbc", "liver"], abrocitinib: ["cbc"], baricitinib: ["cbc", "liver"], "ruxolitinib-cream": [] };
const FOLLOW_UP = { "week-4": { from: 14, to: 42 }, "week-12": { from: 56, to: 112 } } as const;
const PERIODIC = { afterDay: 112, everyDays: 84, graceDays: 28 };
const MISSED_SWITCH_DAY = 168;
const REPEAT_DAYS = 28;
const MEAN_MARGIN = 0.1;

interface Course {
  expected: CourseExpectation;
  startDay: number;
  /** The plan's last day on the drug, or null while it runs at asOf. */
  endDay: number | null;
  prescriber: string;
}

function coursesOf(expected: CohortExpectation, plan: PatientPlan, asOfDay: number): Course[] {
  const planned = [...plan.courses].sort((a, b) => courseStart(a) - courseStart(b));
  if (planned.length !== expected.courses.length) throw new Error(`oracle: ${expected.patientId} plan and expectation disagree on courses`);
  return expected.courses.map((course, i) => {
    const p = planned[i]!;
    if (isoFromDay(courseStart(p)) !== course.start) throw new Error(`oracle: ${expected.patientId} course ${i} starts differ`);
    const end = courseEnd(p);
    return { expected: course, startDay: courseStart(p), endDay: end !== null && end < asOfDay ? end : null, prescriber: `Practitioner/${plan.practitionerId}` };
  });
}

function inPeriod(date: string, o: OracleOptions): boolean {
  return date >= o.period.from && date <= o.period.to;
}

function matches(course: Course, o: OracleOptions): boolean {
  const f = o.filters;
  return (f.drug === undefined || course.expected.drug === f.drug) && (f.route === undefined || course.expected.route === f.route) && (f.prescriber === undefined || course.prescriber === f.prescriber);
}

// --- Scores: the reference's baseline and checkpoint value (section 4) on the plan's values -------------------

interface Interpretation {
  parseCodedIga: boolean;
  recognizeLoincPain: boolean;
}
const INTERPRETATIONS: Interpretation[] = [
  { parseCodedIga: true, recognizeLoincPain: true },
  { parseCodedIga: true, recognizeLoincPain: false },
  { parseCodedIga: false, recognizeLoincPain: true },
  { parseCodedIga: false, recognizeLoincPain: false },
];
const DIARY_MEASURES: MeasureKey[] = ["itch", "pain"];

interface Picked {
  value: number;
  isMean: boolean;
}

function series(plan: PatientPlan, measure: MeasureKey, asOfDay: number, how: Interpretation): ScoreEvent[] {
  return plan.scores.filter(
    (s) => s.measure === measure && s.day < asOfDay && !s.outOfRangeTypo && (how.parseCodedIga || s.valueForm !== "coded") && (how.recognizeLoincPain || s.coding !== "loinc-pain"),
  );
}

function mean(scores: ScoreEvent[]): number {
  return scores.reduce((sum, s) => sum + s.value, 0) / scores.length;
}

function baselineOf(scores: ScoreEvent[], measure: MeasureKey, startDay: number): Picked | null {
  if (DIARY_MEASURES.includes(measure)) {
    const diary = scores.filter((s) => s.day >= startDay - 6 && s.day <= startDay);
    if (diary.length >= 4) return { value: mean(diary), isMean: true };
  }
  let latest: ScoreEvent | null = null;
  for (const s of scores) if (s.day >= startDay - 30 && s.day <= startDay + 3 && (!latest || s.day >= latest.day)) latest = s;
  return latest ? { value: latest.value, isMean: false } : null;
}

/** The value at a checkpoint with data up to untilDay (the course's end or asOf cuts the window). */
function valueAt(scores: ScoreEvent[], measure: MeasureKey, startDay: number, week: string, untilDay: number): Picked | null {
  const w = CHECKPOINT_WINDOWS[week]!;
  const target = startDay + w.target;
  const from = startDay + w.from;
  const to = Math.min(startDay + w.to, untilDay);
  if (DIARY_MEASURES.includes(measure)) {
    const diary = scores.filter((s) => s.day >= Math.max(target - 6, from) && s.day <= Math.min(target, to));
    if (diary.length >= 4) return { value: mean(diary), isMean: true };
  }
  let nearest: ScoreEvent | null = null;
  for (const s of scores) {
    if (s.day < from || s.day > to) continue;
    const d = Math.abs(s.day - target);
    if (!nearest || d < Math.abs(nearest.day - target) || (d === Math.abs(nearest.day - target) && s.day > nearest.day)) nearest = s;
  }
  return nearest ? { value: nearest.value, isMean: false } : null;
}

type SymptomStatus = "met" | "not-met" | "no-baseline" | "no-value" | "not-applicable";

/** itch-4 / pain-3 status, the same under every interpretation, else undetermined. */
function symptomStatus(plan: PatientPlan, course: Course, measure: "itch" | "pain", week: string, asOfDay: number): SymptomStatus {
  const threshold = measure === "itch" ? 4 : 3;
  const until = Math.min(asOfDay, course.endDay ?? Number.POSITIVE_INFINITY);
  const outcomes = new Set<SymptomStatus>();
  for (const how of INTERPRETATIONS) {
    const scores = series(plan, measure, asOfDay, how);
    const baseline = baselineOf(scores, measure, course.startDay);
    if (!baseline) {
      outcomes.add("no-baseline");
      continue;
    }
    if (baseline.isMean && Math.abs(baseline.value - threshold) < MEAN_MARGIN) throw new Undetermined(`${measure} baseline mean near ${threshold}`);
    if (baseline.value < threshold) {
      outcomes.add("not-applicable");
      continue;
    }
    const value = valueAt(scores, measure, course.startDay, week, until);
    if (!value) {
      outcomes.add("no-value");
      continue;
    }
    const improvement = baseline.value - value.value;
    if ((baseline.isMean || value.isMean) && Math.abs(improvement - threshold) < MEAN_MARGIN) throw new Undetermined(`${measure} improvement near ${threshold}`);
    outcomes.add(improvement >= threshold - 1e-9 ? "met" : "not-met");
  }
  if (outcomes.size !== 1) throw new Undetermined(`${measure} status depends on how codes are read`);
  return [...outcomes][0]!;
}

// --- Measures -----------------------------------------------------------------------------------------------

type Outcome = Pick<OracleCase, "inNumerator" | "excludedReason">;
const MET: Outcome = { inNumerator: true };
const NOT_MET: Outcome = { inNumerator: false };
const excluded = (reason: ExclusionReason): Outcome => ({ inNumerator: false, excludedReason: reason });

interface Context {
  patientId: string;
  plan: PatientPlan;
  asOfDay: number;
  o: OracleOptions;
  add(course: Course, stratum: string, day: number, outcome: Outcome): void;
}

function isOral(course: Course): boolean {
  return course.expected.route === "oral";
}

function baselineScreening(ctx: Context, course: Course): void {
  if (!isOral(course) || !inPeriod(course.expected.start, ctx.o)) return;
  const required = DRUG_LABS[course.expected.drug].baseline.filter((k) => k !== "pregnancy").map((k) => `baseline:${k}`);
  const statuses = required.map((r) => course.expected.labs[r]);
  if (statuses.includes("missing")) return ctx.add(course, course.expected.drug, course.startDay, NOT_MET);
  if (statuses.some((s) => s === undefined)) throw new Undetermined("a baseline requirement is left to the engine");
  ctx.add(course, course.expected.drug, course.startDay, statuses.every((s) => s === "done") ? MET : excluded("baseline-window-open"));
}

function planHasLab(plan: PatientPlan, kind: LabKind, fromDay: number, toDay: number, asOfDay: number): boolean {
  return plan.labs.some((l) => l.kind === kind && l.day >= fromDay && l.day <= toDay && l.day <= asOfDay);
}

function followUpLabs(ctx: Context, course: Course): void {
  const { plan, asOfDay, o } = ctx;
  const drug = course.expected.drug;
  const end = course.endDay;
  for (const phase of ["week-4", "week-12"] as const) {
    const w = FOLLOW_UP[phase];
    if (end !== null && course.startDay + w.from > end) continue; // the engine lists no window opening after the end
    for (const kind of DRUG_LABS[drug][phase]) {
      const requirement = `${phase}:${kind}`;
      const dueDay = course.startDay + w.to;
      if (!inPeriod(isoFromDay(dueDay), o)) continue;
      const status = course.expected.labs[requirement] ?? (planHasLab(plan, kind, course.startDay + w.from, dueDay, asOfDay) ? "done" : undefined);
      let outcome: Outcome;
      if (status === "done") outcome = MET;
      else if (end !== null && end < dueDay) outcome = excluded("course-ended-before-window-closed");
      else if (status === undefined) throw new Undetermined(`${requirement} left to the engine`);
      else if (status === "due") outcome = excluded("window-open");
      else if (status === "not-due") outcome = excluded("not-yet-due");
      else outcome = NOT_MET;
      ctx.add(course, requirement, dueDay, outcome);
    }
  }
  // Periodic labs (clinical-reference 8): occurrence k is due on day 112 + 84k with 28 days' grace.
  const windowOf = (k: number) => {
    const due = course.startDay + PERIODIC.afterDay + k * PERIODIC.everyDays;
    const from = k === 1 ? course.startDay + PERIODIC.afterDay + 1 : due - PERIODIC.everyDays + PERIODIC.graceDays + 1;
    return { due, from, to: due + PERIODIC.graceDays };
  };
  for (const kind of PERIODIC_LABS[drug]!) {
    const requirement = `periodic:${kind}`;
    const first = windowOf(1);
    if (end !== null && first.from > end) continue;
    const limit = Math.min(asOfDay, end ?? Number.POSITIVE_INFINITY);
    if (limit < first.from) {
      if (inPeriod(isoFromDay(first.due), o)) ctx.add(course, requirement, first.due, excluded("not-yet-due"));
      continue;
    }
    if (end === null) {
      // A running course reports its current occurrence, due from asOf - 112 to asOf + 84; its status is the engine's call.
      if (isoFromDay(asOfDay - 112) <= o.period.to && isoFromDay(asOfDay + 84) >= o.period.from) throw new Undetermined(`${requirement} of a running course`);
      continue;
    }
    let k = 1;
    while (windowOf(k + 1).from <= limit) k++;
    const current = windowOf(k);
    if (asOfDay <= current.to) throw new Undetermined(`${requirement} window still open at asOf`);
    if (!inPeriod(isoFromDay(current.due), o)) continue;
    const done = planHasLab(plan, kind, current.from, current.to, asOfDay);
    ctx.add(course, requirement, current.due, done ? MET : end < current.to ? excluded("course-ended-before-window-closed") : NOT_MET);
  }
}

function checkpointDay(course: Course, week: string): { target: number; from: number; to: number } {
  const w = CHECKPOINT_WINDOWS[week]!;
  return { target: course.startDay + w.target, from: course.startDay + w.from, to: course.startDay + w.to };
}

function responseAssessed(ctx: Context, course: Course): void {
  const week = PRIMARY_WEEK[course.expected.drug]!;
  const w = checkpointDay(course, week);
  if (!inPeriod(isoFromDay(w.target), ctx.o)) return;
  const end = course.endDay;
  if (end !== null && end < w.from) return ctx.add(course, course.expected.drug, w.target, excluded("window-after-course-end"));
  if (ctx.asOfDay < w.from) return ctx.add(course, course.expected.drug, w.target, excluded("not-yet-due"));
  const until = Math.min(ctx.asOfDay, end ?? Number.POSITIVE_INFINITY);
  const assessed = new Set<boolean>();
  for (const how of INTERPRETATIONS) {
    const has = (m: MeasureKey) => valueAt(series(ctx.plan, m, ctx.asOfDay, how), m, course.startDay, week, until) !== null;
    assessed.add(has("easi") || has("iga"));
  }
  if (assessed.size !== 1) throw new Undetermined("an IGA only a coded answer gives");
  if (assessed.has(true)) return ctx.add(course, course.expected.drug, w.target, MET);
  const closes = Math.min(w.to, end ?? Number.POSITIVE_INFINITY);
  ctx.add(course, course.expected.drug, w.target, ctx.asOfDay <= closes ? excluded("window-open") : NOT_MET);
}

/** Exclusions before the measure's own status: window after the end, not due, not decided (the expectation's verdict). */
function undecided(course: Course, week: string, asOfDay: number): ExclusionReason | null {
  const w = checkpointDay(course, week);
  if (course.endDay !== null && course.endDay < w.from) return "window-after-course-end";
  const verdict = course.expected.checkpoints[week];
  if (verdict === undefined) {
    if (asOfDay < w.from) return "not-yet-due";
    throw new Undetermined(`week ${week} verdict left to the engine`);
  }
  if (verdict === "not-due") return "not-yet-due";
  if (verdict === "open") return "window-open";
  return null;
}

function easi75(ctx: Context, course: Course): void {
  const week = PRIMARY_WEEK[course.expected.drug]!;
  const w = checkpointDay(course, week);
  if (!inPeriod(isoFromDay(w.target), ctx.o)) return;
  const reason = undecided(course, week, ctx.asOfDay);
  if (reason) return ctx.add(course, course.expected.drug, w.target, excluded(reason));
  // EASI is never a coded answer nor a diary: one reading.
  const scores = series(ctx.plan, "easi", ctx.asOfDay, INTERPRETATIONS[0]!);
  const baseline = baselineOf(scores, "easi", course.startDay);
  if (!baseline || baseline.value <= 0) return ctx.add(course, course.expected.drug, w.target, excluded("no-baseline"));
  const value = valueAt(scores, "easi", course.startDay, week, Math.min(ctx.asOfDay, course.endDay ?? Number.POSITIVE_INFINITY));
  if (!value) return ctx.add(course, course.expected.drug, w.target, excluded("no-value"));
  const percent = ((baseline.value - value.value) / baseline.value) * 100;
  ctx.add(course, course.expected.drug, w.target, percent >= 75 - 1e-6 ? MET : NOT_MET);
}

function symptomResponse(ctx: Context, course: Course): void {
  for (const [measure, week] of [["itch", "4"], ["pain", "2"]] as const) {
    const w = checkpointDay(course, week);
    if (!inPeriod(isoFromDay(w.target), ctx.o)) continue;
    const reason = undecided(course, week, ctx.asOfDay);
    if (reason) {
      ctx.add(course, measure, w.target, excluded(reason));
      continue;
    }
    const status = symptomStatus(ctx.plan, course, measure, week, ctx.asOfDay);
    // Week 4 judges itch alone: its verdict and the itch status must agree, or this oracle is wrong.
    const verdict = course.expected.checkpoints[week];
    if (measure === "itch" && (verdict === "responded") !== (status === "met")) throw new Error(`oracle: ${ctx.patientId} week-4 verdict ${verdict} but itch ${status}`);
    const outcome: Outcome =
      status === "met" ? MET : status === "not-met" ? NOT_MET : excluded(status === "no-baseline" ? "no-baseline" : status === "not-applicable" ? "baseline-below-threshold" : "no-value");
    ctx.add(course, measure, w.target, outcome);
  }
}

function possibleMissedSwitch(ctx: Context, course: Course): void {
  if (!DRUG_CHECKPOINTS[course.expected.drug]["16"]) return;
  const lookedAt = course.startDay + MISSED_SWITCH_DAY;
  if (!inPeriod(isoFromDay(lookedAt), ctx.o)) return;
  const verdict = course.expected.checkpoints["16"];
  if (verdict === undefined) {
    if (ctx.asOfDay < course.startDay + CHECKPOINT_WINDOWS["16"]!.from) return; // not due: no verdict yet
    throw new Undetermined("week-16 verdict left to the engine");
  }
  if (verdict !== "not-responded") return;
  if (ctx.asOfDay < lookedAt) return ctx.add(course, course.expected.drug, lookedAt, excluded("not-yet-observable"));
  ctx.add(course, course.expected.drug, lookedAt, course.endDay === null || course.endDay >= lookedAt ? MET : NOT_MET);
}

function zosterVaccination(ctx: Context, course: Course): void {
  if (!isOral(course) || !inPeriod(course.expected.start, ctx.o)) return;
  const lastDay = Math.min(course.endDay ?? ctx.asOfDay, ctx.asOfDay);
  const covered = ctx.plan.vaccinations.some(
    (v) => (v.vaccine === "zosterRecombinant" || v.vaccine === "zosterLive") && v.day < ctx.asOfDay && (v.day <= course.startDay || (v.vaccine === "zosterRecombinant" && v.day <= lastDay)),
  );
  ctx.add(course, course.expected.drug, course.startDay, covered ? MET : NOT_MET);
}

/** Low neutrophil counts are the generator's only abnormal results (other values are drawn inside the normal ranges). */
function abnormalLabNoRepeat(ctx: Context, courses: readonly Course[]): void {
  const { plan, asOfDay } = ctx;
  for (const lab of plan.labs) {
    if (!lab.lowNeutrophils || lab.day >= asOfDay) continue;
    // The engine judges a result for every oral course from 90 days before its start to its end (or asOf).
    const flagged = courses.filter((c) => isOral(c) && lab.day >= c.startDay - 90 && lab.day <= Math.min(asOfDay, c.endDay ?? Number.POSITIVE_INFINITY));
    if (flagged.length === 0) continue;
    const running = flagged.filter((c) => c.startDay <= lab.day).sort((a, b) => b.startDay - a.startDay);
    const course = running[0] ?? flagged[0]!;
    if (!matches(course, ctx.o) || !inPeriod(isoFromDay(lab.day), ctx.o)) continue;
    const repeated = plan.labs.some((l) => l.kind === "cbc" && l.day > lab.day && l.day <= lab.day + REPEAT_DAYS && l.day < asOfDay);
    const outcome = repeated ? NOT_MET : asOfDay - lab.day < REPEAT_DAYS ? excluded("window-open") : MET;
    ctx.add(course, course.expected.drug, lab.day, outcome);
  }
}

const PER_COURSE: Partial<Record<MeasureId, (ctx: Context, course: Course) => void>> = {
  "baseline-screening": baselineScreening,
  "follow-up-labs": followUpLabs,
  "response-assessed": responseAssessed,
  "easi-75-primary": easi75,
  "symptom-response": symptomResponse,
  "possible-missed-switch": possibleMissedSwitch,
  "zoster-vaccination": zosterVaccination,
};

/** One patient's cases of a measure, or why the oracle cannot say. */
export function oracleCases(measureId: MeasureId, expected: CohortExpectation, plan: PatientPlan, o: OracleOptions): OracleAnswer {
  const asOfDay = dayFromIso(o.asOf);
  const courses = coursesOf(expected, plan, asOfDay);
  const cases: OracleCase[] = [];
  const ctx: Context = {
    patientId: expected.patientId,
    plan,
    asOfDay,
    o,
    add(course, stratum, day, outcome) {
      const c: OracleCase = { patientId: expected.patientId, courseStart: course.expected.start, drug: course.expected.drug, stratum, date: isoFromDay(day), inNumerator: outcome.inNumerator };
      if (outcome.excludedReason) c.excludedReason = outcome.excludedReason;
      cases.push(c);
    },
  };
  try {
    if (measureId === "abnormal-lab-no-repeat") abnormalLabNoRepeat(ctx, courses);
    else {
      const measure = PER_COURSE[measureId];
      if (!measure) throw new Error(`oracle: no measure ${measureId}`);
      for (const course of courses) if (matches(course, o)) measure(ctx, course);
    }
  } catch (error) {
    if (error instanceof Undetermined) return { determined: false, why: error.message };
    throw error;
  }
  return { determined: true, cases };
}
