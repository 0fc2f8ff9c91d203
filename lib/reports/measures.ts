/**
 * The quality measures of the report catalogue (issue 9), defined as typed, versioned data: who is counted
 * (initial population), who is left out and why (exclusions), who meets the measure (numerator), which date
 * puts a case in a reporting period, and where each rule comes from. compute.ts implements exactly these
 * texts; change REPORTS_VERSION whenever a definition, a window or a threshold here changes.
 *
 * Vocabulary shared by every definition:
 * - A case is what a measure counts: a JAK course, a lab requirement of a course, a symptom at a checkpoint or
 *   an abnormal lab result. The patient list holds one row per case.
 * - Checkpoint windows, lab windows, verdicts and statuses are the clinical engine's (lib/clinical,
 *   clinical-reference.md sections 4-8), read from the synced evaluation; a report never re-decides them.
 * - "Decided" checkpoint: verdict responded, not responded or not assessable (the panel's definition).
 * - The evaluation date is the date the patient's evaluation was computed for (its asOf).
 * - Filters (source, drug, route, prescriber) apply to the case's course; the prescriber is the course's.
 */
import { RULE_SOURCES } from "../clinical/sources";
import type { Criterion, DrugId } from "../clinical/types";

/** Bump when a measure's definition changes (as RULES_VERSION for the engine's rules). */
export const REPORTS_VERSION = "2026.11.1";

export const MEASURE_IDS = [
  "baseline-screening",
  "follow-up-labs",
  "response-assessed",
  "easi-75-primary",
  "symptom-response",
  "possible-missed-switch",
  "abnormal-lab-no-repeat",
  "zoster-vaccination",
] as const;
export type MeasureId = (typeof MEASURE_IDS)[number];

/** What one row of a measure's patient list stands for. */
export type MeasureBasis = "course" | "lab-requirement" | "symptom-checkpoint" | "abnormal-result";

/** The date that puts a case in a reporting period. */
export type PeriodAnchor = "course-start" | "lab-due-date" | "checkpoint-target" | "week-24-date" | "result-date";

export type ExclusionReason =
  | "baseline-window-open"
  | "no-requirements"
  | "course-ended-before-window-closed"
  | "window-after-course-end"
  | "not-yet-due"
  | "window-open"
  | "no-baseline"
  | "baseline-below-threshold"
  | "no-value"
  | "not-yet-observable";

export interface ExclusionDefinition {
  reason: ExclusionReason;
  /** Short label for tables and charts. */
  label: string;
  /** The rule in one sentence. */
  description: string;
}

/** How a measure's figures are broken down beside the total. */
export type StratifierKind = "drug" | "requirement" | "symptom";

export interface MeasureSource {
  kind: "reference" | "label" | "trial" | "guideline" | "publication";
  citation: string;
  /** Where a reader can follow it (the engine's rule sources, lib/clinical/sources.ts). */
  url?: string;
}

function sourceUrl(id: string): string {
  const source = RULE_SOURCES[id];
  if (!source) throw new Error(`measures: unknown rule source ${id}`);
  return source.url;
}

export interface MeasureDefinition {
  id: MeasureId;
  /** Position in the catalogue (issue 9's numbering). */
  number: number;
  title: string;
  /** What the measure shows and the interpretation decisions behind it. */
  description: string;
  basis: MeasureBasis;
  scoring: "proportion";
  /** Whether a higher rate is better (FHIR Measure.improvementNotation). */
  improvementNotation: "increase" | "decrease";
  initialPopulation: string;
  denominator: string;
  /** In the order they are applied: a case gets the first reason that fits. */
  exclusions: readonly ExclusionDefinition[];
  numerator: string;
  period: { anchor: PeriodAnchor; description: string };
  stratifier: { by: StratifierKind; description: string };
  sources: readonly MeasureSource[];
}

/** Oral AD JAK inhibitors (clinical-reference.md section 3). */
export const ORAL_DRUGS: readonly DrugId[] = ["upadacitinib", "abrocitinib", "baricitinib"];
export const DRUG_ORDER: readonly DrugId[] = ["upadacitinib", "abrocitinib", "baricitinib", "ruxolitinib-cream"];
export const DRUG_LABELS: Readonly<Record<DrugId, string>> = {
  upadacitinib: "Upadacitinib",
  abrocitinib: "Abrocitinib",
  baricitinib: "Baricitinib",
  "ruxolitinib-cream": "Ruxolitinib cream",
};

/** Primary checkpoint week per drug: week 8 for ruxolitinib cream (TRuE-AD), week 16 for oral JAKs. */
export const PRIMARY_CHECKPOINT_WEEK: Readonly<Record<DrugId, number>> = {
  upadacitinib: 16,
  abrocitinib: 16,
  baricitinib: 16,
  "ruxolitinib-cream": 8,
};

/** Baseline requirements measure 1 leaves out (the issue names TB, HBV, HCV, CBC, liver and lipids only). */
export const SCREENING_LEFT_OUT: readonly string[] = ["baseline:pregnancy"];

/** Lab requirement phases measure 2 counts. */
export const FOLLOW_UP_PHASES: readonly string[] = ["week-4", "week-12", "periodic"];

/** Symptoms of measure 5: the checkpoint, the engine's criterion and its threshold. */
export const SYMPTOM_CHECKPOINTS = [
  { symptom: "itch", week: 4, criterion: "itch-4", minimumBaseline: 4, label: "Itch NRS >= 4 points better at week 4" },
  { symptom: "pain", week: 2, criterion: "pain-3", minimumBaseline: 3, label: "Skin pain NRS >= 3 points better at week 2" },
] as const satisfies ReadonlyArray<{ symptom: "itch" | "pain"; week: number; criterion: Criterion; minimumBaseline: number; label: string }>;
export type Symptom = (typeof SYMPTOM_CHECKPOINTS)[number]["symptom"];

/** Measure 6: the non-response checkpoint and how long after its target the course is looked at. */
export const MISSED_SWITCH = { week: 16, weeksLater: 8 } as const;
/** Day of the course measure 6 looks at: week 16 + 8 weeks = week 24, day 168. */
export const MISSED_SWITCH_DAY = (MISSED_SWITCH.week + MISSED_SWITCH.weeksLater) * 7;

/** Measure 7: days after an abnormal result within which a repeat must be resulted. */
export const REPEAT_WITHIN_DAYS = 28;

const REFERENCE = "clinical-reference.md";

const WINDOW_AFTER_END: ExclusionDefinition = {
  reason: "window-after-course-end",
  label: "Course ended before the window",
  description: "The checkpoint window opened only after the course had ended (stopped or switched): not a failure of the course, as on the panel.",
};
const CHECKPOINT_NOT_DUE: ExclusionDefinition = {
  reason: "not-yet-due",
  label: "Window not yet open",
  description: "At the evaluation date the checkpoint window had not opened.",
};

export const MEASURES: readonly MeasureDefinition[] = [
  {
    id: "baseline-screening",
    number: 1,
    title: "Baseline safety screening complete before an oral JAK",
    description:
      "Share of oral JAK courses started with every baseline safety test the drug's label asks for: TB, hepatitis B (HBsAg and anti-HBc), hepatitis C and CBC for all; liver enzymes for upadacitinib and baricitinib; lipids and a platelet count for abrocitinib. " +
      "Every course counts, a switch or a restart included, because each start needs its own screening (TB and hepatitis results up to 365 days old, others up to 90 days, carry over as the engine's rules say). " +
      "'Before the first dose' follows the engine's baseline window, which accepts results up to 3 days after the start (labs drawn at the starting visit). " +
      "The pregnancy test is not part of this measure: the issue lists the screening tests only, and the test applies to some patients only.",
    basis: "course",
    scoring: "proportion",
    improvementNotation: "increase",
    initialPopulation: "Oral JAK courses (upadacitinib, abrocitinib, baricitinib) that started in the period.",
    denominator: "The initial population minus exclusions.",
    exclusions: [
      { reason: "no-requirements", label: "No baseline requirements", description: "The evaluation lists no baseline screening requirement for the course (the site's rules require none)." },
      { reason: "baseline-window-open", label: "Baseline window still open", description: "At the evaluation date the baseline window (start + 3 days) had not closed and a screening test was still outstanding." },
    ],
    numerator: "Courses whose every baseline screening requirement (pregnancy test aside) is done within the baseline window.",
    period: { anchor: "course-start", description: "The course's start date (first dose) is in the period." },
    stratifier: { by: "drug", description: "By the course's drug." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 6 (Labs: baseline requirements per drug, 90-day and 365-day lookbacks to start + 3 days) and section 8 (baseline labs due until start + 3 days, then missing)` },
      { kind: "label", citation: "Rinvoq US PI 2.1 and HCP monitoring page, EU SmPC 4.2/4.4", url: sourceUrl("rinvoq-us-pi-labs") },
      { kind: "label", citation: "Cibinqo US PI 2.1-2.2, EU/UK SmPC 4.2/4.4", url: sourceUrl("cibinqo-us-pi-labs") },
      { kind: "label", citation: "Olumiant EU SmPC 4.2/4.4", url: sourceUrl("olumiant-eu-smpc-4.4") },
    ],
  },
  {
    id: "follow-up-labs",
    number: 2,
    title: "Follow-up safety labs on time",
    description:
      "Share of follow-up safety-lab requirements resulted within their window: week-4 CBC with platelets and lipids for abrocitinib (days 14-42), week-12 lipids for upadacitinib and baricitinib (days 56-112), and periodic CBC (all oral JAKs) and liver enzymes (upadacitinib, baricitinib) every 84 days after day 112 with 28 days' grace. " +
      "Abrocitinib's week-4 lipids count too: the drug's rules require them beside the CBC. " +
      "Periodic labs count the occurrence the evaluation reports (the current one, or the previous one when it was missed): earlier occurrences are not kept, so periodic figures describe recent months. " +
      "A requirement not done when the course ended before its window closed is left out (monitoring lapses with the drug); one done before the stop still counts as on time. " +
      "The lab-completeness chart on the panel counts the same requirements by due date, without that exclusion.",
    basis: "lab-requirement",
    scoring: "proportion",
    improvementNotation: "increase",
    initialPopulation: "Follow-up lab requirements (week-4, week-12, periodic) of JAK courses whose due date is in the period.",
    denominator: "The initial population minus exclusions: requirements done, or overdue (the window closed without a result).",
    exclusions: [
      { reason: "course-ended-before-window-closed", label: "Course ended first", description: "Not done, and the course ended (stopped or switched) before the requirement's window closed." },
      { reason: "window-open", label: "Window still open", description: "Not done, and at the evaluation date the window had not closed yet." },
      { reason: "not-yet-due", label: "Not yet due", description: "At the evaluation date the window had not opened." },
    ],
    numerator: "Requirements done: a qualifying result dated inside the window.",
    period: { anchor: "lab-due-date", description: "The requirement's due date is in the period (the window's last day for week-4 and week-12; the nominal due day for periodic labs, which then have 28 days' grace), as the panel's lab completeness." },
    stratifier: { by: "requirement", description: "By requirement (week-4:cbc, week-12:lipids, periodic:liver, ...)." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 6 (Labs: week-4 days 14-42, week-12 days 56-112, periodic) and section 8 (periodic labs every 84 days after day 112 with 28 days' grace)` },
      { kind: "label", citation: "Cibinqo US PI 2.2 (CBC with platelets and lipids about 4 weeks after start)", url: sourceUrl("cibinqo-us-pi-labs") },
      { kind: "label", citation: "Rinvoq US PI 2.1 and HCP monitoring page (lipids about 12 weeks after start; CBC and liver enzymes periodically)", url: sourceUrl("rinvoq-hcp-monitoring") },
      { kind: "label", citation: "Olumiant EU SmPC 4.4 (lipids 12 weeks after start)", url: sourceUrl("olumiant-eu-smpc-4.4") },
    ],
  },
  {
    id: "response-assessed",
    number: 3,
    title: "Response assessed at the primary checkpoint",
    description:
      "Share of JAK courses with an EASI or IGA recorded in the primary checkpoint window: week 8 (days 43-70) for ruxolitinib cream, week 16 (days 99-140) for oral JAKs. " +
      "A value counts when the engine found a valid EASI or IGA in the window (a baseline is not needed to count as assessed). " +
      "As in the engine, data after the course ended do not count for it and the window closes when the course ends; a window that opened only after the end is left out, as on the panel.",
    basis: "course",
    scoring: "proportion",
    improvementNotation: "increase",
    initialPopulation: "JAK courses whose primary checkpoint target date (start + 56 days for ruxolitinib cream, start + 112 days for oral JAKs) is in the period.",
    denominator: "The initial population minus exclusions: courses whose window has closed, or that already have an EASI or IGA in it.",
    exclusions: [
      WINDOW_AFTER_END,
      CHECKPOINT_NOT_DUE,
      { reason: "window-open", label: "Window still open", description: "No EASI or IGA yet, and at the evaluation date the window had not closed." },
    ],
    numerator: "Courses with an EASI or an IGA value in the primary checkpoint window.",
    period: { anchor: "checkpoint-target", description: "The primary checkpoint's target date (start + 7 x week days) is in the period." },
    stratifier: { by: "drug", description: "By the course's drug." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 4 (checkpoint windows) and section 6 (checkpoints per drug, trial endpoints)` },
      { kind: "trial", citation: "TRuE-AD1/2: ruxolitinib cream primary endpoint at week 8", url: sourceUrl("true-ad-2021") },
      { kind: "trial", citation: "Measure Up 1/2: upadacitinib primary endpoint at week 16", url: sourceUrl("measure-up-2021") },
      { kind: "label", citation: "Opzelura US PI 2.1 (re-examine if no improvement within 8 weeks)", url: sourceUrl("opzelura-us-pi-2.1") },
    ],
  },
  {
    id: "easi-75-primary",
    number: 4,
    title: "EASI-75 at the primary checkpoint",
    description:
      "Share of assessed JAK courses reaching EASI-75 (EASI at least 75% below baseline: band EASI-75 or EASI-90) at the primary checkpoint (week 8 for ruxolitinib cream, week 16 for oral JAKs), by drug. " +
      "Assessed means an EASI baseline above 0 and an EASI value in the window, as the panel's EASI-75 rate; only decided checkpoints count (the window closed, or a criterion was met early), as on the panel.",
    basis: "course",
    scoring: "proportion",
    improvementNotation: "increase",
    initialPopulation: "JAK courses whose primary checkpoint target date is in the period.",
    denominator: "The initial population minus exclusions: decided primary checkpoints with an assessable EASI.",
    exclusions: [
      WINDOW_AFTER_END,
      CHECKPOINT_NOT_DUE,
      { reason: "window-open", label: "Window still open", description: "The checkpoint was not decided at the evaluation date (window open and no criterion met)." },
      { reason: "no-baseline", label: "No EASI baseline", description: "No EASI baseline above 0 (the latest valid EASI from 30 days before to 3 days after the start)." },
      { reason: "no-value", label: "No EASI in window", description: "No valid EASI in the checkpoint window." },
    ],
    numerator: "Courses whose EASI at the primary checkpoint is at least 75% below baseline.",
    period: { anchor: "checkpoint-target", description: "The primary checkpoint's target date (start + 7 x week days) is in the period." },
    stratifier: { by: "drug", description: "By the course's drug." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 5 (EASI bands) and section 6 (trial endpoints)` },
      { kind: "trial", citation: "Measure Up 1/2: EASI-75 at week 16, 70% / 80% and 60% / 73% on upadacitinib 15 / 30 mg", url: sourceUrl("measure-up-2021") },
      { kind: "trial", citation: "JADE MONO-1/2: EASI-75 at week 12, 40% / 63% and 44.5% / 61.0% on abrocitinib 100 / 200 mg", url: sourceUrl("jade-mono-1-2020") },
      { kind: "trial", citation: "TRuE-AD1/2: ruxolitinib cream endpoints at week 8", url: sourceUrl("true-ad-2021") },
    ],
  },
  {
    id: "symptom-response",
    number: 5,
    title: "Early itch and skin-pain response",
    description:
      "Two patient-reported early responses, each a stratum: itch at least 4 points better on the itch NRS at the week-4 checkpoint (days 22-42) among courses with an itch baseline of 4 or more; " +
      "skin pain at least 3 points better on the skin-pain NRS at the week-2 checkpoint (days 8-21) among courses with a skin-pain baseline of 3 or more. " +
      "'By week 4' and 'by week 2' are read as at that checkpoint, as the trials report them (a response at week 2 that is gone by week 4 does not count for itch). " +
      "Daily diary values are averaged over the 7 days before the target as the engine does. The total pools both strata (one case per course and symptom); read the strata for each rate. " +
      "Only decided checkpoints count, as on the panel.",
    basis: "symptom-checkpoint",
    scoring: "proportion",
    improvementNotation: "increase",
    initialPopulation: "For each JAK course: its week-4 checkpoint (itch) and its week-2 checkpoint (skin pain) whose target date is in the period.",
    denominator: "The initial population minus exclusions: decided checkpoints with a baseline at or above the threshold and a value in the window.",
    exclusions: [
      WINDOW_AFTER_END,
      CHECKPOINT_NOT_DUE,
      { reason: "window-open", label: "Window still open", description: "The checkpoint was not decided at the evaluation date (window open and no criterion met)." },
      { reason: "no-baseline", label: "No baseline", description: "No baseline value of the symptom." },
      { reason: "baseline-below-threshold", label: "Baseline below threshold", description: "Baseline below 4 (itch) or 3 (skin pain): too little to lose." },
      { reason: "no-value", label: "No value in window", description: "No value of the symptom in the checkpoint window." },
    ],
    numerator: "Cases whose symptom improved by at least the threshold (itch >= 4 points, skin pain >= 3 points).",
    period: { anchor: "checkpoint-target", description: "The checkpoint's target date (start + 28 days for itch, start + 14 days for skin pain) is in the period." },
    stratifier: { by: "symptom", description: "Itch at week 4; skin pain at week 2." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 5 (criteria itch-4 and pain-3) and section 4 (diary weekly means)` },
      { kind: "publication", citation: "Yosipovitch et al., BJD 2019: itch NRS improvement >= 4 points with baseline >= 4", url: sourceUrl("yosipovitch-2019") },
      { kind: "publication", citation: "Silverberg et al., Arch Dermatol Res 2021: skin-pain MCID 2.2-2.9 points; 2026 upadacitinib skin-pain analysis (3 points)", url: sourceUrl("silverberg-skin-pain-2021") },
      { kind: "trial", citation: "TRuE-AD1/2: itch NRS4 at week 2 about 33%", url: sourceUrl("true-ad-2021") },
    ],
  },
  {
    id: "possible-missed-switch",
    number: 6,
    title: "Not responded at week 16 and still on the same JAK 8 weeks later",
    description:
      "Among courses not responded at week 16 (the engine's verdict: a criterion was assessable and none met when the window closed), the share still on the same JAK at week 24 (start + 168 days, 8 weeks after the week-16 target): a possible missed switch, for review. Lower is better. " +
      "Still on means the course had not ended by day 168; a dose increase of the same drug is still the same JAK and counts as still on. " +
      "Only drugs with a week-16 checkpoint take part (the oral JAKs); a week-16 checkpoint that was not assessable is no non-response and is not counted.",
    basis: "course",
    scoring: "proportion",
    improvementNotation: "decrease",
    initialPopulation: "JAK courses whose week-16 checkpoint verdict is not responded and whose week-24 date (start + 168 days) is in the period.",
    denominator: "The initial population minus exclusions.",
    exclusions: [
      { reason: "not-yet-observable", label: "Week 24 not reached", description: "At the evaluation date the course had not reached day 168." },
    ],
    numerator: "Courses that had not ended by day 168 (still on the same JAK).",
    period: { anchor: "week-24-date", description: "The week-24 date (course start + 168 days) is in the period." },
    stratifier: { by: "drug", description: "By the course's drug." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 6 (week-16 non-response: warning) and section 8 (a switch ends the earlier course)` },
      { kind: "label", citation: "Rinvoq EU SmPC 4.2 (consider stopping without benefit after 12 weeks)", url: sourceUrl("rinvoq-eu-smpc-4.2") },
      { kind: "label", citation: "Cibinqo EU/UK SmPC 4.2 (consider stopping without benefit at 24 weeks)", url: sourceUrl("cibinqo-eu-smpc-4.2") },
      { kind: "trial", citation: "Measure Up 1/2: primary endpoint at week 16", url: sourceUrl("measure-up-2021") },
    ],
  },
  {
    id: "abnormal-lab-no-repeat",
    number: 7,
    title: "Abnormal safety lab without a repeat within 4 weeks",
    description:
      "Share of abnormal safety-lab results (the engine's abnormal-lab flags on oral JAK courses: neutrophils < 1000/mm3, lymphocytes < 500/mm3, haemoglobin < 8 g/dL, platelets under the abrocitinib thresholds, ALT or AST > 3 x ULN) with no repeat result within 28 days. Lower is better. " +
      "A repeat is a later result of the same analyte (ALT and AST count for each other) dated 1 to 28 days after the abnormal one, whatever its value. " +
      "Each abnormal result counts once, for the course running on its date (or the first course it was flagged for).",
    basis: "abnormal-result",
    scoring: "proportion",
    improvementNotation: "decrease",
    initialPopulation: "Abnormal safety-lab results of JAK courses dated in the period.",
    denominator: "The initial population minus exclusions.",
    exclusions: [
      { reason: "window-open", label: "4 weeks not passed", description: "No repeat yet, and at the evaluation date fewer than 28 days had passed since the result." },
    ],
    numerator: "Abnormal results with no repeat result of the same analyte within 28 days.",
    period: { anchor: "result-date", description: "The abnormal result's date is in the period." },
    stratifier: { by: "drug", description: "By the course's drug." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 6 (abnormal results: thresholds, interrupt or discontinue per label)` },
      { kind: "label", citation: "Rinvoq US PI 2.1, EU SmPC 4.2/4.4 (interrupt for low ANC, ALC or haemoglobin)", url: sourceUrl("rinvoq-us-pi-labs") },
      { kind: "label", citation: "Cibinqo US PI 2.1-2.2, EU/UK SmPC 4.2/4.4 (platelet thresholds)", url: sourceUrl("cibinqo-us-pi-labs") },
      { kind: "label", citation: "Olumiant EU SmPC 4.2/4.4", url: sourceUrl("olumiant-eu-smpc-4.2") },
    ],
  },
  {
    id: "zoster-vaccination",
    number: 8,
    title: "Zoster vaccination before or during an oral JAK",
    description:
      "Share of oral JAK courses with a zoster vaccination on record on or before the start, or a non-live (recombinant) zoster vaccination during the course up to its end or the evaluation date. " +
      "A live zoster vaccine given during the course does not count: the labels advise against live vaccines on a JAK (the engine flags it). " +
      "Every oral course counts, a switch or a restart included; there is no age exclusion, as the engine's vaccination rule has none.",
    basis: "course",
    scoring: "proportion",
    improvementNotation: "increase",
    initialPopulation: "Oral JAK courses (upadacitinib, abrocitinib, baricitinib) that started in the period.",
    denominator: "The initial population (no exclusions).",
    exclusions: [],
    numerator: "Courses with a zoster vaccination on or before the start, or a non-live zoster vaccination during the course.",
    period: { anchor: "course-start", description: "The course's start date is in the period." },
    stratifier: { by: "drug", description: "By the course's drug." },
    sources: [
      { kind: "reference", citation: `${REFERENCE} section 6 (Vaccination) and section 8 (vaccination flags apply to oral courses)` },
      { kind: "label", citation: "Rinvoq EU SmPC 4.4, Cibinqo EU/UK SmPC 4.4, Olumiant EU SmPC 4.4 (vaccinations before starting; no live vaccines during treatment)", url: sourceUrl("rinvoq-eu-smpc-4.4") },
    ],
  },
];

export function isMeasureId(value: string): value is MeasureId {
  return (MEASURE_IDS as readonly string[]).includes(value);
}

export function measureDefinition(id: MeasureId): MeasureDefinition {
  const definition = MEASURES.find((m) => m.id === id);
  if (!definition) throw new Error(`Unknown measure ${id}`);
  return definition;
}
