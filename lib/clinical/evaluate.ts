/**
 * The engine's entry points: evaluateResources (any mix of resources and Bundles, grouped by patient)
 * and evaluatePatient. An evaluation is a pure function of (resources, asOf, rules, code mappings).
 */
import type { Resource } from "@medplum/fhirtypes";
import { abnormalChecks } from "./abnormal";
import type { PickedValue, Series } from "./baseline";
import { evaluateCheckpoint, courseBaselines, type SeriesByMeasure } from "./checkpoints";
import { indexMappings, type MappingIndex } from "./codes";
import type { EvalContext } from "./context";
import { buildCourses, buildTherapyHistory, medicationEvent, type Course, type MedicationEvent, type MedicationKind } from "./courses";
import { calendarDate, dayNumber } from "./dates";
import { checkpointFlag, ruleFlag, sortFlags } from "./flags";
import { arr, rec, str, type Json } from "./json";
import { indexLabs, labChecklist } from "./labs";
import { normalizeObservations, type Measurement } from "./normalize";
import { DEFAULT_RULES, type RuleSet } from "./rules";
import { abnormalLabFlags, creamFlags, labChecklistFlags, labUnitFlags, vaccinationFlags } from "./safety";
import { buildTrends } from "./trends";
import type { CheckpointMeasure, CodeMapping, CourseEvaluation, DataQualityNote, EngineOutput, Flag, IsoDate, MeasureKey, PatientEvaluation } from "./types";
import { readImmunizations } from "./vaccination";

export interface EvaluateOptions {
  /** The evaluation date, YYYY-MM-DD: data dated after it is ignored. */
  asOf: IsoDate;
  rules?: RuleSet;
  codeMappings?: CodeMapping[];
  /** Include trends, therapy history and code matches (default true). The panel can skip them. */
  details?: boolean;
  /** Include `facts` (vaccinations and lab results read) for the quality reports (default false). */
  facts?: boolean;
}

/** A resource as read from input: anything, possibly malformed. */
export type InputItem = Resource | Record<string, unknown> | unknown;

interface PatientBucket {
  patientId: string;
  patient: Json | null;
  observations: Json[];
  medications: Array<{ json: Json; kind: MedicationKind }>;
  immunizations: Json[];
  procedures: Json[];
}

const MED_KINDS = new Set(["MedicationStatement", "MedicationRequest", "MedicationDispense"]);
/** Resource types the engine reads per patient; others (Claim, Encounter, ...) are passed over silently. */
const PATIENT_TYPES = new Set(["Observation", "MedicationStatement", "MedicationRequest", "MedicationDispense", "Immunization", "Procedure"]);

interface Collected {
  json: Json;
  type: string;
  fullUrl: string | null;
  position: number;
}

/** How a resource is named in notes: Type/id, else its fullUrl, else its place in the input. */
function labelOf(c: Collected): string {
  const id = str(c.json.id);
  return id ? `${c.type}/${id}` : (c.fullUrl ?? `${c.type}/#${c.position}`);
}

/** Flattens Bundles (transaction, collection, searchset) and checks every item has a resourceType. */
function collect(input: Iterable<InputItem>, notes: DataQualityNote[]): Collected[] {
  const out: Collected[] = [];
  let position = 0;
  const visit = (item: unknown, fullUrl: string | null, depth: number) => {
    position++;
    const json = rec(item);
    if (!json) {
      notes.push({ resource: `input/#${position}`, issue: "not-a-resource", detail: "Item is not a JSON object." });
      return;
    }
    const type = str(json.resourceType);
    if (!type) {
      notes.push({ resource: str(json.id) ? `unknown/${str(json.id)}` : `input/#${position}`, issue: "no-resource-type", detail: "Item has no resourceType." });
      return;
    }
    if (type === "Bundle" && depth < 3) {
      for (const entry of arr(json.entry)) {
        const e = rec(entry);
        if (!e) continue;
        if (e.resource === undefined) continue;
        visit(e.resource, str(e.fullUrl), depth + 1);
      }
      return;
    }
    out.push({ json, type, fullUrl, position });
  };
  for (const item of input) visit(item, null, 0);
  return out;
}

/** Resolves a reference to "Type/id" through fullUrl aliases, relative and absolute URLs. */
function resolveReference(reference: string, aliases: ReadonlyMap<string, string>): string | null {
  const aliased = aliases.get(reference);
  if (aliased) return aliased;
  if (reference.startsWith("urn:") || reference.startsWith("#")) return null;
  let ref = reference;
  const history = ref.indexOf("/_history/");
  if (history >= 0) ref = ref.slice(0, history);
  const slash = ref.lastIndexOf("/");
  if (slash <= 0) return null;
  const prev = ref.lastIndexOf("/", slash - 1);
  return ref.slice(prev + 1);
}

function subjectOf(c: Collected): unknown {
  return c.type === "Immunization" ? c.json.patient : c.json.subject;
}

export function evaluateResources(resources: Iterable<InputItem>, opts: EvaluateOptions): EngineOutput {
  const rules = opts.rules ?? DEFAULT_RULES;
  const asOf = calendarDate(opts.asOf);
  if (!asOf) throw new Error(`asOf must be a valid YYYY-MM-DD date, got "${String(opts.asOf)}"`);
  const globalNotes: DataQualityNote[] = [];
  const collected = collect(resources, globalNotes);
  const mappings = indexMappings(opts.codeMappings);

  // Index once: fullUrl and relative aliases, Medications, Patients.
  const aliases = new Map<string, string>();
  const medications = new Map<string, Json>();
  const buckets = new Map<string, PatientBucket>();
  const bucketFor = (patientId: string): PatientBucket => {
    let b = buckets.get(patientId);
    if (!b) buckets.set(patientId, (b = { patientId, patient: null, observations: [], medications: [], immunizations: [], procedures: [] }));
    return b;
  };
  for (const c of collected) {
    const id = str(c.json.id);
    if (id && c.fullUrl) aliases.set(c.fullUrl, `${c.type}/${id}`);
    if (c.type === "Medication") {
      if (id) medications.set(`Medication/${id}`, c.json);
      if (c.fullUrl) medications.set(c.fullUrl, c.json);
    } else if (c.type === "Patient") {
      const patientId = id ?? c.fullUrl;
      if (!patientId) {
        globalNotes.push({ resource: labelOf(c), issue: "no-id", detail: "Patient has no id and no fullUrl." });
        continue;
      }
      if (!id && c.fullUrl) aliases.set(c.fullUrl, `Patient/${patientId}`);
      bucketFor(patientId).patient = c.json;
    }
  }

  const orphans = new Map<string, Json>();
  const panels: Array<[Json, PatientBucket]> = [];
  for (const c of collected) {
    if (!PATIENT_TYPES.has(c.type)) continue;
    const subject = rec(subjectOf(c));
    const reference = str(subject?.reference);
    const resolved = reference ? resolveReference(reference, aliases) : null;
    if (!resolved || !resolved.startsWith("Patient/") || resolved.length <= 8) {
      if (c.type === "Observation" && !subject) {
        orphans.set(labelOf(c), c.json); // may be a panel member that inherits the panel's subject
        continue;
      }
      globalNotes.push({
        resource: labelOf(c),
        issue: subject ? "unresolved-subject" : "no-subject",
        detail: subject ? `Subject reference "${reference ?? "(none)"}" does not resolve to a Patient.` : `${c.type} has no ${c.type === "Immunization" ? "patient" : "subject"}.`,
      });
      continue;
    }
    const bucket = bucketFor(resolved.slice(8));
    if (c.type === "Observation") {
      bucket.observations.push(c.json);
      if (Array.isArray(c.json.hasMember) && c.json.hasMember.length > 0) panels.push([c.json, bucket]);
    } else if (MED_KINDS.has(c.type)) bucket.medications.push({ json: c.json, kind: c.type as MedicationKind });
    else if (c.type === "Immunization") bucket.immunizations.push(c.json);
    else bucket.procedures.push(c.json);
  }

  // Panels: members without a subject or a date take the panel's.
  const panelDates = new Map<Json, string>();
  for (const [panel, bucket] of panels) {
    const members = arr(panel.hasMember);
    const panelDate = str(panel.effectiveDateTime) ?? str(rec(panel.effectivePeriod)?.start) ?? str(panel.issued);
    for (const m of members) {
      const reference = str(rec(m)?.reference);
      if (!reference) continue;
      const resolved = aliases.get(reference) ?? resolveReference(reference, aliases) ?? reference;
      const member = orphans.get(resolved) ?? orphans.get(reference);
      if (member) {
        orphans.delete(resolved);
        orphans.delete(reference);
        bucket.observations.push(member);
        if (panelDate) panelDates.set(member, panelDate);
      }
    }
  }
  for (const label of orphans.keys()) globalNotes.push({ resource: label, issue: "no-subject", detail: "Observation has no subject and is not a member of a patient's panel." });

  const asOfDay = dayNumber(asOf);
  const patients: PatientEvaluation[] = [];
  for (const bucket of buckets.values()) {
    patients.push(evaluateBucket(bucket, { asOf, asOfDay, rules, mappings, medications, panelDates, details: opts.details ?? true, facts: opts.facts ?? false }));
  }
  patients.sort((a, b) => (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0));
  const output: EngineOutput = { asOf, rulesVersion: rules.version, patients };
  if (globalNotes.length > 0) output.dataQuality = globalNotes;
  return output;
}

/** Evaluates one patient's resources (optionally among others: `patientId` picks which). */
export function evaluatePatient(resources: Iterable<InputItem>, opts: EvaluateOptions & { patientId?: string }): PatientEvaluation {
  const output = evaluateResources(resources, opts);
  const chosen = opts.patientId ? output.patients.find((p) => p.patientId === opts.patientId) : output.patients[0];
  const evaluation = chosen ?? { patientId: opts.patientId ?? "unknown", courses: [], flags: [], dataQuality: [] };
  if (output.dataQuality && output.dataQuality.length > 0) evaluation.dataQuality = [...evaluation.dataQuality, ...output.dataQuality];
  return evaluation;
}

interface BucketOptions {
  asOf: IsoDate;
  asOfDay: number;
  rules: RuleSet;
  mappings: MappingIndex;
  medications: ReadonlyMap<string, Json>;
  panelDates: ReadonlyMap<Json, string>;
  details: boolean;
  facts: boolean;
}

function evaluateBucket(bucket: PatientBucket, o: BucketOptions): PatientEvaluation {
  const ctx: EvalContext = { asOf: o.asOf, asOfDay: o.asOfDay, rules: o.rules, mappings: o.mappings, notes: [], matches: new Map(), routeUnknown: [], collectMatches: o.details };
  try {
    return evaluateBucketUnsafe(bucket, ctx, o);
  } catch (error) {
    // Last line of defence: one malformed patient never stops the others.
    return {
      patientId: bucket.patientId,
      courses: [],
      flags: [],
      dataQuality: [...ctx.notes, { resource: `Patient/${bucket.patientId}`, issue: "engine-error", detail: error instanceof Error ? error.message : String(error) }],
    };
  }
}

function evaluateBucketUnsafe(bucket: PatientBucket, ctx: EvalContext, o: BucketOptions): PatientEvaluation {
  const { rules, asOfDay } = o;
  const gender = str(bucket.patient?.gender);
  const birthDate = str(bucket.patient?.birthDate);
  if (!bucket.patient) ctx.notes.push({ resource: `Patient/${bucket.patientId}`, issue: "no-patient-resource", detail: "Resources refer to this patient but no Patient resource was given; age and sex rules cannot apply." });

  const { measurements, labs } = normalizeObservations(bucket.observations, ctx, o.panelDates);
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

  const events: MedicationEvent[] = [];
  for (let i = 0; i < bucket.medications.length; i++) {
    const { json, kind } = bucket.medications[i]!;
    const e = medicationEvent(json, kind, i, o.medications, ctx);
    if (e) events.push(e);
  }
  const courses = buildCourses(events, rules.courseGapDays);
  const vaccines = readImmunizations(bucket.immunizations, ctx);

  const flags: Flag[] = [];
  const courseOutputs: CourseEvaluation[] = courses.map((course, index) => evaluateCourse(course, index, series, validByMeasure.get("bsa"), labIndex, vaccines, birthDate, gender, asOfDay, rules, flags));
  for (const r of ctx.routeUnknown) flags.push(ruleFlag(rules, "data-quality.jak-route-unknown", { date: r.date }, { resource: r.resource }));

  const evaluation: PatientEvaluation = {
    patientId: bucket.patientId,
    courses: courseOutputs,
    flags: sortFlags(dedupeFlags(flags)),
    dataQuality: ctx.notes,
  };
  if (o.details) {
    const lastCourse = courses[courses.length - 1];
    evaluation.trends = buildTrends(measurements, validByMeasure, lastCourse ? lastCourse.startDay : null, asOfDay, rules);
    evaluation.therapyHistory = buildTherapyHistory(events, courses, bucket.procedures, ctx, rules.courseGapDays);
    evaluation.codeMatches = [...ctx.matches.values()].sort((a, b) => b.count - a.count || cmp(a.resourceType, b.resourceType) || cmp(a.system ?? "", b.system ?? "") || cmp(a.code ?? "", b.code ?? ""));
    evaluation.birthDate = birthDate;
    evaluation.gender = gender;
  }
  if (o.facts) {
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
  vaccines: ReturnType<typeof readImmunizations>, birthDate: string | null, gender: string | null, asOfDay: number, rules: RuleSet, flags: Flag[],
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
