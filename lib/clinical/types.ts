/**
 * Types of the clinical engine. The section-7 output contract of ../shared/clinical-reference.md
 * (EngineOutput, PatientEvaluation, CourseEvaluation, CheckpointEvaluation, LabRequirementStatus, Flag,
 * DataQualityNote) keeps its key names and vocabulary exactly; fields marked "extra" are additions the
 * contract allows (trends, therapy history, code matches for the app's pages).
 */

/** A calendar date as written in a resource, YYYY-MM-DD (no time zone conversion). */
export type IsoDate = string;

export type DrugId = "upadacitinib" | "abrocitinib" | "baricitinib" | "ruxolitinib-cream";
export type Route = "oral" | "topical";

export type MeasureKey = "pain" | "itch" | "easi" | "iga" | "bsa" | "poem" | "dlqi" | "scorad" | "po-scorad" | "sleep";
export const MEASURE_KEYS: readonly MeasureKey[] = ["pain", "itch", "easi", "iga", "bsa", "poem", "dlqi", "scorad", "po-scorad", "sleep"];

export type LabKey =
  | "cbc-panel" | "hemoglobin" | "wbc" | "anc" | "alc" | "platelets"
  | "alt" | "ast"
  | "lipid-panel" | "cholesterol" | "ldl" | "hdl" | "triglycerides"
  | "igra" | "igra-mitogen" | "igra-nil" | "tst"
  | "hbsag" | "anti-hbc" | "anti-hbs" | "hbv-dna"
  | "anti-hcv" | "hcv-rna"
  | "ck" | "creatinine" | "egfr" | "hcg-urine" | "hcg-serum";

/** Classes of therapy on the prior-therapy timeline (sequencing), besides the AD JAK courses. */
export type TherapyClass =
  | "jak-ad"
  | "jak-other"
  | "topical-corticosteroid"
  | "topical-calcineurin-inhibitor"
  | "topical-pde4-inhibitor"
  | "biologic"
  | "systemic-immunosuppressant"
  | "phototherapy";

/** What a code matched: a measure, a lab, a drug/therapy, or a vaccine. */
export type Concept =
  | { domain: "measure"; key: MeasureKey }
  | { domain: "measure-candidate"; key: "generic-pain" }
  | { domain: "lab"; key: LabKey }
  | { domain: "drug"; key: DrugId | "ruxolitinib" | "delgocitinib" | "ruxolitinib-oral"; therapyClass: TherapyClass }
  | { domain: "therapy"; key: string; therapyClass: TherapyClass }
  | { domain: "vaccine"; key: "zoster" | "live" | "zoster-live" };

export type MatchHow = "system-code" | "site-mapping" | "text";

/** A site-specific code the clinic lead maps to one of the engine's concepts (data, not code). */
export interface CodeMapping {
  system: string;
  code: string;
  /** Concept id: "measure:easi", "lab:anc", "drug:upadacitinib", "therapy:dupilumab:biologic", "vaccine:zoster". */
  concept: string;
  display?: string;
}

export type CheckpointVerdict = "responded" | "not-responded" | "not-assessable" | "open" | "not-due";
export type Criterion = "easi-50" | "iga-success" | "iga-improved" | "itch-4" | "pain-3";
export type MeasureStatus = "met" | "not-met" | "no-baseline" | "no-value" | "not-applicable";
export type EasiBand = "EASI-90" | "EASI-75" | "EASI-50" | "below-EASI-50";
export type CheckpointMeasure = "easi" | "iga" | "itch" | "pain";

export interface MeasureAtCheckpoint {
  criterion: Criterion;
  status: MeasureStatus;
  baseline: number | null;
  value: number | null;
  improvement: number | null;
  percentImprovement?: number | null;
  band?: EasiBand | null;
  /** extra: where the numbers came from */
  baselineDate?: IsoDate | null;
  valueDate?: IsoDate | null;
  baselineFrom?: "single" | "diary-mean";
  valueFrom?: "single" | "diary-mean";
  sources?: string[];
}

export interface CheckpointEvaluation {
  week: number;
  windowStart: IsoDate;
  windowEnd: IsoDate;
  verdict: CheckpointVerdict;
  measures: Partial<Record<CheckpointMeasure, MeasureAtCheckpoint>>;
  /** extra */
  targetDate?: IsoDate;
}

export type LabPhase = "baseline" | "week-4" | "week-12" | "periodic";
export type LabRequirementLab = "tb-screen" | "hbv-screen" | "hcv-screen" | "cbc" | "liver" | "lipids" | "pregnancy";
export type LabStatus = "done" | "due" | "overdue" | "missing" | "not-due";

export interface LabRequirementStatus {
  requirement: string;
  status: LabStatus;
  dueBy: IsoDate;
  satisfiedBy?: string[];
  /** extra */
  windowStart?: IsoDate;
  windowEnd?: IsoDate;
  occurrence?: number;
  /**
   * extra: the values behind `satisfiedBy` (done requirements only). Per group of the requirement, the
   * satisfying result and the same-day results of the group's other labs (the rest of that CBC, ALT with
   * AST, the lipid panel's members), in the group's lab order.
   */
  results?: LabRequirementResult[];
}

/** extra: one lab result that satisfied a requirement, as shown on the safety-lab checklist. */
export interface LabRequirementResult {
  resource: string;
  date: IsoDate;
  lab: LabKey;
  /** "Platelets", "ALT", "IGRA", ... */
  display: string;
  /**
   * A number in `unit` (the canonical unit of units.ts: 10*3/uL, g/dL, U/L, mg/dL, ...); for a qualitative
   * result (IGRA, HBsAg, hCG, ...) "positive" | "negative" | "indeterminate"; null when the result carries no
   * usable value (a panel reported without values, or a unit that could not be converted: see unitProblem).
   */
  value: number | string | null;
  unit?: string;
  /** Reference range upper limit in `unit` (ALT/AST are judged against it). */
  referenceHigh?: number;
  /** The unit as written when it could not be converted. */
  unitProblem?: string;
  /** Set when the value breaks a label threshold; the same rule raises an `abnormal-lab` flag. */
  abnormal?: LabAbnormality;
}

export interface LabAbnormality {
  ruleId: string;
  severity: Severity;
  /** The threshold in words, e.g. "< 1 x10*3/uL", "> 120 U/L (3 x ULN 40 U/L)". */
  threshold: string;
}

export interface DoseChange {
  date: IsoDate;
  fromMg: number | null;
  toMg: number;
  resource: string;
}

export interface CourseEvaluation {
  drug: DrugId;
  route: Route;
  start: IsoDate;
  end: IsoDate | null;
  startSource: string;
  checkpoints: CheckpointEvaluation[];
  labs: LabRequirementStatus[];
  /** extra */
  doseChanges?: DoseChange[];
  doseMg?: number | null;
  /** extra: resources that make up the course */
  sources?: string[];
  /** extra: course week at asOf (0-based whole weeks since start), null when ended */
  weekAtAsOf?: number | null;
}

export type Severity = "info" | "warning" | "critical";
export type FlagKind =
  | "non-response" | "early-signal" | "missing-lab" | "overdue-lab" | "abnormal-lab"
  | "bsa-limit" | "cream-quantity" | "vaccination" | "data-quality";

export interface Flag {
  ruleId: string;
  kind: FlagKind;
  severity: Severity;
  message: string;
  /** One-line citation naming the label section, trial or guideline. */
  source: string;
  resource?: string;
  course?: number;
  requirement?: string;
  /** extra */
  week?: number;
  /** extra: the rule's primary source (lib/clinical/sources.ts), for the course's drug where the rule is shared. */
  sourceLabel: string;
  /** extra: https link to that source (DailyMed, EMA, doi.org, guideline page). */
  sourceUrl: string;
}

export interface DataQualityNote {
  resource: string;
  issue: string;
  detail: string;
}

export interface TrendPoint {
  date: IsoDate;
  value: number;
  resource: string;
  excluded: boolean;
  reason?: string;
  preliminary?: boolean;
}

export interface WeeklyAverage {
  weekStart: IsoDate;
  mean: number;
  count: number;
}

export interface MeasureTrend {
  measure: MeasureKey;
  points: TrendPoint[];
  /** Baseline against the latest course start (or the first value when there is no course). */
  baseline: { value: number; date: IsoDate; from: "single" | "diary-mean" } | null;
  latest: { value: number; date: IsoDate } | null;
  change: number | null;
  percentChange: number | null;
  weekly?: WeeklyAverage[];
}

export interface TherapyEpisode {
  therapyClass: TherapyClass;
  name: string;
  route: Route | "subcutaneous" | "other" | null;
  start: IsoDate;
  end: IsoDate | null;
  resources: string[];
}

export interface CodeMatchSummary {
  resourceType: string;
  system: string | null;
  code: string | null;
  display: string | null;
  /** "measure:easi", "lab:anc", ... or null when ignored */
  concept: string | null;
  how: MatchHow | null;
  count: number;
  note?: string;
}

export interface PatientEvaluation {
  patientId: string;
  courses: CourseEvaluation[];
  flags: Flag[];
  dataQuality: DataQualityNote[];
  /** extra fields for the patient page and the code-coverage view */
  trends?: Partial<Record<MeasureKey, MeasureTrend>>;
  therapyHistory?: TherapyEpisode[];
  codeMatches?: CodeMatchSummary[];
  birthDate?: IsoDate | null;
  gender?: string | null;
  /** extra (option `facts`): the vaccinations and safety-lab results the engine read, for the quality reports */
  facts?: EvaluationFacts;
}

/** Resource facts as the engine normalised them (codes, site mappings, statuses, dates), dated on or before asOf. */
export interface EvaluationFacts {
  /** Zoster vaccinations (recombinant or live), completed and dated. */
  zosterVaccinations: Array<{ resource: string; date: IsoDate; live: boolean }>;
  /** Valid safety-lab results of any value. */
  labResults: Array<{ resource: string; lab: LabKey; date: IsoDate }>;
}

export interface EngineOutput {
  asOf: IsoDate;
  rulesVersion: string;
  patients: PatientEvaluation[];
  /** extra: notes about resources that could not be attributed to any patient */
  dataQuality?: DataQualityNote[];
}
