/** What the dermatologist must see in seconds: current course and week, latest verdict, labs needing action. */
import { DEFAULT_RULES } from "../clinical/rules";
import { sourcesOfDefinition } from "../clinical/sources";
import type { CheckpointEvaluation, CourseEvaluation, Flag, IsoDate, LabRequirementResult, LabRequirementStatus, PatientEvaluation } from "../clinical/types";
import { courseWeekAt, DRUG_LABELS, SEVERITY_RANK } from "./format";

export interface CurrentCourse {
  course: CourseEvaluation;
  /** Index in evaluation.courses (flags refer to courses by this index). */
  index: number;
  /** True when the course has no end or ends on/after asOf. */
  active: boolean;
  /** Course week today (week 0 = first week); null when the course has ended. */
  weekToday: number | null;
}

/** The latest course by start date; `active` says whether it is still running at asOf. */
export function currentCourse(evaluation: PatientEvaluation, asOf: IsoDate): CurrentCourse | null {
  let best: { course: CourseEvaluation; index: number } | null = null;
  evaluation.courses.forEach((course, index) => {
    if (!best || course.start >= best.course.start) best = { course, index };
  });
  if (!best) return null;
  const { course, index } = best as { course: CourseEvaluation; index: number };
  const active = course.end === null || course.end >= asOf;
  const weekToday = active ? (course.weekAtAsOf ?? courseWeekAt(course.start, asOf)) : null;
  return { course, index, active, weekToday };
}

/** Courses other than the current one, most recent first. */
export function earlierCourses(evaluation: PatientEvaluation, current: CurrentCourse | null): { course: CourseEvaluation; index: number }[] {
  return evaluation.courses
    .map((course, index) => ({ course, index }))
    .filter((c) => c.index !== current?.index)
    .sort((a, b) => (a.course.start < b.course.start ? 1 : a.course.start > b.course.start ? -1 : 0));
}

/** The most recent checkpoint whose window has opened (verdict other than not-due), or null. */
export function latestVerdict(course: CourseEvaluation): CheckpointEvaluation | null {
  const opened = course.checkpoints.filter((c) => c.verdict !== "not-due").sort((a, b) => a.week - b.week);
  return opened.at(-1) ?? null;
}

const DECIDED: ReadonlySet<string> = new Set(["responded", "not-responded", "not-assessable"]);

/** The most recent checkpoint with a decided verdict (responded, not responded, not assessable), or null. */
export function latestDecidedVerdict(course: CourseEvaluation): CheckpointEvaluation | null {
  return course.checkpoints.filter((c) => DECIDED.has(c.verdict)).sort((a, b) => a.week - b.week).at(-1) ?? null;
}

/** Checkpoints whose window is open today without a response yet. */
export function openCheckpoints(course: CourseEvaluation): CheckpointEvaluation[] {
  return course.checkpoints.filter((c) => c.verdict === "open").sort((a, b) => a.week - b.week);
}

/** The next checkpoint whose window has not opened yet. */
export function nextCheckpoint(course: CourseEvaluation): CheckpointEvaluation | null {
  return [...course.checkpoints].sort((a, b) => a.week - b.week).find((c) => c.verdict === "not-due") ?? null;
}

export function flagsForCourse(flags: Flag[], courseIndex: number | null): Flag[] {
  return flags.filter((f) => f.course === undefined || f.course === courseIndex);
}

export function sortFlagsBySeverity(flags: Flag[]): Flag[] {
  return [...flags].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
}

export interface LabAttention {
  overdue: LabRequirementStatus[];
  missing: LabRequirementStatus[];
  due: LabRequirementStatus[];
  abnormal: Flag[];
}

/** Requirements and results that need action now: overdue, missing, due, and abnormal results. */
export function labAttention(course: CourseEvaluation | null, flags: Flag[], courseIndex: number | null): LabAttention {
  const labs = course?.labs ?? [];
  return {
    overdue: labs.filter((l) => l.status === "overdue"),
    missing: labs.filter((l) => l.status === "missing"),
    due: labs.filter((l) => l.status === "due"),
    abnormal: sortFlagsBySeverity(flagsForCourse(flags, courseIndex).filter((f) => f.kind === "abnormal-lab")),
  };
}

/** Abnormal-lab flags whose triggering resource satisfied this requirement (or is one of its values). */
export function abnormalFlagsForRequirement(requirement: LabRequirementStatus, flags: Flag[]): Flag[] {
  const satisfied = new Set(requirement.satisfiedBy ?? []);
  for (const r of requirement.results ?? []) satisfied.add(r.resource);
  return flags.filter((f) => f.kind === "abnormal-lab" && ((f.resource !== undefined && satisfied.has(f.resource)) || f.requirement === requirement.requirement));
}

/** The checklist values of a requirement that break a label threshold. */
export function abnormalResults(requirement: LabRequirementStatus): LabRequirementResult[] {
  return (requirement.results ?? []).filter((r) => r.abnormal !== undefined);
}

export interface CheckpointRuleText {
  ruleId: string;
  message: string;
  /** One-line citation naming the label section or trial. */
  source: string;
  /** The rule's primary source and its link (the flag's, when raised). */
  sourceLabel: string;
  sourceUrl: string;
  criteria: string[];
  /** The flag that was raised for this checkpoint, when it was (a not-responded verdict). */
  raised: Flag | null;
}

/**
 * The rule behind a checkpoint: the raised flag when there is one (it carries the engine's own wording),
 * else the default rule set's definition for that drug and week.
 */
export function checkpointRule(course: CourseEvaluation, courseIndex: number, week: number, flags: Flag[]): CheckpointRuleText | null {
  const rule = DEFAULT_RULES.drugs[course.drug]?.checkpoints.find((c) => c.week === week);
  const flag = flags.find((f) => (f.kind === "non-response" || f.kind === "early-signal") && f.week === week && (f.course === undefined || f.course === courseIndex));
  if (flag) return { ruleId: flag.ruleId, message: flag.message, source: flag.source, sourceLabel: flag.sourceLabel, sourceUrl: flag.sourceUrl, criteria: rule?.criteria ?? [], raised: flag };
  if (!rule) return null;
  const drug = DRUG_LABELS[course.drug] ?? course.drug;
  const primary = sourcesOfDefinition(rule, course.drug)[0]!;
  return { ruleId: rule.ruleId, message: rule.message.replaceAll("{drug}", drug), source: rule.source, sourceLabel: primary.label, sourceUrl: primary.url, criteria: rule.criteria, raised: null };
}
