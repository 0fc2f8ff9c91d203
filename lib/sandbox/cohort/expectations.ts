/**
 * The generator's expected outcome per patient (side file expected.ndjson), in the engine's section-7
 * vocabulary, and the construction oracle that derives it from a plan's clean facts.
 *
 * The oracle only reads what the generator itself placed (days, values, which labs exist). Where the
 * reference leaves room for interpretation (coded IGA answers, generic LOINC pain, means near a
 * threshold, a checkpoint window after a course stopped, periodic labs), the entry is left out rather
 * than guessed: every listed entry is what a correct engine must output at asOf.
 */
import type { JakDrug } from "./codes";
import { ageInYears, dayFromIso } from "./dates";
import { courseEnd, courseStart, type LabKind, type MeasureKey, type PatientPlan, type ScoreEvent } from "./plan";

export const VERDICTS = ["responded", "not-responded", "not-assessable", "open", "not-due"] as const;
export type Verdict = (typeof VERDICTS)[number];
export const LAB_STATUSES = ["done", "due", "overdue", "missing", "not-due"] as const;
export type LabStatus = (typeof LAB_STATUSES)[number];
export const FLAG_KINDS = [
  "non-response",
  "early-signal",
  "missing-lab",
  "overdue-lab",
  "abnormal-lab",
  "bsa-limit",
  "cream-quantity",
  "vaccination",
  "data-quality",
] as const;
export type FlagKind = (typeof FLAG_KINDS)[number];
export const DRUGS = ["upadacitinib", "abrocitinib", "baricitinib", "ruxolitinib-cream"] as const;
export const LAB_PHASES = ["baseline", "week-4", "week-12", "periodic"] as const;
export const LAB_IDS = ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver", "lipids", "pregnancy"] as const;
export const CHECKPOINT_WEEKS = ["2", "4", "8", "12", "16", "24"] as const;

export interface CourseExpectation {
  drug: JakDrug;
  route: "oral" | "topical";
  /** YYYY-MM-DD */
  start: string;
  /** week ("2", "4", ...) to verdict; only checkpoints fixed by construction. */
  checkpoints: Record<string, Verdict>;
  /** requirement ("baseline:tb-screen") to status; only requirements fixed by construction. */
  labs: Record<string, LabStatus>;
}

export interface CohortExpectation {
  patientId: string;
  asOf: string;
  /** "responder" | "partial" | "non-responder" | "no-jak" | "switch" | "stopped" | "showcase:<story>" ... */
  archetype: string;
  /** Every JAK course the engine must find, sorted by start (empty: the engine must find none). */
  courses: CourseExpectation[];
  /** Flag kinds the engine must raise for this patient (a subset of what it raises). */
  flagKinds: FlagKind[];
}

type Criterion = "easi-50" | "iga-success" | "iga-improved" | "itch-4" | "pain-3";

/** Checkpoint windows (days from start): target, window start, window end (clinical-reference section 4). */
export const CHECKPOINT_WINDOWS: Record<string, { target: number; from: number; to: number }> = {
  "2": { target: 14, from: 8, to: 21 },
  "4": { target: 28, from: 22, to: 42 },
  "8": { target: 56, from: 43, to: 70 },
  "12": { target: 84, from: 71, to: 98 },
  "16": { target: 112, from: 99, to: 140 },
  "24": { target: 168, from: 141, to: 196 },
};

const LATE_CRITERIA: Criterion[] = ["easi-50", "iga-success", "itch-4"];
const WEEK8_CRITERIA: Criterion[] = ["easi-50", "iga-improved", "itch-4"];
/** Checkpoints and criteria per drug (clinical-reference section 6). */
export const DRUG_CHECKPOINTS: Record<JakDrug, Record<string, Criterion[]>> = {
  upadacitinib: { "2": ["pain-3", "itch-4"], "4": ["itch-4"], "12": LATE_CRITERIA, "16": LATE_CRITERIA },
  abrocitinib: { "2": ["pain-3", "itch-4"], "4": ["itch-4"], "12": LATE_CRITERIA, "16": LATE_CRITERIA, "24": LATE_CRITERIA },
  baricitinib: { "2": ["pain-3", "itch-4"], "4": ["itch-4"], "8": WEEK8_CRITERIA, "16": LATE_CRITERIA },
  "ruxolitinib-cream": { "2": ["pain-3", "itch-4"], "4": ["itch-4"], "8": WEEK8_CRITERIA },
};

/** Lab requirements per drug, without periodic ones (their schedule is left to the engine). */
export const DRUG_LABS: Record<JakDrug, { baseline: LabKind[]; "week-4": LabKind[]; "week-12": LabKind[] }> = {
  upadacitinib: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver", "pregnancy"], "week-4": [], "week-12": ["lipids"] },
  abrocitinib: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "lipids"], "week-4": ["cbc", "lipids"], "week-12": [] },
  baricitinib: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver"], "week-4": [], "week-12": ["lipids"] },
  "ruxolitinib-cream": { baseline: [], "week-4": [], "week-12": [] },
};
const FOLLOW_UP_WINDOWS = { "week-4": { from: 14, to: 42 }, "week-12": { from: 56, to: 112 } } as const;

export function routeOf(drug: JakDrug): "oral" | "topical" {
  return drug === "ruxolitinib-cream" ? "topical" : "oral";
}

/** How the engine might read values the reference is vague about; expectations hold under all of them. */
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

/** Criterion outcomes, plus "ambiguous" when a mean sits so near a threshold that rounding could flip it. */
type CriterionStatus = "met" | "not-met" | "no-baseline" | "no-value" | "not-applicable" | "ambiguous";
type VerdictOrUnknown = Verdict | "ambiguous";

interface MeasuredValue {
  value: number;
  /** A mean of diary values (fractional, so threshold comparisons get a rounding margin). */
  isMean: boolean;
}

const MEAN_MARGIN = 0.1;

class ScoreIndex {
  private readonly byMeasure = new Map<MeasureKey, ScoreEvent[]>();

  constructor(scores: ScoreEvent[], asOfDay: number, interpretation: Interpretation) {
    for (const score of scores) {
      if (score.day >= asOfDay || score.outOfRangeTypo) continue;
      if (score.valueForm === "coded" && !interpretation.parseCodedIga) continue;
      if (score.coding === "loinc-pain" && !interpretation.recognizeLoincPain) continue;
      const list = this.byMeasure.get(score.measure) ?? [];
      list.push(score);
      this.byMeasure.set(score.measure, list);
    }
  }

  inRange(measure: MeasureKey, from: number, to: number): ScoreEvent[] {
    return (this.byMeasure.get(measure) ?? []).filter((s) => s.day >= from && s.day <= to);
  }

  baseline(measure: MeasureKey, start: number): MeasuredValue | null {
    const diary = this.inRange(measure, start - 6, start);
    if (diary.length >= 4) return { value: mean(diary), isMean: true };
    const candidates = this.inRange(measure, start - 30, start + 3);
    const latest = candidates.reduce<ScoreEvent | null>((best, s) => (!best || s.day >= best.day ? s : best), null);
    return latest ? { value: latest.value, isMean: false } : null;
  }

  atCheckpoint(measure: MeasureKey, start: number, week: string): MeasuredValue | null {
    const window = CHECKPOINT_WINDOWS[week];
    if (!window) throw new Error(`unknown week ${week}`);
    const target = start + window.target;
    const from = start + window.from;
    const to = start + window.to;
    const diary = this.inRange(measure, Math.max(target - 6, from), target);
    if (diary.length >= 4) return { value: mean(diary), isMean: true };
    let nearest: ScoreEvent | null = null;
    for (const s of this.inRange(measure, from, to)) {
      const distance = Math.abs(s.day - target);
      // Tie: the later value wins.
      if (!nearest || distance < Math.abs(nearest.day - target) || (distance === Math.abs(nearest.day - target) && s.day > nearest.day)) {
        nearest = s;
      }
    }
    return nearest ? { value: nearest.value, isMean: false } : null;
  }
}

function mean(scores: ScoreEvent[]): number {
  return scores.reduce((sum, s) => sum + s.value, 0) / scores.length;
}

function compareImprovement(improvement: number, threshold: number, fuzzy: boolean): CriterionStatus {
  if (fuzzy && Math.abs(improvement - threshold) < MEAN_MARGIN) return "ambiguous";
  return improvement >= threshold - 1e-9 ? "met" : "not-met";
}

function evaluateCriterion(criterion: Criterion, index: ScoreIndex, start: number, week: string): CriterionStatus {
  const measure: MeasureKey = criterion === "easi-50" ? "easi" : criterion === "itch-4" ? "itch" : criterion === "pain-3" ? "pain" : "iga";
  const baseline = index.baseline(measure, start);
  const value = index.atCheckpoint(measure, start, week);
  const fuzzy = (baseline?.isMean ?? false) || (value?.isMean ?? false);
  if (criterion === "itch-4" || criterion === "pain-3") {
    const minimumBaseline = criterion === "itch-4" ? 4 : 3;
    if (!baseline) return "no-baseline";
    if (baseline.isMean && Math.abs(baseline.value - minimumBaseline) < MEAN_MARGIN) return "ambiguous";
    if (baseline.value < minimumBaseline) return "not-applicable";
    if (!value) return "no-value";
    return compareImprovement(baseline.value - value.value, minimumBaseline, fuzzy);
  }
  if (!baseline) return "no-baseline";
  if (criterion === "easi-50") {
    if (baseline.value <= 0) return "no-baseline";
    if (!value) return "no-value";
    const fraction = (baseline.value - value.value) / baseline.value;
    if (Math.abs(fraction - 0.5) < 0.005) return "ambiguous";
    return fraction >= 0.5 ? "met" : "not-met";
  }
  if (!value) return "no-value";
  if (criterion === "iga-success") return value.value <= 1 && baseline.value - value.value >= 2 ? "met" : "not-met";
  return baseline.value - value.value >= 1 ? "met" : "not-met";
}

function checkpointVerdict(criteria: Criterion[], index: ScoreIndex, start: number, week: string, asOfDay: number): VerdictOrUnknown {
  const window = CHECKPOINT_WINDOWS[week];
  if (!window) throw new Error(`unknown week ${week}`);
  const daysIn = asOfDay - start;
  if (daysIn < window.from) return "not-due";
  const statuses = criteria.map((c) => evaluateCriterion(c, index, start, week));
  if (statuses.includes("met")) return "responded";
  if (statuses.includes("ambiguous")) return "ambiguous";
  if (daysIn <= window.to) return "open";
  return statuses.includes("not-met") ? "not-responded" : "not-assessable";
}

interface LabIndex {
  has(kind: LabKind, from: number, to: number): boolean;
}

function buildLabIndex(plan: PatientPlan, asOfDay: number): LabIndex {
  const days = new Map<LabKind, number[]>();
  for (const lab of plan.labs) {
    if (lab.day >= asOfDay) continue;
    const list = days.get(lab.kind) ?? [];
    list.push(lab.day);
    days.set(lab.kind, list);
  }
  return { has: (kind, from, to) => (days.get(kind) ?? []).some((d) => d >= from && d <= to) };
}

interface CourseResult {
  expectation: CourseExpectation;
  flags: Set<FlagKind>;
}

function expectCourse(plan: PatientPlan, courseIndex: number, asOfDay: number, interpretation: Interpretation): CourseResult {
  const course = plan.courses[courseIndex];
  if (!course) throw new Error(`no course ${courseIndex}`);
  const start = courseStart(course);
  const end = courseEnd(course);
  // After a stop, windows reaching past the stop are left out (whether they close early is the engine's call).
  const lastAssertableDay = end ?? Number.POSITIVE_INFINITY;
  const ongoing = end === null || end >= asOfDay;
  const flags = new Set<FlagKind>();
  const scoreIndex = new ScoreIndex(plan.scores, asOfDay, interpretation);
  const checkpoints: Record<string, Verdict> = {};
  for (const [week, criteria] of Object.entries(DRUG_CHECKPOINTS[course.drug])) {
    const window = CHECKPOINT_WINDOWS[week];
    if (!window || start + window.to > lastAssertableDay) continue;
    const verdict = checkpointVerdict(criteria, scoreIndex, start, week, asOfDay);
    if (verdict === "ambiguous") continue;
    checkpoints[week] = verdict;
    if (verdict === "not-responded" && ongoing) flags.add(week === "2" || week === "4" ? "early-signal" : "non-response");
  }

  const labIndex = buildLabIndex(plan, asOfDay);
  const labs: Record<string, LabStatus> = {};
  const requirements = DRUG_LABS[course.drug];
  const daysIn = asOfDay - start;
  for (const kind of requirements.baseline) {
    if (kind === "pregnancy") {
      const age = ageInYears(plan.birthDay, start);
      // Only clearly inside "female 12-50"; the edges are the engine's call.
      if (plan.sex !== "female" || age < 13 || age > 49) continue;
    }
    const lookback = kind === "tb-screen" || kind === "hbv-screen" || kind === "hcv-screen" ? 365 : 90;
    const done = labIndex.has(kind, start - lookback, start + 3);
    if (done) labs[`baseline:${kind}`] = "done";
    else if (daysIn > 3) {
      labs[`baseline:${kind}`] = "missing";
      if (ongoing) flags.add("missing-lab");
    }
  }
  for (const phase of ["week-4", "week-12"] as const) {
    const window = FOLLOW_UP_WINDOWS[phase];
    if (start + window.to > lastAssertableDay) continue;
    for (const kind of requirements[phase]) {
      let status: LabStatus;
      if (labIndex.has(kind, start + window.from, start + window.to)) status = "done";
      else if (daysIn < window.from) status = "not-due";
      else if (daysIn <= window.to) status = "due";
      else status = "overdue";
      labs[`${phase}:${kind}`] = status;
      if (status === "overdue" && ongoing) flags.add("overdue-lab");
    }
  }
  if (ongoing && routeOf(course.drug) === "oral") {
    const lowNeutrophilsDuringCourse = plan.labs.some((lab) => lab.lowNeutrophils && lab.day >= start && lab.day < asOfDay);
    if (lowNeutrophilsDuringCourse) flags.add("abnormal-lab");
    // No zoster vaccine on record at all (so "before the JAK" holds however it is read), or a live one during it.
    const zoster = plan.vaccinations.filter((v) => (v.vaccine === "zosterRecombinant" || v.vaccine === "zosterLive") && v.day < asOfDay);
    if (zoster.length === 0 || zoster.some((v) => v.vaccine === "zosterLive" && v.day >= start)) flags.add("vaccination");
  }
  if (ongoing && course.drug === "ruxolitinib-cream") {
    const bsa = plan.scores.filter((s) => s.measure === "bsa" && s.day < asOfDay && !s.outOfRangeTypo);
    const latest = bsa[bsa.length - 1];
    if (latest && latest.day >= start && latest.value >= 22) flags.add("bsa-limit");
    // Only an order carries the quantity (dispenseRequest); 100 g per 7 days is over 60 g/week however counted.
    const ordered = course.representation.startsWith("request");
    if (ordered && course.creamGrams && course.creamSupplyDays && (course.creamGrams / course.creamSupplyDays) * 7 >= 90) flags.add("cream-quantity");
  }
  return {
    expectation: { drug: course.drug, route: routeOf(course.drug), start: isoDate(start), checkpoints, labs },
    flags,
  };
}

function isoDate(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Entries (and flag kinds) that come out the same under every interpretation. */
function intersect(results: CourseResult[][]): { courses: CourseExpectation[]; flags: Set<FlagKind> } {
  const first = results[0];
  if (!first) return { courses: [], flags: new Set() };
  const courses = first.map((result, courseIndex) => {
    const checkpoints: Record<string, Verdict> = {};
    for (const [week, verdict] of Object.entries(result.expectation.checkpoints)) {
      if (results.every((r) => r[courseIndex]?.expectation.checkpoints[week] === verdict)) checkpoints[week] = verdict;
    }
    return { ...result.expectation, checkpoints };
  });
  const flags = new Set<FlagKind>();
  for (const kind of FLAG_KINDS) {
    if (results.every((r) => r.some((course) => course.flags.has(kind)))) flags.add(kind);
  }
  return { courses, flags };
}

/** The expectation for one planned patient at asOf (YYYY-MM-DD). */
export function expectationFor(plan: PatientPlan, asOf: string): CohortExpectation {
  const asOfDay = dayFromIso(asOf);
  const order = plan.courses.map((_, i) => i).sort((a, b) => courseStart(plan.courses[a]!) - courseStart(plan.courses[b]!));
  const perInterpretation = INTERPRETATIONS.map((interpretation) =>
    order.map((courseIndex) => expectCourse(plan, courseIndex, asOfDay, interpretation)),
  );
  const { courses, flags } = intersect(perInterpretation);
  return {
    patientId: plan.patientId,
    asOf,
    archetype: plan.archetype,
    courses,
    flagKinds: FLAG_KINDS.filter((kind) => flags.has(kind)),
  };
}

/** Problems with an expectation's vocabulary (empty when it only uses section-7 terms). */
export function vocabularyProblems(expectation: CohortExpectation): string[] {
  const problems: string[] = [];
  for (const course of expectation.courses) {
    if (!(DRUGS as readonly string[]).includes(course.drug)) problems.push(`drug ${course.drug}`);
    if (course.route !== routeOf(course.drug)) problems.push(`route ${course.route} for ${course.drug}`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(course.start)) problems.push(`start ${course.start}`);
    for (const [week, verdict] of Object.entries(course.checkpoints)) {
      if (!(CHECKPOINT_WEEKS as readonly string[]).includes(week)) problems.push(`week ${week}`);
      if (!(VERDICTS as readonly string[]).includes(verdict)) problems.push(`verdict ${verdict}`);
    }
    for (const [requirement, status] of Object.entries(course.labs)) {
      const [phase, lab, ...rest] = requirement.split(":");
      if (rest.length > 0 || !(LAB_PHASES as readonly string[]).includes(phase ?? "") || !(LAB_IDS as readonly string[]).includes(lab ?? "")) {
        problems.push(`requirement ${requirement}`);
      }
      if (!(LAB_STATUSES as readonly string[]).includes(status)) problems.push(`lab status ${status}`);
    }
  }
  for (const kind of expectation.flagKinds) {
    if (!(FLAG_KINDS as readonly string[]).includes(kind)) problems.push(`flag kind ${kind}`);
  }
  return problems;
}
