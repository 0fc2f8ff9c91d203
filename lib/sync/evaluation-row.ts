/**
 * The engine's output for one synced patient, flattened into the panel's rows: one `evaluations` row with
 * denormalised filter columns, and the checkpoint, lab and flag rows of every course. Pure: no IO, no clock
 * (asOf is passed in).
 */
import type { Patient, Resource } from "@medplum/fhirtypes";
import { addDays, daysBetween } from "../clinical/dates";
import type { CheckpointEvaluation, CheckpointVerdict, CourseEvaluation, FlagKind, LabStatus, PatientEvaluation, Severity } from "../clinical/types";
import { displayName } from "../fhir/patient-view";
import { reportCaseRows, reportPatient, type ReportCaseRow, type ReportNoteRow } from "../reports/report-cases";

export interface EvaluationRow {
  source: string;
  patientId: string;
  asOf: string;
  rulesVersion: string;
  patientName: string | null;
  birthDate: string | null;
  sex: string | null;
  onJak: boolean;
  courseCount: number;
  courseIndex: number | null;
  drug: string | null;
  route: string | null;
  courseStart: string | null;
  courseEnd: string | null;
  courseWeek: number | null;
  prescriber: string | null;
  latestCheckpointWeek: number | null;
  latestVerdict: CheckpointVerdict | null;
  nextDueDate: string | null;
  nextDueKind: string | null;
  /** Target date of the current course's next undecided checkpoint (not due or open, target on or after asOf). */
  nextCheckpointDate: string | null;
  flagsCritical: number;
  flagsWarning: number;
  flagsInfo: number;
  maxSeverity: Severity | null;
  flagKinds: FlagKind[];
  flagCounts: Partial<Record<FlagKind, number>>;
  labsMissing: number;
  labsOverdue: number;
  labsDue: number;
  labsAbnormal: number;
  dataQualityCount: number;
  result: PatientEvaluation;
}

export interface CheckpointRow {
  source: string;
  patientId: string;
  courseIndex: number;
  week: number;
  drug: string;
  route: string;
  courseStart: string;
  windowStart: string;
  windowEnd: string;
  /** The window opens after the course ended (the engine says not assessable): not a response failure. */
  afterCourseEnd: boolean;
  verdict: CheckpointVerdict;
  easiStatus: string | null;
  easiBaseline: number | null;
  easiValue: number | null;
  easiPercent: number | null;
  easiBand: string | null;
  igaCriterion: string | null;
  igaStatus: string | null;
  igaBaseline: number | null;
  igaValue: number | null;
  itchStatus: string | null;
  itchBaseline: number | null;
  itchValue: number | null;
  painStatus: string | null;
  painBaseline: number | null;
  painValue: number | null;
}

export interface LabRow {
  source: string;
  patientId: string;
  courseIndex: number;
  requirement: string;
  drug: string;
  status: LabStatus;
  dueBy: string;
  doneOn: string | null;
}

export interface FlagRow {
  source: string;
  patientId: string;
  seq: number;
  ruleId: string;
  kind: FlagKind;
  severity: Severity;
  message: string;
  ruleSource: string;
  resource: string | null;
  courseIndex: number | null;
  requirement: string | null;
  week: number | null;
}

export interface EvaluationRows {
  evaluation: EvaluationRow;
  checkpoints: CheckpointRow[];
  labs: LabRow[];
  flags: FlagRow[];
  /** The patient's cases of every quality measure (lib/reports), and what they could not count. */
  reportCases: ReportCaseRow[];
  reportNotes: ReportNoteRow[];
}

/**
 * What the rows read from a patient's resources besides the engine's output, kept with its prepared input
 * (lib/clinical/prepare.ts) so a re-evaluation from the prepared input needs no resources: the display fields of
 * its Patient and the prescriber of each AD JAK medication resource a course can start at.
 */
export interface PatientRowFacts {
  patientName: string | null;
  birthDate: string | null;
  sex: string | null;
  /** [resource ("Type/id"), prescriber] for the resources that have one. */
  prescribers: Array<[string, string]>;
}

export type EvaluationRowContext = {
  source: string;
  /** YYYY-MM-DD the evaluation was made for. */
  asOf: string;
  rulesVersion: string;
} & (
  | {
      patient: Patient | null;
      /** The patient's resources as evaluated (the prescriber is read from the course's start resource). */
      resources: readonly Resource[];
    }
  | { facts: PatientRowFacts }
);

const DECIDED: ReadonlySet<CheckpointVerdict> = new Set(["responded", "not-responded", "not-assessable"]);
const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

/** The patient's own Patient resource among its resources, or null. */
export function findPatient(resources: readonly Resource[], patientId: string): Patient | null {
  for (const r of resources) if (r.resourceType === "Patient" && r.id === patientId) return r;
  return null;
}

/** A course has not ended at asOf when it has no end, or ends on or after asOf. */
function ongoingAt(course: CourseEvaluation, asOf: string): boolean {
  return course.end === null || course.end >= asOf;
}

function courseWeekAt(course: CourseEvaluation, asOf: string): number | null {
  if (!ongoingAt(course, asOf)) return null;
  if (typeof course.weekAtAsOf === "number") return course.weekAtAsOf;
  const days = daysBetween(course.start, asOf);
  return days >= 0 ? Math.floor(days / 7) : null;
}

/**
 * The latest checkpoint with a decided verdict. A checkpoint whose window opened only after the course had
 * ended is left out: its "not-assessable" says nothing about how the patient did on the drug.
 */
function latestDecidedCheckpoint(course: CourseEvaluation): CheckpointEvaluation | null {
  let latest: CheckpointEvaluation | null = null;
  for (const c of course.checkpoints) {
    if (!DECIDED.has(c.verdict)) continue;
    if (opensAfterCourseEnd(course, c)) continue;
    if (!latest || c.week > latest.week) latest = c;
  }
  return latest;
}

/** The engine's rule for a window the course never reached: it opens after the course's last day. */
function opensAfterCourseEnd(course: CourseEvaluation, c: CheckpointEvaluation): boolean {
  return course.end !== null && c.windowStart > course.end;
}

/** A checkpoint's target date: the engine's, else start + 7 x week (the rules' target day). */
function targetOf(course: CourseEvaluation, c: CheckpointEvaluation): string {
  return c.targetDate ?? addDays(course.start, c.week * 7);
}

/** The earliest target on or after asOf among the course's undecided (not due or open) checkpoints. */
function nextCheckpointTarget(course: CourseEvaluation, asOf: string): string | null {
  let next: string | null = null;
  for (const c of course.checkpoints) {
    if (c.verdict !== "open" && c.verdict !== "not-due") continue;
    const target = targetOf(course, c);
    if (target >= asOf && (next === null || target < next)) next = target;
  }
  return next;
}

/** The earliest date on or after asOf: an undecided checkpoint's target or a due / not-yet-due lab. */
function nextDue(course: CourseEvaluation, asOf: string): { date: string; kind: string } | null {
  const candidates: Array<{ date: string; kind: string }> = [];
  for (const c of course.checkpoints) {
    if (c.verdict === "open" || c.verdict === "not-due") candidates.push({ date: targetOf(course, c), kind: `checkpoint:${c.week}` });
  }
  for (const lab of course.labs) {
    if (lab.status === "due" || lab.status === "not-due") candidates.push({ date: lab.dueBy, kind: `lab:${lab.requirement}` });
  }
  let best: { date: string; kind: string } | null = null;
  for (const c of candidates) {
    if (c.date < asOf) continue;
    if (!best || c.date < best.date || (c.date === best.date && c.kind < best.kind)) best = c;
  }
  return best;
}

interface ReferenceLike {
  reference?: string;
  display?: string;
  identifier?: { value?: string };
}

/** How a prescriber's resource type reads before its id when there is no display. */
const PRESCRIBER_TYPES: Record<string, string> = { Practitioner: "Practitioner", PractitionerRole: "Practitioner role", Organization: "Organization" };
/** Who can be a statement's informationSource without being its prescriber. */
const NOT_PRESCRIBERS = new Set(["Patient", "RelatedPerson"]);

/** The type and id a reference names: "Type/id", an absolute URL ending so (with or without _history), or "#id". */
function referenceTarget(reference: string): { type: string | null; id: string } | null {
  if (reference.startsWith("#")) return reference.length > 1 ? { type: null, id: reference.slice(1) } : null;
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return m ? { type: m[1]!, id: m[2]! } : null;
}

/** Text of an EHR field that should be a string; anything else (wrong JSON type) reads as none. */
function str(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

/** A contained prescriber's name ("#pr1" in the start resource's contained list). */
function containedName(contained: unknown, id: string): string | null {
  const target = (Array.isArray(contained) ? (contained as unknown[]) : []).find((r): r is Resource => typeof r === "object" && r !== null && (r as Resource).id === id);
  if (target?.resourceType === "Practitioner") return displayName({ resourceType: "Patient", name: target.name });
  if (target?.resourceType === "Organization") return str(target.name) || null;
  return null;
}

/**
 * A prescriber a person can read: the reference's display; else a contained resource's name; else the
 * referenced id after its type ("Practitioner pr-derm-1") rather than "Practitioner/pr-derm-1"; else a logical
 * identifier's value, else the reference as written. A patient or relative as a statement's information
 * source is no prescriber. The worklist filters on this text, so it is what the filter's choices list.
 */
function prescriberText(ref: ReferenceLike | undefined, contained: unknown): string | null {
  if (typeof ref !== "object" || ref === null) return null;
  const reference = str(ref.reference);
  const target = reference ? referenceTarget(reference) : null;
  if (target?.type && NOT_PRESCRIBERS.has(target.type)) return null;
  const display = str(ref.display);
  if (display) return display;
  if (target && target.type === null) return containedName(contained, target.id) ?? target.id;
  if (target) return `${PRESCRIBER_TYPES[target.type!] ?? target.type} ${target.id}`;
  const identifier: unknown = ref.identifier;
  return (typeof identifier === "object" && identifier !== null ? str((identifier as { value?: unknown }).value) : "") || reference || null;
}

/** Who prescribed the course: the start resource's requester (or informationSource), readable. */
function prescriberOf(course: CourseEvaluation, resources: readonly Resource[]): string | null {
  const slash = course.startSource.indexOf("/");
  if (slash <= 0) return null;
  const type = course.startSource.slice(0, slash);
  const id = course.startSource.slice(slash + 1);
  return prescriberOfStart(resources.find((r) => r.resourceType === type && r.id === id));
}

/** The prescriber a course's start resource names. */
function prescriberOfStart(start: Resource | undefined): string | null {
  if (!start) return null;
  if (start.resourceType === "MedicationRequest") return prescriberText(start.requester, start.contained);
  if (start.resourceType === "MedicationStatement") return prescriberText(start.informationSource, start.contained);
  return null;
}

/** When a done requirement was completed: the latest date among the results that satisfied it. */
function doneOn(lab: CourseEvaluation["labs"][number]): string | null {
  if (lab.status !== "done" || !lab.results || !lab.satisfiedBy) return null;
  const satisfying = new Set(lab.satisfiedBy);
  let date: string | null = null;
  for (const r of lab.results) if (satisfying.has(r.resource) && (date === null || r.date > date)) date = r.date;
  return date;
}

function checkpointRow(source: string, patientId: string, courseIndex: number, course: CourseEvaluation, c: CheckpointEvaluation): CheckpointRow {
  const { easi, iga, itch, pain } = c.measures;
  return {
    source,
    patientId,
    courseIndex,
    week: c.week,
    drug: course.drug,
    route: course.route,
    courseStart: course.start,
    windowStart: c.windowStart,
    windowEnd: c.windowEnd,
    afterCourseEnd: opensAfterCourseEnd(course, c),
    verdict: c.verdict,
    easiStatus: easi?.status ?? null,
    easiBaseline: easi?.baseline ?? null,
    easiValue: easi?.value ?? null,
    easiPercent: easi?.percentImprovement ?? null,
    easiBand: easi?.band ?? null,
    igaCriterion: iga?.criterion ?? null,
    igaStatus: iga?.status ?? null,
    igaBaseline: iga?.baseline ?? null,
    igaValue: iga?.value ?? null,
    itchStatus: itch?.status ?? null,
    itchBaseline: itch?.baseline ?? null,
    itchValue: itch?.value ?? null,
    painStatus: pain?.status ?? null,
    painBaseline: pain?.baseline ?? null,
    painValue: pain?.value ?? null,
  };
}

/** The row facts of a patient's resources; `courseStarts` = every resource a course can start at (preparedJakResources). */
export function patientRowFacts(patient: Patient | null, resources: readonly Resource[], courseStarts: readonly string[]): PatientRowFacts {
  // prescriberOf's lookup (the first resource of that type and id), indexed once: a patient can have hundreds of orders.
  const starts = new Map<string, Resource>();
  for (const r of resources) {
    if ((r.resourceType !== "MedicationRequest" && r.resourceType !== "MedicationStatement") || typeof r.id !== "string") continue;
    const key = `${r.resourceType}/${r.id}`;
    if (!starts.has(key)) starts.set(key, r);
  }
  const prescribers: Array<[string, string]> = [];
  for (const startSource of new Set(courseStarts)) {
    const prescriber = startSource.indexOf("/") > 0 ? prescriberOfStart(starts.get(startSource)) : null;
    if (prescriber !== null) prescribers.push([startSource, prescriber]);
  }
  return {
    patientName: displayName(patient),
    // Text columns: a birth date or gender of another JSON type from the EHR is stored as unknown.
    birthDate: typeof patient?.birthDate === "string" ? patient.birthDate : null,
    sex: typeof patient?.gender === "string" ? patient.gender : null,
    prescribers,
  };
}

/** The prescriber of each course (by course index), as the panel and the reports show it. */
export function coursePrescribers(evaluation: PatientEvaluation, resources: readonly Resource[]): Array<string | null> {
  return evaluation.courses.map((course) => prescriberOf(course, resources));
}

export function evaluationRows(evaluation: PatientEvaluation, context: EvaluationRowContext): EvaluationRows {
  const { source, asOf } = context;
  const patientId = evaluation.patientId;
  const courses = evaluation.courses;
  const courseIndex = courses.length > 0 ? courses.length - 1 : null;
  const latest = courseIndex === null ? null : courses[courseIndex]!;

  const checkpoints: CheckpointRow[] = [];
  const labs: LabRow[] = [];
  courses.forEach((course, index) => {
    for (const c of course.checkpoints) checkpoints.push(checkpointRow(source, patientId, index, course, c));
    for (const lab of course.labs) {
      labs.push({ source, patientId, courseIndex: index, requirement: lab.requirement, drug: course.drug, status: lab.status, dueBy: lab.dueBy, doneOn: doneOn(lab) });
    }
  });

  const severityCounts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  const flagCounts: Partial<Record<FlagKind, number>> = {};
  let maxSeverity: Severity | null = null;
  let labsAbnormal = 0;
  const flags: FlagRow[] = [];
  for (const [seq, f] of evaluation.flags.entries()) {
    severityCounts[f.severity]++;
    flagCounts[f.kind] = (flagCounts[f.kind] ?? 0) + 1;
    if (maxSeverity === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[maxSeverity]) maxSeverity = f.severity;
    if (f.kind === "abnormal-lab" && f.course === courseIndex) labsAbnormal++;
    flags.push({
      source,
      patientId,
      seq,
      ruleId: f.ruleId,
      kind: f.kind,
      severity: f.severity,
      message: f.message,
      ruleSource: f.source,
      resource: f.resource ?? null,
      courseIndex: f.course ?? null,
      requirement: f.requirement ?? null,
      week: f.week ?? null,
    });
  }

  // Lab counts describe the latest course: an ended course's gaps are history, not a worklist item.
  const latestLabs = latest?.labs ?? [];
  const countLabs = (status: LabStatus) => latestLabs.filter((l) => l.status === status).length;
  const onJak = latest !== null && ongoingAt(latest, asOf);
  const checkpoint = latest ? latestDecidedCheckpoint(latest) : null;
  const due = latest && onJak ? nextDue(latest, asOf) : null;
  let display: Omit<PatientRowFacts, "prescribers">;
  let prescribers: Array<string | null>;
  if ("facts" in context) {
    display = context.facts;
    const byResource = new Map(context.facts.prescribers);
    prescribers = courses.map((course) => byResource.get(course.startSource) ?? null);
  } else {
    display = patientRowFacts(context.patient, [], []);
    prescribers = coursePrescribers(evaluation, context.resources);
  }
  const report = reportCaseRows(reportPatient(source, asOf, evaluation, prescribers));
  // The facts feed the report cases; the stored result stays the engine's output contract.
  const { facts: _facts, ...result } = evaluation;

  return {
    evaluation: {
      source,
      patientId,
      asOf,
      rulesVersion: context.rulesVersion,
      patientName: display.patientName,
      birthDate: display.birthDate,
      sex: display.sex,
      onJak,
      courseCount: courses.length,
      courseIndex,
      drug: latest?.drug ?? null,
      route: latest?.route ?? null,
      courseStart: latest?.start ?? null,
      courseEnd: latest?.end ?? null,
      courseWeek: latest ? courseWeekAt(latest, asOf) : null,
      prescriber: courseIndex === null ? null : prescribers[courseIndex]!,
      latestCheckpointWeek: checkpoint?.week ?? null,
      latestVerdict: checkpoint?.verdict ?? null,
      nextDueDate: due?.date ?? null,
      nextDueKind: due?.kind ?? null,
      nextCheckpointDate: latest && onJak ? nextCheckpointTarget(latest, asOf) : null,
      flagsCritical: severityCounts.critical,
      flagsWarning: severityCounts.warning,
      flagsInfo: severityCounts.info,
      maxSeverity,
      flagKinds: (Object.keys(flagCounts) as FlagKind[]).sort(),
      flagCounts,
      labsMissing: countLabs("missing"),
      labsOverdue: countLabs("overdue"),
      labsDue: countLabs("due"),
      labsAbnormal,
      dataQualityCount: evaluation.dataQuality.length,
      result,
    },
    checkpoints,
    labs,
    flags,
    reportCases: report.cases,
    reportNotes: report.notes,
  };
}
