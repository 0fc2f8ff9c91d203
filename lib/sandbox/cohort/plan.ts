/**
 * A patient's plan: the clean, intended facts (days, values, labs, courses) the generator decides first.
 * Rendering turns a plan into FHIR (with representation variety); the oracle derives expectations from it.
 */
import type { JakDrug, OtherTherapy } from "./codes";

export type MeasureKey = "itch" | "pain" | "easi" | "iga" | "bsa" | "dlqi" | "poem" | "sleep";

export interface ScoreEvent {
  day: number;
  measure: MeasureKey;
  value: number;
  source: "clinic" | "diary";
  /** app CodeSystem, site-local code with text, or (pain only) generic LOINC 72514-3 with "skin" in the text. */
  coding: "app" | "local" | "loinc-pain";
  valueForm: "quantity" | "integer" | "string" | "coded";
  status: "final" | "amended" | "corrected";
  /** When set, an entered-in-error duplicate with this (wrong) value is written beside the real one. */
  enteredInErrorValue?: number;
  /** Written as value x 10 (a typing slip past the instrument's range) that the engine must reject. */
  outOfRangeTypo?: boolean;
  minuteOfDay: number;
}

export type LabKind = "cbc" | "liver" | "lipids" | "tb-screen" | "hbv-screen" | "hcv-screen" | "pregnancy";

export interface LabEvent {
  day: number;
  kind: LabKind;
  minuteOfDay: number;
  /** "si" writes 10*9/L, g/L and mmol/L variants. */
  units: "us" | "si";
  /** An absolute neutrophil count below 1.0 x10*3/uL (abnormal-lab, critical). */
  lowNeutrophils?: boolean;
  /** Also write the CBC panel Observation with hasMember references. */
  withPanel?: boolean;
  enteredInErrorDuplicate?: boolean;
}

export interface DosePeriod {
  startDay: number;
  /** Last day on this dose; null while ongoing. */
  endDay: number | null;
  strength: string;
}

export type MedRepresentation =
  | "statement-codeable"
  | "statement-local"
  | "statement-contained"
  | "request-bounds"
  | "request-authored"
  | "request-display";

export interface CoursePlan {
  drug: JakDrug;
  /** Consecutive dose periods of one course (a dose change is not a new course). */
  doses: DosePeriod[];
  representation: MedRepresentation;
  /** Grams per fill and fill interval for the cream (dispenseRequest). */
  creamGrams?: number;
  creamSupplyDays?: number;
  /** Days a pharmacy handed the drug over (MedicationDispense), all within the course. */
  dispenseDays?: number[];
}

export interface OtherTherapyPlan {
  therapy: OtherTherapy;
  startDay: number;
  endDay: number | null;
  resource: "statement" | "request";
}

/** Records an engine must not count as a JAK course (not-taken statement, proposal request). */
export interface TrapPlan {
  drug: JakDrug;
  kind: "not-taken" | "proposal";
  day: number;
}

export interface VaccinationPlan {
  day: number;
  vaccine: "zosterRecombinant" | "zosterLive" | "influenza" | "covid";
}

export interface PatientPlan {
  index: number;
  patientId: string;
  archetype: string;
  sex: "male" | "female";
  birthDay: number;
  /** UTC offset written on every date-time of this patient, e.g. "-05:00". */
  offset: string;
  given: string;
  family: string;
  adOnsetDay: number;
  practitionerId: string;
  courses: CoursePlan[];
  otherTherapies: OtherTherapyPlan[];
  scores: ScoreEvent[];
  labs: LabEvent[];
  vaccinations: VaccinationPlan[];
  traps: TrapPlan[];
  /** How a clinic groups one visit's scores: separate Observations (default), one Observation with
   * components, or separate Observations plus a panel listing them in hasMember. */
  visitPanels?: "components" | "hasMember";
}

/** Who the patient is; events (courses, scores, labs, ...) are added to the plan afterwards. */
export type PatientIdentity = Omit<PatientPlan, "courses" | "otherTherapies" | "scores" | "labs" | "vaccinations" | "traps" | "visitPanels">;

/** A plan with its identity and no events yet. */
export function newPatientPlan(identity: PatientIdentity): PatientPlan {
  return { ...identity, courses: [], otherTherapies: [], scores: [], labs: [], vaccinations: [], traps: [] };
}

export function courseStart(course: CoursePlan): number {
  const first = course.doses[0];
  if (!first) throw new Error("course without doses");
  return first.startDay;
}

export function courseEnd(course: CoursePlan): number | null {
  const last = course.doses[course.doses.length - 1];
  if (!last) throw new Error("course without doses");
  return last.endDay;
}

/** One valid value per measure and day: the diary entry yields to the clinic one (no same-day ties). */
export function normalizeScores(scores: ScoreEvent[]): ScoreEvent[] {
  const byKey = new Map<string, ScoreEvent>();
  for (const score of scores) {
    const key = `${score.measure}:${score.day}`;
    const existing = byKey.get(key);
    if (!existing || (existing.source === "diary" && score.source === "clinic")) byKey.set(key, score);
  }
  return [...byKey.values()].sort((a, b) => a.day - b.day || a.minuteOfDay - b.minuteOfDay || a.measure.localeCompare(b.measure));
}
