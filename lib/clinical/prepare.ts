/**
 * The engine in two stages. preparePatient reads a patient's resources into what does not depend on the
 * evaluation date (normalised measurements, labs, medication events, vaccinations, phototherapy sessions, the
 * Patient's birth date and sex, and every data-quality note and code match, each with the day of the data it is
 * about); evaluatePrepared evaluates that at an asOf. evaluatePatient = evaluatePrepared(preparePatient(...)), so
 * the two together are the engine, and a PreparedPatient (plain JSON: a nightly re-evaluation keeps it in the
 * database) evaluates exactly as the resources it came from at any later date.
 *
 * How the date dependence was split: the first stage reads with asOfDay = Infinity, so nothing is skipped as
 * "after asOf", and records each note and match with a gate (context.ts gateDay): the day of the data it is about,
 * or null. The second stage keeps what is dated on or before its asOf (notes, matches, measurements, labs,
 * vaccinations, medication events), drops medication ends after asOf (coverage then as if no end was given) and
 * builds courses, checkpoints, labs and flags from there.
 */
import { abnormalChecks } from "./abnormal";
import type { PickedValue, Series } from "./baseline";
import { bucketResources, type Buckets, type InputItem, type PatientBucket } from "./buckets";
import { courseBaselines, evaluateCheckpoint, type SeriesByMeasure } from "./checkpoints";
import { note, tallyConcept, type EvalContext, type MatchEvent } from "./context";
import { buildCourses, buildTherapyHistory, medicationEvent, readProcedures, type Course, type MedicationEvent, type MedicationKind, type PhototherapySession } from "./courses";
import { calendarDate, dayNumber } from "./dates";
import { checkpointFlag, ruleFlag, sortFlags } from "./flags";
import { str } from "./json";
import { indexLabs, labChecklist } from "./labs";
import { normalizeObservations, type Interpretation, type LabResult, type Measurement } from "./normalize";
import { DEFAULT_RULES, type RuleSet } from "./rules";
import { abnormalLabFlags, creamFlags, labChecklistFlags, labUnitFlags, vaccinationFlags } from "./safety";
import { buildTrends } from "./trends";
import type {
  CheckpointMeasure, CodeMapping, CourseEvaluation, DataQualityNote, DrugId, Flag, IsoDate, LabKey, MatchHow, MeasureKey, PatientEvaluation, TherapyClass,
} from "./types";
import { readImmunizations, type VaccineEvent } from "./vaccination";

/** Bump whenever the first stage or the PreparedPatient format changes: stored preparations are then not used. */
export const PREPARED_VERSION = 1;

/** A number as JSON can hold it: finite numbers as they are; Infinity, -Infinity, NaN and -0 as text. */
export type JsonNumber = number | string;
/** [resource, issue, detail, gate]: gate = the day of the data it is about (kept when on or before asOf), or null. */
export type NoteRow = [string, string, string, number | null];
/**
 * [measure, date, value, resource id, 1 valid + 2 preliminary + 4 x how (0 system-code, 1 site-mapping, 2 text),
 * excludedReason?]. Resources are kept without their "Type/" (short ids: see shortRef).
 */
export type MeasurementRow = [MeasureKey, IsoDate, JsonNumber, string, number] | [MeasureKey, IsoDate, JsonNumber, string, number, string];
/** [lab, date, value, interpretation, referenceHigh, resource id, unitProblem] */
export type LabRow = [LabKey, IsoDate, JsonNumber | null, Interpretation, JsonNumber | null, string, string | null];
/** [kind, resource id, therapyClass, drug, name, route, start, end, coverage without the end, doseMg, grams, supplyDays] */
export type EventRow = [
  MedicationKind, string, TherapyClass, DrugId | null, string, MedicationEvent["route"], IsoDate, IsoDate | null, JsonNumber, JsonNumber | null, JsonNumber | null, JsonNumber | null,
];
/** [resource id, date, 1 zoster + 2 live] */
export type VaccineRow = [string, IsoDate, number];
/** [resource, start, end] */
export type SessionRow = [string, IsoDate, IsoDate | null];

/** A patient's engine input at any asOf: plain JSON (short keys; see the row types). */
export interface PreparedPatient {
  /** PREPARED_VERSION */
  v: number;
  /** Rules version (the first stage reads value ranges from the rules). */
  rv: string;
  /** Patient id. */
  id: string;
  /** Prepared for this asOf only (data after it left out): evaluable at this date alone. Absent: any date. */
  at?: IsoDate;
  /** 1 when no resource of the patient was given: the evaluation is empty (but for global notes). */
  none?: 1;
  /** 1 when prepared with details (code matches and phototherapy sessions): needed to evaluate with details. */
  d: 0 | 1;
  /** Patient.birthDate and Patient.gender when strings. */
  b: string | null;
  g: string | null;
  /** Data-quality notes in the engine's order. */
  n: NoteRow[];
  m: MeasurementRow[];
  l: LabRow[];
  e: EventRow[];
  /** Ruxolitinib events whose route is unknown: [resource, start]. */
  ru: Array<[string, IsoDate]>;
  vx: VaccineRow[];
  /** Details only: code matches in order, phototherapy sessions and their notes (the last notes when details are asked). */
  mt?: MatchEvent[];
  ph?: SessionRow[];
  pn?: NoteRow[];
  /** Notes about input of no patient (evaluatePatient adds them to the patient's). */
  gn: Array<[string, string, string]>;
  /** The first stage failed: the evaluation is this error (an engine-error note). */
  err?: string;
}

export interface PrepareOptions {
  /** The patient to prepare among the resources; default the first patient id in sort order. */
  patientId?: string;
  codeMappings?: CodeMapping[];
  rules?: RuleSet;
  /** Keep what evaluations with details need (code matches, phototherapy); default true. */
  details?: boolean;
  /**
   * Prepare for this evaluation date only, leaving out what is dated after it as the first stage reads (how
   * evaluatePatient runs: the single-date path the undated preparation is tested against). Default: any date.
   */
  asOf?: IsoDate;
}

export interface EvaluatePreparedOptions {
  /** The evaluation date, YYYY-MM-DD: data dated after it is ignored. */
  asOf: IsoDate;
  /** The rules it was prepared with (same version); default DEFAULT_RULES. */
  rules?: RuleSet;
  /** Include trends, therapy history and code matches (default true); needs a preparation with details. */
  details?: boolean;
  /** Include `facts` (vaccinations and lab results read) for the quality reports (default false). */
  facts?: boolean;
}

function encodeNumber(n: number): JsonNumber {
  return Number.isFinite(n) && !Object.is(n, -0) ? n : Object.is(n, -0) ? "-0" : String(n);
}

function decodeNumber(v: JsonNumber): number {
  return typeof v === "number" ? v : v === "-0" ? -0 : Number(v);
}

function encodeNullable(n: number | null): JsonNumber | null {
  return n === null ? null : encodeNumber(n);
}

function decodeNullable(v: JsonNumber | null): number | null {
  return v === null ? null : decodeNumber(v);
}

const HOW: readonly MatchHow[] = ["system-code", "site-mapping", "text"];

/**
 * A resource reference without its type ("Observation/o-1" -> "o-1"): the row says the type. One that does not
 * start so (never made by the first stage), or whose id starts with \u0001, is kept whole behind a \u0001.
 */
function shortRef(ref: string, type: string): string {
  const short = ref.charCodeAt(type.length) === 47 && ref.startsWith(type) ? ref.slice(type.length + 1) : null;
  return short === null || short.charCodeAt(0) === 1 ? `\u0001${ref}` : short;
}

function fullRef(short: string, type: string): string {
  return short.charCodeAt(0) === 1 ? short.slice(1) : `${type}/${short}`;
}

function encodeNotes(notes: readonly DataQualityNote[], gates: ReadonlyArray<number | null> | null): NoteRow[] {
  return notes.map((n, i) => [n.resource, n.issue, n.detail, gates?.[i] ?? null]);
}

/** The notes an evaluation at asOfDay would have made, as fresh objects. */
function notesAt(rows: readonly NoteRow[], asOfDay: number): DataQualityNote[] {
  const out: DataQualityNote[] = [];
  for (const [resource, issue, detail, gate] of rows) if (gate === null || gate <= asOfDay) out.push({ resource, issue, detail });
  return out;
}

function emptyPrepared(patientId: string, rules: RuleSet, details: boolean, asOf: IsoDate | null): PreparedPatient {
  const prepared: PreparedPatient = { v: PREPARED_VERSION, rv: rules.version, id: patientId, d: details ? 1 : 0, b: null, g: null, n: [], m: [], l: [], e: [], ru: [], vx: [], gn: [] };
  if (asOf !== null) prepared.at = asOf;
  return prepared;
}

function validAsOf(value: unknown): IsoDate {
  const asOf = calendarDate(value as string);
  if (!asOf) throw new Error(`asOf must be a valid YYYY-MM-DD date, got "${String(value)}"`);
  return asOf;
}

/** The first stage for one patient's bucket (buckets.ts). */
export function prepareBucket(
  bucket: PatientBucket, grouped: Pick<Buckets, "mappings" | "medications" | "panelDates">, rules: RuleSet, details: boolean, asOf: IsoDate | null = null,
): PreparedPatient {
  const prepared = emptyPrepared(bucket.patientId, rules, details, asOf);
  const notes: DataQualityNote[] = [];
  const gates: Array<number | null> = [];
  const matchLog: MatchEvent[] = [];
  const ctx: EvalContext = {
    asOf: asOf ?? "9999-12-31", asOfDay: asOf === null ? Number.POSITIVE_INFINITY : dayNumber(asOf), rules, mappings: grouped.mappings, notes, matches: new Map(), routeUnknown: [],
    collectMatches: details, gateDay: null, noteGates: gates, matchLog,
  };
  try {
    prepared.g = str(bucket.patient?.gender);
    prepared.b = str(bucket.patient?.birthDate);
    if (!bucket.patient) note(ctx, `Patient/${bucket.patientId}`, "no-patient-resource", "Resources refer to this patient but no Patient resource was given; age and sex rules cannot apply.");

    const { measurements, labs } = normalizeObservations(bucket.observations, ctx, grouped.panelDates);
    const events: MedicationEvent[] = [];
    for (let i = 0; i < bucket.medications.length; i++) {
      const { json, kind } = bucket.medications[i]!;
      const e = medicationEvent(json, kind, i, grouped.medications, ctx);
      if (e) events.push(e);
    }
    ctx.gateDay = null;
    const vaccines = readImmunizations(bucket.immunizations, ctx);
    let sessions: PhototherapySession[] = [];
    const procedureNotes: DataQualityNote[] = [];
    if (details) sessions = readProcedures(bucket.procedures, { ...ctx, notes: procedureNotes, noteGates: [], gateDay: null });

    prepared.n = encodeNotes(notes, gates);
    prepared.m = measurements.map((m) => {
      const flags = (m.valid ? 1 : 0) + (m.preliminary ? 2 : 0) + 4 * HOW.indexOf(m.how);
      const row: MeasurementRow = [m.measure, m.date, encodeNumber(m.value), shortRef(m.resource, "Observation"), flags];
      if (m.excludedReason !== undefined) row.push(m.excludedReason);
      return row;
    });
    prepared.l = labs.map((l) => [l.lab, l.date, encodeNullable(l.value), l.interpretation, encodeNullable(l.referenceHigh), shortRef(l.resource, "Observation"), l.unitProblem]);
    prepared.e = events.map((e) => [
      e.kind, shortRef(e.resource, e.kind), e.therapyClass, e.drug, e.name, e.route, e.start, e.end, encodeNumber(e.openCoveredUntilDay), encodeNullable(e.doseMg), encodeNullable(e.grams), encodeNullable(e.supplyDays),
    ]);
    prepared.ru = ctx.routeUnknown.map((r) => [r.resource, r.date]);
    prepared.vx = vaccines.map((v) => [shortRef(v.resource, "Immunization"), v.date, (v.zoster ? 1 : 0) + (v.live ? 2 : 0)]);
    if (details) {
      prepared.mt = matchLog;
      prepared.ph = sessions.map((s) => [s.resource, s.start, s.end]);
      prepared.pn = encodeNotes(procedureNotes, null);
    }
  } catch (error) {
    // Last line of defence, as in the evaluation: one malformed patient never stops the others.
    prepared.n = encodeNotes(notes, gates);
    prepared.err = error instanceof Error ? error.message : String(error);
  }
  return prepared;
}

/** The first stage: one patient's resources (optionally among others: `patientId` picks which) prepared for any asOf. */
export function preparePatient(resources: Iterable<InputItem>, opts: PrepareOptions = {}): PreparedPatient {
  const rules = opts.rules ?? DEFAULT_RULES;
  const details = opts.details ?? true;
  const asOf = opts.asOf === undefined ? null : validAsOf(opts.asOf);
  const grouped = bucketResources(resources, opts.codeMappings);
  let bucket: PatientBucket | undefined;
  if (opts.patientId) bucket = grouped.buckets.get(opts.patientId);
  else for (const b of grouped.buckets.values()) if (!bucket || b.patientId < bucket.patientId) bucket = b;
  let prepared: PreparedPatient;
  if (bucket) prepared = prepareBucket(bucket, grouped, rules, details, asOf);
  else prepared = { ...emptyPrepared(opts.patientId ?? "unknown", rules, details, asOf), none: 1 };
  prepared.gn = grouped.globalNotes.map((n) => [n.resource, n.issue, n.detail]);
  return prepared;
}

/** The AD JAK medication resources of a preparation (a course starts at one of them), for what callers read from them. */
export function preparedJakResources(prepared: PreparedPatient): string[] {
  return prepared.e.filter((e) => e[3] !== null).map((e) => fullRef(e[1], e[0]));
}

function measurementsAt(rows: readonly MeasurementRow[], asOfDay: number): Measurement[] {
  const out: Measurement[] = [];
  for (const r of rows) {
    const day = dayNumber(r[1]);
    if (day > asOfDay) continue;
    const flags = r[4];
    const m: Measurement = { measure: r[0], date: r[1], day, value: decodeNumber(r[2]), resource: fullRef(r[3], "Observation"), valid: (flags & 1) !== 0, preliminary: (flags & 2) !== 0, how: HOW[flags >> 2]! };
    if (r.length > 5) m.excludedReason = r[5];
    out.push(m);
  }
  return out;
}

function labsAt(rows: readonly LabRow[], asOfDay: number): LabResult[] {
  const out: LabResult[] = [];
  for (const r of rows) {
    const day = dayNumber(r[1]);
    if (day > asOfDay) continue;
    out.push({ lab: r[0], date: r[1], day, value: decodeNullable(r[2]), interpretation: r[3], referenceHigh: decodeNullable(r[4]), resource: fullRef(r[5], "Observation"), unitProblem: r[6] });
  }
  return out;
}

/** Medication events as of asOfDay: started by then; an end after it does not count yet. */
function eventsAt(rows: readonly EventRow[], asOfDay: number): MedicationEvent[] {
  const out: MedicationEvent[] = [];
  for (const r of rows) {
    const startDay = dayNumber(r[6]);
    if (startDay > asOfDay) continue;
    const openCoveredUntilDay = decodeNumber(r[8]);
    let end = r[7];
    if (end && dayNumber(end) > asOfDay) end = null;
    out.push({
      kind: r[0], resource: fullRef(r[1], r[0]), therapyClass: r[2], drug: r[3], name: r[4], route: r[5], start: r[6], startDay, end,
      coveredUntilDay: end ? dayNumber(end) : openCoveredUntilDay, doseMg: decodeNullable(r[9]), grams: decodeNullable(r[10]), supplyDays: decodeNullable(r[11]), openCoveredUntilDay,
    });
  }
  return out;
}

function vaccinesAt(rows: readonly VaccineRow[], asOfDay: number): VaccineEvent[] {
  const out: VaccineEvent[] = [];
  for (const [resource, date, kinds] of rows) {
    const day = dayNumber(date);
    if (day <= asOfDay) out.push({ resource: fullRef(resource, "Immunization"), date, day, zoster: (kinds & 1) !== 0, live: (kinds & 2) !== 0 });
  }
  return out;
}

/** The second stage: a preparation evaluated at asOf (equal to evaluatePatient of the resources it came from). */
export function evaluatePrepared(prepared: PreparedPatient, opts: EvaluatePreparedOptions): PatientEvaluation {
  const rules = opts.rules ?? DEFAULT_RULES;
  if (prepared.v !== PREPARED_VERSION) throw new Error(`prepared input of version ${String(prepared.v)} cannot be evaluated by version ${PREPARED_VERSION}`);
  if (prepared.rv !== rules.version) throw new Error(`prepared input of rules ${prepared.rv} cannot be evaluated with rules ${rules.version}`);
  const asOf = validAsOf(opts.asOf);
  if (prepared.at !== undefined && prepared.at !== asOf) throw new Error(`input prepared for ${prepared.at} cannot be evaluated at ${asOf}`);
  const details = opts.details ?? true;
  if (details && prepared.d !== 1 && prepared.none !== 1) throw new Error("prepared input without details cannot be evaluated with details");
  const evaluation: PatientEvaluation = prepared.none === 1
    ? { patientId: prepared.id, courses: [], flags: [], dataQuality: [] }
    : evaluateAt(prepared, dayNumber(asOf), rules, details, opts.facts ?? false);
  if (prepared.gn.length > 0) evaluation.dataQuality = [...evaluation.dataQuality, ...prepared.gn.map(([resource, issue, detail]) => ({ resource, issue, detail }))];
  return evaluation;
}

function engineError(patientId: string, notes: DataQualityNote[], message: string): PatientEvaluation {
  return { patientId, courses: [], flags: [], dataQuality: [...notes, { resource: `Patient/${patientId}`, issue: "engine-error", detail: message }] };
}

function evaluateAt(p: PreparedPatient, asOfDay: number, rules: RuleSet, details: boolean, facts: boolean): PatientEvaluation {
  const notes = notesAt(p.n, asOfDay);
  if (p.err !== undefined) return engineError(p.id, notes, p.err);
  try {
    return evaluateAtUnsafe(p, notes, asOfDay, rules, details, facts);
  } catch (error) {
    // Last line of defence: one malformed patient never stops the others.
    return engineError(p.id, notes, error instanceof Error ? error.message : String(error));
  }
}

function evaluateAtUnsafe(p: PreparedPatient, notes: DataQualityNote[], asOfDay: number, rules: RuleSet, details: boolean, facts: boolean): PatientEvaluation {
  const gender = p.g;
  const birthDate = p.b;
  const measurements = measurementsAt(p.m, asOfDay);
  const labs = labsAt(p.l, asOfDay);
  const validByMeasure = new Map<MeasureKey, Measurement[]>();
  for (const m of measurements) {
    if (!m.valid || m.excludedReason !== undefined) continue;
    let list = validByMeasure.get(m.measure);
    if (!list) validByMeasure.set(m.measure, (list = []));
    list.push(m);
  }
  for (const list of validByMeasure.values()) list.sort((a, b) => a.day - b.day);
  const series: SeriesByMeasure = {};
  for (const key of ["easi", "iga", "itch", "pain"] as const) {
    const s = validByMeasure.get(key);
    if (s) series[key] = s;
  }
  const labIndex = indexLabs(labs);
  const events = eventsAt(p.e, asOfDay);
  const courses = buildCourses(events, rules.courseGapDays);
  const vaccines = vaccinesAt(p.vx, asOfDay);

  const flags: Flag[] = [];
  const courseOutputs: CourseEvaluation[] = courses.map((course, index) => evaluateCourse(course, index, series, validByMeasure.get("bsa"), labIndex, vaccines, birthDate, gender, asOfDay, rules, flags));
  for (const [resource, date] of p.ru) if (dayNumber(date) <= asOfDay) flags.push(ruleFlag(rules, "data-quality.jak-route-unknown", { date }, { resource }));

  const evaluation: PatientEvaluation = {
    patientId: p.id,
    courses: courseOutputs,
    flags: sortFlags(dedupeFlags(flags)),
    dataQuality: notes,
  };
  if (details) {
    const lastCourse = courses[courses.length - 1];
    evaluation.trends = buildTrends(measurements, validByMeasure, lastCourse ? lastCourse.startDay : null, asOfDay, rules);
    notes.push(...notesAt(p.pn ?? [], asOfDay));
    const sessions: PhototherapySession[] = (p.ph ?? []).map(([resource, start, end]) => ({ resource, start, startDay: dayNumber(start), end }));
    evaluation.therapyHistory = buildTherapyHistory(events, courses, sessions, asOfDay, rules.courseGapDays);
    const tally = { collectMatches: true, matches: new Map() } satisfies Pick<EvalContext, "collectMatches" | "matches">;
    for (const [gate, resourceType, system, code, display, concept, how, noteText] of p.mt ?? []) {
      if (gate === null || gate <= asOfDay) tallyConcept(tally, resourceType, system, code, display, concept, how, noteText);
    }
    evaluation.codeMatches = [...tally.matches.values()].sort((a, b) => b.count - a.count || cmp(a.resourceType, b.resourceType) || cmp(a.system ?? "", b.system ?? "") || cmp(a.code ?? "", b.code ?? ""));
    evaluation.birthDate = birthDate;
    evaluation.gender = gender;
  }
  if (facts) {
    evaluation.facts = {
      zosterVaccinations: vaccines.filter((v) => v.zoster).map((v) => ({ resource: v.resource, date: v.date, live: v.live })),
      labResults: labs.map((l) => ({ resource: l.resource, lab: l.lab, date: l.date })),
    };
  }
  return evaluation;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function evaluateCourse(
  course: Course, index: number, series: SeriesByMeasure, bsa: Series | undefined, labIndex: ReturnType<typeof indexLabs>,
  vaccines: readonly VaccineEvent[], birthDate: string | null, gender: string | null, asOfDay: number, rules: RuleSet, flags: Flag[],
): CourseEvaluation {
  const drug = rules.drugs[course.drug];
  const span = { startDay: course.startDay, endDay: course.endDay };
  const baselines: Partial<Record<CheckpointMeasure, PickedValue | null>> = courseBaselines(series, span, asOfDay, rules);
  const checkpoints = [];
  for (const rule of drug.checkpoints) {
    const window = rules.checkpointWindows.find((w) => w.week === rule.week);
    if (!window) continue;
    const evaluation = evaluateCheckpoint(rule, window, span, series, baselines, asOfDay, rules);
    checkpoints.push(evaluation);
    if (evaluation.verdict === "not-responded") flags.push(checkpointFlag(rule, drug.label, index));
  }
  const abnormal = abnormalChecks(course, drug, asOfDay, rules);
  const labs = labChecklist({ course, drug, index: labIndex, asOfDay, rules, gender, birthDate, abnormal });
  flags.push(...labChecklistFlags(course, index, drug, labs, labIndex, asOfDay, rules));
  flags.push(...abnormalLabFlags(course, index, drug, labIndex, asOfDay, rules, abnormal));
  flags.push(...labUnitFlags(course, index, labIndex, asOfDay, rules));
  flags.push(...creamFlags(course, index, bsa, birthDate, asOfDay, rules));
  flags.push(...vaccinationFlags(course, index, drug, vaccines, asOfDay, rules));
  const ongoing = course.endDay === null;
  return {
    drug: course.drug,
    route: course.route,
    start: course.start,
    end: course.end,
    startSource: course.startSource,
    checkpoints,
    labs,
    doseChanges: course.doseChanges,
    doseMg: course.doseMg,
    sources: course.events.map((e) => e.resource),
    weekAtAsOf: ongoing ? Math.floor((asOfDay - course.startDay) / 7) : null,
  };
}

function dedupeFlags(flags: Flag[]): Flag[] {
  const seen = new Set<string>();
  const out: Flag[] = [];
  for (const f of flags) {
    const key = `${f.ruleId}|${f.resource ?? ""}|${f.course ?? ""}|${f.requirement ?? ""}|${f.week ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}
