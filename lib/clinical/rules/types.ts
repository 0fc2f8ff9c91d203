/** Typed, versioned rule data: a site can read and adjust windows and thresholds without touching code. */
import type { Criterion, DrugId, FlagKind, LabRequirementLab, MeasureKey, Route, Severity } from "../types";

export interface CheckpointWindow {
  week: number;
  /** Days from course start. */
  targetDay: number;
  startDay: number;
  endDay: number;
}

export interface CheckpointRule {
  week: number;
  criteria: Criterion[];
  /** Severity of the flag raised when the checkpoint is not-responded (early signals are info). */
  severity: Severity;
  ruleId: string;
  kind: "non-response" | "early-signal";
  message: string;
  /** One-line citation naming the label section or trial. */
  source: string;
  /** RULE_SOURCES ids (lib/clinical/sources.ts), primary first. */
  sources: string[];
}

export interface DrugRules {
  drug: DrugId;
  route: Route;
  label: string;
  checkpoints: CheckpointRule[];
  labs: {
    baseline: LabRequirementLab[];
    "week-4": LabRequirementLab[];
    "week-12": LabRequirementLab[];
    periodic: LabRequirementLab[];
  };
  /** The label names a platelet count: `cbc` then needs LOINC 777-3 (abrocitinib). */
  cbcRequiresPlatelets: boolean;
  /** TB screening is "consider" only: an info flag when absent, no requirement (ruxolitinib cream). */
  tbScreenConsider: boolean;
  source: string;
  /** RULE_SOURCES ids of the drug's labels, primary first: the fallback for a rule without its own. */
  sources: string[];
}

export interface RuleDefinition {
  ruleId: string;
  kind: FlagKind;
  severity: Severity;
  /** One sentence; {placeholders} are filled from the finding. */
  message: string;
  /** One-line citation naming the label section, trial or guideline. */
  source: string;
  /** RULE_SOURCES ids (lib/clinical/sources.ts), primary first. */
  sources: string[];
  /** A rule shared by several drugs leads with the drug's own label for that drug's flags. */
  sourcesByDrug?: Partial<Record<DrugId, string[]>>;
}

export interface RuleSet {
  version: string;
  courseGapDays: number;
  baseline: { daysBefore: number; daysAfter: number; diaryMinValues: number; diaryDays: number };
  checkpointWindows: CheckpointWindow[];
  /** Measures recorded as daily diaries: weekly means when enough values exist. */
  diaryMeasures: MeasureKey[];
  measureRanges: Record<MeasureKey, [number, number]>;
  labWindows: {
    baselineLookbackDays: number;
    screeningLookbackDays: number;
    baselineDaysAfterStart: number;
    week4: [number, number];
    week12: [number, number];
    periodic: { afterDay: number; everyDays: number; graceDays: number };
  };
  thresholds: {
    ancCritical: number;
    alcCritical: number;
    hemoglobinCritical: number;
    plateletsCriticalAbrocitinib: number;
    plateletsBeforeAbrocitinib: number;
    transaminaseUlnMultiple: number;
    euAbrocitinibStart: { enabled: boolean; anc: number; hemoglobin: number };
    bsaLimitPercent: number;
    creamGramsPerWeekAge12Plus: number;
    creamGramsPerTwoWeeksAge2To11: number;
    pregnancyAgeRange: [number, number];
  };
  drugs: Record<DrugId, DrugRules>;
  rules: Record<string, RuleDefinition>;
}
