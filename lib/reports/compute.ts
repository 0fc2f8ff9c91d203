/**
 * Computes the measures of measures.ts from the clinical engine's output per patient (PatientEvaluation),
 * plus the few resource facts the engine output lacks (zoster vaccinations, safety-lab result dates, the
 * prescriber of each course), passed in as plain data. Pure: no IO, no clock (each patient carries the date
 * its evaluation was made for).
 *
 * Streaming use: createMeasureAccumulator(id, options), add() each patient, then result(); computeMeasure()
 * does that for an iterable.
 */
import { addDays, calendarDate, daysBetween } from "../clinical/dates";
import type { CheckpointEvaluation, CourseEvaluation, DrugId, IsoDate, LabKey, LabRequirementStatus, MeasureAtCheckpoint, PatientEvaluation, Route } from "../clinical/types";
import {
  DRUG_LABELS,
  DRUG_ORDER,
  FOLLOW_UP_PHASES,
  measureDefinition,
  MISSED_SWITCH,
  MISSED_SWITCH_DAY,
  ORAL_DRUGS,
  PRIMARY_CHECKPOINT_WEEK,
  REPEAT_WITHIN_DAYS,
  REPORTS_VERSION,
  SCREENING_LEFT_OUT,
  SYMPTOM_CHECKPOINTS,
  type ExclusionReason,
  type MeasureDefinition,
  type MeasureId,
} from "./measures";

export interface ZosterVaccinationFact {
  date: IsoDate;
  /** A live zoster vaccine (CVX 121); recombinant (CVX 187) is not live. */
  live: boolean;
  resource?: string;
}

export interface LabResultFact {
  /** "Observation/123", as the engine's flags name it. */
  resource: string;
  lab: LabKey;
  date: IsoDate;
}

/** Facts about a patient's resources that the engine output does not carry. */
export interface PatientFacts {
  /** Prescriber of each course (by course index), as the panel reads it; null or absent when unknown. */
  prescribers?: ReadonlyArray<string | null>;
  /** Zoster vaccinations on record (not entered in error, not "not done"); required by zoster-vaccination. */
  zosterVaccinations?: readonly ZosterVaccinationFact[];
  /** Valid safety-lab results (any value); required by abnormal-lab-no-repeat when the patient has an abnormal-lab flag. */
  labResults?: readonly LabResultFact[];
}

export interface ReportPatient {
  /** The source (EHR) the patient was synced from. */
  source?: string;
  /** The date the evaluation was computed for (its asOf). */
  asOf: IsoDate;
  evaluation: PatientEvaluation;
  facts?: PatientFacts;
}

export interface ReportPeriod {
  /** First day, YYYY-MM-DD, inclusive. */
  from: IsoDate;
  /** Last day, YYYY-MM-DD, inclusive. */
  to: IsoDate;
}

export interface ReportFilters {
  source?: string;
  drug?: DrugId;
  route?: Route;
  prescriber?: string;
}

export interface ReportOptions {
  period: ReportPeriod;
  filters?: ReportFilters;
}

/** One case of a measure (a course, a lab requirement, a symptom checkpoint or an abnormal result). */
export interface MeasurePatientRow {
  patientId: string;
  source: string | null;
  courseIndex: number;
  drug: DrugId;
  route: Route;
  courseStart: IsoDate;
  prescriber: string | null;
  /** The date that put the case in the period (measure.period.anchor). */
  date: IsoDate;
  /** The stratum the case counts in (a drug, a requirement id or a symptom). */
  stratum: string;
  /** What the case is about when the course alone does not say: the requirement id, the symptom, the flagged resource. */
  item: string | null;
  inNumerator: boolean;
  excludedReason?: ExclusionReason;
}

export interface ExclusionCount {
  reason: ExclusionReason;
  label: string;
  count: number;
}

export interface MeasureFigures {
  initialPopulation: number;
  denominator: number;
  numerator: number;
  exclusions: ExclusionCount[];
  /** numerator / denominator, or null when the denominator is 0. */
  rate: number | null;
}

export interface MeasureStratum extends MeasureFigures {
  key: string;
  label: string;
}

export interface MeasureTrendPoint {
  /** YYYY-MM */
  month: string;
  numerator: number;
  denominator: number;
  rate: number | null;
}

/** Something in the input the measure could not count, said rather than dropped (no PHI beyond ids). */
export interface MeasureDataNote {
  patientId: string;
  source: string | null;
  resource: string | null;
  issue: string;
}

export interface MeasureResult extends MeasureFigures {
  measureId: MeasureId;
  reportsVersion: string;
  period: ReportPeriod;
  filters: ReportFilters;
  strata: MeasureStratum[];
  trend: MeasureTrendPoint[];
  patients: MeasurePatientRow[];
  dataNotes: MeasureDataNote[];
}

const DECIDED = new Set(["responded", "not-responded", "not-assessable"]);

/** Abnormal-lab rule ids and the analytes they judge (lib/clinical/abnormal.ts). */
const ABNORMAL_RULE_LABS: Readonly<Record<string, readonly LabKey[]>> = {
  "abnormal.anc-low": ["anc"],
  "abnormal.alc-low": ["alc"],
  "abnormal.hemoglobin-low": ["hemoglobin"],
  "abnormal.transaminase-high": ["alt", "ast"],
  "abnormal.platelets-abrocitinib": ["platelets"],
  "abnormal.platelets-before-abrocitinib": ["platelets"],
  "abnormal.eu-abrocitinib-start-anc": ["anc"],
  "abnormal.eu-abrocitinib-start-hemoglobin": ["hemoglobin"],
};
/** Analytes that repeat one another (a liver panel gives both ALT and AST). */
const REPEAT_GROUP: Partial<Record<LabKey, readonly LabKey[]>> = { alt: ["alt", "ast"], ast: ["alt", "ast"] };

function validDate(value: unknown): boolean {
  return typeof value === "string" && value.length === 10 && calendarDate(value) === value;
}

function checkOptions(options: ReportOptions): void {
  const { from, to } = options.period;
  if (!validDate(from) || !validDate(to)) throw new RangeError(`Report period must be two YYYY-MM-DD dates, got ${JSON.stringify(options.period)}`);
  if (from > to) throw new RangeError(`Report period starts (${from}) after it ends (${to})`);
}

function inPeriod(date: IsoDate, period: ReportPeriod): boolean {
  return date >= period.from && date <= period.to;
}

function rateOf(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

/** Months from the period's first to its last, YYYY-MM. */
export function periodMonths(period: ReportPeriod): string[] {
  const months: string[] = [];
  let year = Number(period.from.slice(0, 4));
  let month = Number(period.from.slice(5, 7));
  const last = period.to.slice(0, 7);
  for (;;) {
    const key = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}`;
    months.push(key);
    if (key >= last) return months;
    month++;
    if (month > 12) {
      month = 1;
      year++;
    }
  }
}

/** A course as the filters and rows see it. */
interface CourseContext {
  patient: ReportPatient;
  course: CourseEvaluation;
  index: number;
  prescriber: string | null;
}

type CaseOutcome = { inNumerator: true } | { inNumerator: false; excludedReason?: ExclusionReason };

interface Case {
  context: CourseContext;
  date: IsoDate;
  stratum: string;
  item: string | null;
  outcome: CaseOutcome;
}

const MET: CaseOutcome = { inNumerator: true };
const NOT_MET: CaseOutcome = { inNumerator: false };
function excluded(reason: ExclusionReason): CaseOutcome {
  return { inNumerator: false, excludedReason: reason };
}

function courseContexts(patient: ReportPatient, filters: ReportFilters): CourseContext[] {
  if (filters.source !== undefined && patient.source !== filters.source) return [];
  if (filters.prescriber !== undefined && patient.facts?.prescribers === undefined && patient.evaluation.courses.length > 0) {
    throw new Error(`The prescriber filter needs facts.prescribers (patient ${patient.evaluation.patientId} has none)`);
  }
  const contexts: CourseContext[] = [];
  patient.evaluation.courses.forEach((course, index) => {
    const prescriber = patient.facts?.prescribers?.[index] ?? null;
    if (filters.drug !== undefined && course.drug !== filters.drug) return;
    if (filters.route !== undefined && course.route !== filters.route) return;
    if (filters.prescriber !== undefined && prescriber !== filters.prescriber) return;
    contexts.push({ patient, course, index, prescriber });
  });
  return contexts;
}

function isOral(course: CourseEvaluation): boolean {
  return course.route === "oral" && ORAL_DRUGS.includes(course.drug);
}

function checkpointOf(course: CourseEvaluation, week: number): CheckpointEvaluation | null {
  return course.checkpoints.find((c) => c.week === week) ?? null;
}

function targetOf(course: CourseEvaluation, checkpoint: CheckpointEvaluation): IsoDate {
  return checkpoint.targetDate ?? addDays(course.start, checkpoint.week * 7);
}

/** The engine's rule: a checkpoint window that opens after the course's last day is not the course's. */
function windowAfterEnd(course: CourseEvaluation, checkpoint: CheckpointEvaluation): boolean {
  return course.end !== null && checkpoint.windowStart > course.end;
}

/** The checkpoint exclusions shared by measures 4 and 5: after the end, not due, not decided. */
function undecidedReason(course: CourseEvaluation, checkpoint: CheckpointEvaluation): ExclusionReason | null {
  if (windowAfterEnd(course, checkpoint)) return "window-after-course-end";
  if (checkpoint.verdict === "not-due") return "not-yet-due";
  if (!DECIDED.has(checkpoint.verdict)) return "window-open";
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Measures: each returns the cases of one course context (in the period).

function baselineScreening(ctx: CourseContext, period: ReportPeriod): Case[] {
  const { course } = ctx;
  if (!isOral(course) || !inPeriod(course.start, period)) return [];
  const requirements = course.labs.filter((l) => l.requirement.startsWith("baseline:") && !SCREENING_LEFT_OUT.includes(l.requirement));
  let outcome: CaseOutcome;
  if (requirements.length === 0) outcome = excluded("no-requirements");
  else if (requirements.every((l) => l.status === "done")) outcome = MET;
  else if (requirements.some((l) => l.status === "due" || l.status === "not-due")) outcome = excluded("baseline-window-open");
  else outcome = NOT_MET;
  return [{ context: ctx, date: course.start, stratum: course.drug, item: null, outcome }];
}

function followUpLabs(ctx: CourseContext, period: ReportPeriod): Case[] {
  const { course } = ctx;
  const cases: Case[] = [];
  for (const lab of course.labs) {
    const phase = lab.requirement.split(":")[0] ?? "";
    if (!FOLLOW_UP_PHASES.includes(phase) || !inPeriod(lab.dueBy, period)) continue;
    cases.push({ context: ctx, date: lab.dueBy, stratum: lab.requirement, item: lab.requirement, outcome: followUpOutcome(course, lab) });
  }
  return cases;
}

function followUpOutcome(course: CourseEvaluation, lab: LabRequirementStatus): CaseOutcome {
  if (lab.status === "done") return MET;
  const windowEnd = lab.windowEnd ?? lab.dueBy;
  if (course.end !== null && course.end < windowEnd) return excluded("course-ended-before-window-closed");
  if (lab.status === "due") return excluded("window-open");
  if (lab.status === "not-due") return excluded("not-yet-due");
  // overdue (or missing, which follow-ups never are): the window closed without a result.
  return NOT_MET;
}

function primaryCheckpoint(ctx: CourseContext, period: ReportPeriod): { checkpoint: CheckpointEvaluation; target: IsoDate } | null {
  const checkpoint = checkpointOf(ctx.course, PRIMARY_CHECKPOINT_WEEK[ctx.course.drug]);
  if (!checkpoint) return null;
  const target = targetOf(ctx.course, checkpoint);
  return inPeriod(target, period) ? { checkpoint, target } : null;
}

function hasValue(measure: MeasureAtCheckpoint | undefined): boolean {
  return measure !== undefined && measure.value !== null;
}

function responseAssessed(ctx: CourseContext, period: ReportPeriod): Case[] {
  const primary = primaryCheckpoint(ctx, period);
  if (!primary) return [];
  const { course } = ctx;
  const { checkpoint } = primary;
  const asOf = ctx.patient.asOf;
  let outcome: CaseOutcome;
  if (windowAfterEnd(course, checkpoint)) outcome = excluded("window-after-course-end");
  else if (asOf < checkpoint.windowStart) outcome = excluded("not-yet-due");
  else if (hasValue(checkpoint.measures.easi) || hasValue(checkpoint.measures.iga)) outcome = MET;
  else {
    // The window closes on its last day or on the course's last day, whichever comes first (as in the engine).
    const closes = course.end !== null && course.end < checkpoint.windowEnd ? course.end : checkpoint.windowEnd;
    outcome = asOf <= closes ? excluded("window-open") : NOT_MET;
  }
  return [{ context: ctx, date: primary.target, stratum: course.drug, item: `week-${checkpoint.week}`, outcome }];
}

function easi75(ctx: CourseContext, period: ReportPeriod): Case[] {
  const primary = primaryCheckpoint(ctx, period);
  if (!primary) return [];
  const { course } = ctx;
  const { checkpoint } = primary;
  let outcome: CaseOutcome;
  const reason = undecidedReason(course, checkpoint);
  const easi = checkpoint.measures.easi;
  if (reason) outcome = excluded(reason);
  else if (!easi || easi.status === "no-value") outcome = excluded("no-value");
  else if (easi.status === "no-baseline" || easi.status === "not-applicable") outcome = excluded("no-baseline");
  else outcome = easi.band === "EASI-75" || easi.band === "EASI-90" ? MET : NOT_MET;
  return [{ context: ctx, date: primary.target, stratum: course.drug, item: `week-${checkpoint.week}`, outcome }];
}

function symptomResponse(ctx: CourseContext, period: ReportPeriod): Case[] {
  const { course } = ctx;
  const cases: Case[] = [];
  for (const spec of SYMPTOM_CHECKPOINTS) {
    const checkpoint = checkpointOf(course, spec.week);
    if (!checkpoint) continue;
    const target = targetOf(course, checkpoint);
    if (!inPeriod(target, period)) continue;
    const measure = checkpoint.measures[spec.symptom];
    let outcome: CaseOutcome;
    const reason = undecidedReason(course, checkpoint);
    if (reason) outcome = excluded(reason);
    else if (!measure || measure.criterion !== spec.criterion) outcome = excluded("no-value");
    else if (measure.status === "no-baseline") outcome = excluded("no-baseline");
    else if (measure.status === "not-applicable") outcome = excluded("baseline-below-threshold");
    else if (measure.status === "no-value") outcome = excluded("no-value");
    else outcome = measure.status === "met" ? MET : NOT_MET;
    cases.push({ context: ctx, date: target, stratum: spec.symptom, item: `${spec.symptom}:week-${spec.week}`, outcome });
  }
  return cases;
}

function possibleMissedSwitch(ctx: CourseContext, period: ReportPeriod): Case[] {
  const { course } = ctx;
  const checkpoint = checkpointOf(course, MISSED_SWITCH.week);
  if (!checkpoint || checkpoint.verdict !== "not-responded") return [];
  const lookedAt = addDays(course.start, MISSED_SWITCH_DAY);
  if (!inPeriod(lookedAt, period)) return [];
  let outcome: CaseOutcome;
  if (ctx.patient.asOf < lookedAt) outcome = excluded("not-yet-observable");
  else outcome = course.end === null || course.end >= lookedAt ? MET : NOT_MET;
  return [{ context: ctx, date: lookedAt, stratum: course.drug, item: `week-${MISSED_SWITCH.week}`, outcome }];
}

function zosterVaccination(ctx: CourseContext, period: ReportPeriod): Case[] {
  const { course, patient } = ctx;
  if (!isOral(course) || !inPeriod(course.start, period)) return [];
  const vaccinations = patient.facts?.zosterVaccinations;
  if (vaccinations === undefined) {
    throw new Error(`zoster-vaccination needs facts.zosterVaccinations (patient ${patient.evaluation.patientId} has none; pass [] when there are none)`);
  }
  const lastDay = course.end !== null && course.end < patient.asOf ? course.end : patient.asOf;
  const covered = vaccinations.some((v) => v.date <= course.start || (!v.live && v.date <= lastDay));
  return [{ context: ctx, date: course.start, stratum: course.drug, item: null, outcome: covered ? MET : NOT_MET }];
}

/**
 * Measure 7 works per patient: one case per abnormal result, attributed to the course running on its date.
 * Results the facts do not date cannot be placed in a period: they become data notes.
 */
function abnormalLabNoRepeat(patient: ReportPatient, contexts: readonly CourseContext[], period: ReportPeriod, notes: MeasureDataNote[]): Case[] {
  const flags = patient.evaluation.flags.filter((f) => f.kind === "abnormal-lab" && f.resource !== undefined && f.course !== undefined);
  if (flags.length === 0) return [];
  const labResults = patient.facts?.labResults;
  if (labResults === undefined) {
    throw new Error(`abnormal-lab-no-repeat needs facts.labResults (patient ${patient.evaluation.patientId} has abnormal-lab flags)`);
  }
  const courses = patient.evaluation.courses;
  const byResource = new Map<string, { ruleLabs: Set<LabKey>; courseIndexes: number[] }>();
  for (const flag of flags) {
    const entry = byResource.get(flag.resource!) ?? { ruleLabs: new Set<LabKey>(), courseIndexes: [] };
    for (const lab of ABNORMAL_RULE_LABS[flag.ruleId] ?? []) entry.ruleLabs.add(lab);
    if (!entry.courseIndexes.includes(flag.course!)) entry.courseIndexes.push(flag.course!);
    byResource.set(flag.resource!, entry);
  }
  const cases: Case[] = [];
  for (const [resource, { ruleLabs, courseIndexes }] of byResource) {
    const own = labResults.filter((r) => r.resource === resource && (ruleLabs.size === 0 || ruleLabs.has(r.lab)));
    const first = own[0];
    if (!first) {
      notes.push({ patientId: patient.evaluation.patientId, source: patient.source ?? null, resource, issue: "abnormal result not among the lab facts: its date is unknown" });
      continue;
    }
    const date = first.date;
    // The course running on the result's date (the latest started on or before it), else the first flagged.
    const running = courseIndexes.filter((i) => courses[i] !== undefined && courses[i]!.start <= date).sort((a, b) => courses[b]!.start.localeCompare(courses[a]!.start));
    const courseIndex = running[0] ?? courseIndexes[0]!;
    const ctx = contexts.find((c) => c.index === courseIndex);
    if (!ctx || !inPeriod(date, period)) continue;
    const group = new Set<LabKey>();
    for (const r of own) for (const lab of REPEAT_GROUP[r.lab] ?? [r.lab]) group.add(lab);
    const until = addDays(date, REPEAT_WITHIN_DAYS);
    const repeated = labResults.some((r) => r.resource !== resource && group.has(r.lab) && r.date > date && r.date <= until);
    let outcome: CaseOutcome;
    if (repeated) outcome = NOT_MET;
    else if (daysBetween(date, patient.asOf) < REPEAT_WITHIN_DAYS) outcome = excluded("window-open");
    else outcome = MET;
    cases.push({ context: ctx, date, stratum: ctx.course.drug, item: resource, outcome });
  }
  return cases;
}

type CourseMeasure = (ctx: CourseContext, period: ReportPeriod) => Case[];
const COURSE_MEASURES: Partial<Record<MeasureId, CourseMeasure>> = {
  "baseline-screening": baselineScreening,
  "follow-up-labs": followUpLabs,
  "response-assessed": responseAssessed,
  "easi-75-primary": easi75,
  "symptom-response": symptomResponse,
  "possible-missed-switch": possibleMissedSwitch,
  "zoster-vaccination": zosterVaccination,
};

/** The cases one patient contributes to a measure (in the period and matching the filters). */
function patientCases(definition: MeasureDefinition, patient: ReportPatient, options: ReportOptions, notes: MeasureDataNote[]): Case[] {
  const filters = options.filters ?? {};
  const contexts = courseContexts(patient, filters);
  if (definition.id === "abnormal-lab-no-repeat") return contexts.length === 0 ? [] : abnormalLabNoRepeat(patient, contexts, options.period, notes);
  const measure = COURSE_MEASURES[definition.id];
  if (!measure) throw new Error(`No computation for measure ${definition.id}`);
  return contexts.flatMap((ctx) => measure(ctx, options.period));
}

// ---------------------------------------------------------------------------------------------------------------
// Aggregation

class Tally {
  initialPopulation = 0;
  numerator = 0;
  denominator = 0;
  readonly excluded = new Map<ExclusionReason, number>();

  add(outcome: CaseOutcome, cases = 1): void {
    this.initialPopulation += cases;
    if (!outcome.inNumerator && outcome.excludedReason) {
      this.excluded.set(outcome.excludedReason, (this.excluded.get(outcome.excludedReason) ?? 0) + cases);
      return;
    }
    this.denominator += cases;
    if (outcome.inNumerator) this.numerator += cases;
  }

  figures(definition: MeasureDefinition): MeasureFigures {
    return {
      initialPopulation: this.initialPopulation,
      denominator: this.denominator,
      numerator: this.numerator,
      exclusions: definition.exclusions.map((e) => ({ reason: e.reason, label: e.label, count: this.excluded.get(e.reason) ?? 0 })),
      rate: rateOf(this.numerator, this.denominator),
    };
  }
}

function strataOrder(definition: MeasureDefinition): { keys: readonly string[]; label: (key: string) => string } {
  switch (definition.stratifier.by) {
    case "drug":
      return { keys: DRUG_ORDER, label: (key) => DRUG_LABELS[key as DrugId] ?? key };
    case "symptom":
      return { keys: SYMPTOM_CHECKPOINTS.map((s) => s.symptom), label: (key) => SYMPTOM_CHECKPOINTS.find((s) => s.symptom === key)?.label ?? key };
    case "requirement":
      return { keys: [], label: (key) => key };
  }
}

function requirementRank(key: string): [number, string] {
  const phase = key.split(":")[0] ?? "";
  const i = FOLLOW_UP_PHASES.indexOf(phase);
  return [i < 0 ? FOLLOW_UP_PHASES.length : i, key];
}

function measureRows(definition: MeasureDefinition, patient: ReportPatient, options: ReportOptions, notes: MeasureDataNote[]): MeasurePatientRow[] {
  return patientCases(definition, patient, options, notes).map((c) => {
    const { course, index, prescriber } = c.context;
    const row: MeasurePatientRow = {
      patientId: patient.evaluation.patientId,
      source: patient.source ?? null,
      courseIndex: index,
      drug: course.drug,
      route: course.route,
      courseStart: course.start,
      prescriber,
      date: c.date,
      stratum: c.stratum,
      item: c.item,
      inNumerator: c.outcome.inNumerator,
    };
    if (!c.outcome.inNumerator && c.outcome.excludedReason) row.excludedReason = c.outcome.excludedReason;
    return row;
  });
}

/** Every period: what the stored cases are computed for (a report then picks its period by the case date). */
export const ALL_TIME: ReportPeriod = { from: "0001-01-01", to: "9999-12-31" };

/**
 * One patient's cases of one measure, in the period and matching the filters (default: all of them), each with its
 * outcome; data notes about what could not be counted are pushed to `notes`.
 */
export function patientMeasureRows(measureId: MeasureId, patient: ReportPatient, options: Partial<ReportOptions> = {}, notes: MeasureDataNote[] = []): MeasurePatientRow[] {
  const full: ReportOptions = { period: options.period ?? ALL_TIME, filters: options.filters ?? {} };
  checkOptions(full);
  return measureRows(measureDefinition(measureId), patient, full, notes);
}

/** The figures of a measure from its tallies: totals, strata in the measure's order, one trend point per month. */
function assembleFigures(
  definition: MeasureDefinition, options: ReportOptions, months: readonly string[], total: Tally, strata: ReadonlyMap<string, Tally>, trend: ReadonlyMap<string, Tally>,
): Omit<MeasureResult, "patients" | "dataNotes"> {
  const order = strataOrder(definition);
  const keys = [...strata.keys()].sort((a, b) => {
    if (definition.stratifier.by === "requirement") {
      const [pa, ka] = requirementRank(a);
      const [pb, kb] = requirementRank(b);
      return pa - pb || ka.localeCompare(kb);
    }
    const ia = order.keys.indexOf(a);
    const ib = order.keys.indexOf(b);
    return (ia < 0 ? order.keys.length : ia) - (ib < 0 ? order.keys.length : ib) || a.localeCompare(b);
  });
  return {
    measureId: definition.id,
    reportsVersion: REPORTS_VERSION,
    period: { ...options.period },
    filters: { ...(options.filters ?? {}) },
    ...total.figures(definition),
    strata: keys.map((key) => ({ key, label: order.label(key), ...strata.get(key)!.figures(definition) })),
    trend: months.map((month) => {
      const t = trend.get(month) ?? new Tally();
      return { month, numerator: t.numerator, denominator: t.denominator, rate: rateOf(t.numerator, t.denominator) };
    }),
  };
}

/** Cases counted by outcome, grouped by stratum or by month (YYYY-MM), as SQL returns them from report_cases. */
export interface OutcomeCount {
  by: "stratum" | "month";
  key: string;
  inNumerator: boolean;
  excludedReason: ExclusionReason | null;
  cases: number;
}

/**
 * A measure's figures from grouped case counts (lib/reports/report-queries.ts): the same tallies, order and
 * trend as computeMeasure, so a report aggregated in SQL reads exactly as the pure computation.
 */
export function measureFiguresFromCounts(measureId: MeasureId, options: ReportOptions, counts: Iterable<OutcomeCount>): Omit<MeasureResult, "patients" | "dataNotes"> {
  const definition = measureDefinition(measureId);
  checkOptions(options);
  const months = periodMonths(options.period);
  const total = new Tally();
  const strata = new Map<string, Tally>();
  const trend = new Map<string, Tally>(months.map((m) => [m, new Tally()]));
  for (const c of counts) {
    const outcome: CaseOutcome = c.inNumerator ? MET : c.excludedReason ? excluded(c.excludedReason) : NOT_MET;
    if (c.by === "stratum") {
      total.add(outcome, c.cases);
      let stratum = strata.get(c.key);
      if (!stratum) strata.set(c.key, (stratum = new Tally()));
      stratum.add(outcome, c.cases);
    } else {
      trend.get(c.key)?.add(outcome, c.cases);
    }
  }
  return assembleFigures(definition, options, months, total, strata, trend);
}

export interface MeasureAccumulator {
  /** Adds one patient's cases. */
  add(patient: ReportPatient): void;
  result(): MeasureResult;
}

export function createMeasureAccumulator(measureId: MeasureId, options: ReportOptions): MeasureAccumulator {
  const definition = measureDefinition(measureId);
  checkOptions(options);
  const months = periodMonths(options.period);
  const total = new Tally();
  const strata = new Map<string, Tally>();
  const trend = new Map<string, Tally>(months.map((m) => [m, new Tally()]));
  const rows: MeasurePatientRow[] = [];
  const notes: MeasureDataNote[] = [];
  return {
    add(patient) {
      for (const row of measureRows(definition, patient, options, notes)) {
        const outcome: CaseOutcome = row.inNumerator ? MET : row.excludedReason ? excluded(row.excludedReason) : NOT_MET;
        total.add(outcome);
        let stratum = strata.get(row.stratum);
        if (!stratum) strata.set(row.stratum, (stratum = new Tally()));
        stratum.add(outcome);
        trend.get(row.date.slice(0, 7))?.add(outcome);
        rows.push(row);
      }
    },
    result() {
      return {
        ...assembleFigures(definition, options, months, total, strata, trend),
        patients: rows
          .slice()
          .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0) || cmp(a.source ?? "", b.source ?? "") || cmp(a.patientId, b.patientId) || a.courseIndex - b.courseIndex || cmp(a.item ?? "", b.item ?? "")),
        dataNotes: notes,
      };
    },
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A measure over every patient given (one pass; patients may be a generator). */
export function computeMeasure(measureId: MeasureId, patients: Iterable<ReportPatient>, options: ReportOptions): MeasureResult {
  const accumulator = createMeasureAccumulator(measureId, options);
  for (const patient of patients) accumulator.add(patient);
  return accumulator.result();
}
