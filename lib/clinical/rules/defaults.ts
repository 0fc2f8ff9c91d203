/**
 * Default rules, each citing the section of ../shared/clinical-reference.md (and the label or trial behind
 * it) that it encodes. Change RULES_VERSION whenever a window, threshold or message changes.
 */
import type { Criterion, DrugId, Severity } from "../types";
import type { CheckpointRule, DrugRules, RuleDefinition, RuleSet } from "./types";

export const RULES_VERSION = "2026.11.1";

const REF = "clinical-reference";

function checkpoint(drug: DrugId, week: number, criteria: Criterion[], severity: Severity, why: string, source: string): CheckpointRule {
  const early = week <= 4;
  return {
    week,
    criteria,
    severity: early ? "info" : severity,
    kind: early ? "early-signal" : "non-response",
    ruleId: `${drug}.week-${week}.${early ? "early-signal" : "non-response"}`,
    message: early
      ? `No early response on {drug} at week ${week}: none of ${criteria.join(", ")} met; ${why}`
      : `Not responded on {drug} at week ${week}: none of ${criteria.join(", ")} met; ${why}`,
    source,
  };
}

const EARLY_WHY_PAIN = "early pain and itch relief is expected from week 2, so review adherence and disease activity.";
const EARLY_WHY_ITCH = "itch relief of 4 points is expected by week 4 in responders, so review adherence and disease activity.";

const upadacitinib: DrugRules = {
  drug: "upadacitinib",
  route: "oral",
  label: "upadacitinib (Rinvoq)",
  checkpoints: [
    checkpoint("upadacitinib", 2, ["pain-3", "itch-4"], "info", EARLY_WHY_PAIN, `${REF} 5-6; upadacitinib skin-pain analysis 2026; Yosipovitch BJD 2019`),
    checkpoint("upadacitinib", 4, ["itch-4"], "info", EARLY_WHY_ITCH, `${REF} 5-6; Yosipovitch BJD 2019; Measure Up 1/2`),
    checkpoint("upadacitinib", 12, ["easi-50", "iga-success", "itch-4"], "warning", "the EU SmPC advises considering stopping without therapeutic benefit at 12 weeks.", `${REF} 6; Rinvoq EU SmPC 4.2`),
    checkpoint("upadacitinib", 16, ["easi-50", "iga-success", "itch-4"], "warning", "week 16 is the trial primary endpoint (EASI-75 is the target band), so reconsider the dose or the therapy.", `${REF} 6; Measure Up 1/2 week 16`),
  ],
  labs: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver", "pregnancy"], "week-4": [], "week-12": ["lipids"], periodic: ["cbc", "liver"] },
  cbcRequiresPlatelets: false,
  tbScreenConsider: false,
  source: `${REF} 6; Rinvoq US PI 2.1 and HCP monitoring page, EU SmPC 4.2/4.4`,
};

const abrocitinib: DrugRules = {
  drug: "abrocitinib",
  route: "oral",
  label: "abrocitinib (Cibinqo)",
  checkpoints: [
    checkpoint("abrocitinib", 2, ["pain-3", "itch-4"], "info", EARLY_WHY_PAIN, `${REF} 5-6; Yosipovitch BJD 2019; JADE`),
    checkpoint("abrocitinib", 4, ["itch-4"], "info", EARLY_WHY_ITCH, `${REF} 5-6; Yosipovitch BJD 2019; JADE`),
    checkpoint("abrocitinib", 12, ["easi-50", "iga-success", "itch-4"], "info", "the US label suggests considering 200 mg when the response to 100 mg is inadequate.", `${REF} 6; Cibinqo US PI 2.2; JADE MONO-1/2 week 12`),
    checkpoint("abrocitinib", 16, ["easi-50", "iga-success", "itch-4"], "warning", "reconsider the dose or the therapy.", `${REF} 6; Cibinqo US PI 2.2`),
    checkpoint("abrocitinib", 24, ["easi-50", "iga-success", "itch-4"], "warning", "the EU SmPC advises considering stopping without therapeutic benefit at 24 weeks.", `${REF} 6; Cibinqo EU/UK SmPC 4.2`),
  ],
  labs: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "lipids"], "week-4": ["cbc", "lipids"], "week-12": [], periodic: ["cbc"] },
  cbcRequiresPlatelets: true,
  tbScreenConsider: false,
  source: `${REF} 6; Cibinqo US PI 2.1-2.2, EU/UK SmPC 4.2/4.4`,
};

const baricitinib: DrugRules = {
  drug: "baricitinib",
  route: "oral",
  label: "baricitinib (Olumiant)",
  checkpoints: [
    checkpoint("baricitinib", 2, ["pain-3", "itch-4"], "info", EARLY_WHY_PAIN, `${REF} 5-6; Yosipovitch BJD 2019`),
    checkpoint("baricitinib", 4, ["itch-4"], "info", EARLY_WHY_ITCH, `${REF} 5-6; Yosipovitch BJD 2019`),
    checkpoint("baricitinib", 8, ["easi-50", "iga-improved", "itch-4"], "warning", "the Swiss label advises stopping when there is no improvement after 8 weeks.", `${REF} 6; Olumiant Swiss Fachinfo`),
    checkpoint("baricitinib", 16, ["easi-50", "iga-success", "itch-4"], "warning", "reconsider the therapy.", `${REF} 6; Olumiant EU SmPC 4.2`),
  ],
  labs: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver"], "week-4": [], "week-12": ["lipids"], periodic: ["cbc", "liver"] },
  cbcRequiresPlatelets: false,
  tbScreenConsider: false,
  source: `${REF} 6; Olumiant EU SmPC 4.2/4.4, Swiss Fachinfo`,
};

const ruxolitinibCream: DrugRules = {
  drug: "ruxolitinib-cream",
  route: "topical",
  label: "ruxolitinib 1.5% cream (Opzelura)",
  checkpoints: [
    checkpoint("ruxolitinib-cream", 2, ["pain-3", "itch-4"], "info", "early pain and itch relief from week 2 is what the ruxolitinib cream reports describe, so review application and adherence.", `${REF} 5-6; TRuE-AD1/2 (itch NRS4 at week 2 about 33%); ruxolitinib cream reports 2026`),
    checkpoint("ruxolitinib-cream", 4, ["itch-4"], "info", EARLY_WHY_ITCH, `${REF} 5-6; TRuE-AD1/2`),
    checkpoint("ruxolitinib-cream", 8, ["easi-50", "iga-improved", "itch-4"], "warning", "the US label advises re-examining the patient when there is no improvement within 8 weeks.", `${REF} 6; Opzelura US PI 2.1; TRuE-AD1/2 week 8`),
  ],
  labs: { baseline: [], "week-4": [], "week-12": [], periodic: [] },
  cbcRequiresPlatelets: false,
  tbScreenConsider: true,
  source: `${REF} 6; Opzelura US PI 2.1`,
};

function rule(ruleId: string, kind: RuleDefinition["kind"], severity: Severity, message: string, source: string): [string, RuleDefinition] {
  return [ruleId, { ruleId, kind, severity, message, source }];
}

const RULE_DEFINITIONS: Record<string, RuleDefinition> = Object.fromEntries([
  rule("labs.baseline-missing", "missing-lab", "warning", "No baseline {lab} on record before {drug} was started on {start}; the label asks for it before the first dose.", `${REF} 6 (labs, baseline lookback); label sections per drug`),
  rule("labs.follow-up-overdue", "overdue-lab", "warning", "The {phase} {lab} for {drug} was due by {dueBy} and no result is on record.", `${REF} 6 (labs, follow-up windows); label sections per drug`),
  rule("labs.tb-screen-consider", "missing-lab", "info", "No TB screening on record for {drug}; the label says to consider it before starting.", `${REF} 6; Opzelura US PI`),
  rule("abnormal.anc-low", "abnormal-lab", "critical", "Absolute neutrophil count {value} x10*3/uL on {date} is below 1.0 (1000/mm3): interrupt {drug} per label.", `${REF} 6 (abnormal results); Rinvoq/Cibinqo US PI 2.1, Olumiant EU SmPC 4.2`),
  rule("abnormal.alc-low", "abnormal-lab", "critical", "Absolute lymphocyte count {value} x10*3/uL on {date} is below 0.5 (500/mm3): interrupt {drug} per label.", `${REF} 6 (abnormal results); Rinvoq/Cibinqo US PI 2.1, Olumiant EU SmPC 4.2`),
  rule("abnormal.hemoglobin-low", "abnormal-lab", "critical", "Hemoglobin {value} g/dL on {date} is below 8 g/dL: interrupt {drug} per label.", `${REF} 6 (abnormal results); Rinvoq/Cibinqo US PI 2.1, Olumiant EU SmPC 4.2`),
  rule("abnormal.platelets-abrocitinib", "abnormal-lab", "critical", "Platelets {value} x10*3/uL on {date} are below 50 (50,000/mm3) on abrocitinib: discontinue per label.", `${REF} 6 (abnormal results); Cibinqo US PI 2.2`),
  rule("abnormal.platelets-before-abrocitinib", "abnormal-lab", "warning", "Platelets {value} x10*3/uL on {date} are below 150 (150,000/mm3) before abrocitinib: the label says not to start.", `${REF} 6 (abnormal results); Cibinqo US PI 2.2`),
  rule("abnormal.transaminase-high", "abnormal-lab", "warning", "{lab} {value} U/L on {date} is above 3 x the upper limit of normal ({uln} U/L) on {drug}: evaluate for drug-induced liver injury.", `${REF} 6 (abnormal results); Rinvoq US PI 2.1, Cibinqo/Olumiant EU SmPC 4.4`),
  rule("abnormal.eu-abrocitinib-start-anc", "abnormal-lab", "warning", "ANC {value} x10*3/uL on {date} is below 1.2 before abrocitinib: the EU/UK label says not to start.", `${REF} 6 (EU option); Cibinqo EU/UK SmPC 4.2`),
  rule("abnormal.eu-abrocitinib-start-hemoglobin", "abnormal-lab", "warning", "Hemoglobin {value} g/dL on {date} is below 10 g/dL before abrocitinib: the EU/UK label says not to start.", `${REF} 6 (EU option); Cibinqo EU/UK SmPC 4.2`),
  rule("ruxolitinib-cream.bsa-limit", "bsa-limit", "warning", "Latest affected BSA is {value}% on {date}, above the 20% the label allows for ruxolitinib cream.", `${REF} 6; Opzelura US PI 2.1`),
  rule("ruxolitinib-cream.quantity", "cream-quantity", "warning", "Ruxolitinib cream {grams} g over {days} days ({perWeek} g/week) exceeds the label limit of {limit} for this age.", `${REF} 6; Opzelura US PI 2.1`),
  rule("vaccination.no-zoster-before-oral-jak", "vaccination", "info", "No zoster vaccination on record before {drug} was started on {start}; consider vaccinating per guidelines.", `${REF} 6 (vaccination); Rinvoq/Cibinqo US PI, EU SmPC 4.4`),
  rule("vaccination.live-during-oral-jak", "vaccination", "warning", "A live vaccine was given on {date} during {drug}; live vaccines are to be avoided during and shortly before treatment.", `${REF} 6 (vaccination); Rinvoq/Cibinqo US PI, EU SmPC 4.4`),
  rule("data-quality.lab-unit", "data-quality", "info", "A {lab} result on {date} has a unit ({unit}) that cannot be converted, so it was not checked against thresholds.", `${REF} 2 (units)`),
  rule("data-quality.jak-route-unknown", "data-quality", "info", "A ruxolitinib order or statement on {date} has no route or form, so it could not be classed as cream for eczema or oral.", `${REF} 3 (recognise by route/form)`),
]);

export const DEFAULT_RULES: RuleSet = {
  version: RULES_VERSION,
  courseGapDays: 60,
  baseline: { daysBefore: 30, daysAfter: 3, diaryMinValues: 4, diaryDays: 7 },
  checkpointWindows: [
    { week: 2, targetDay: 14, startDay: 8, endDay: 21 },
    { week: 4, targetDay: 28, startDay: 22, endDay: 42 },
    { week: 8, targetDay: 56, startDay: 43, endDay: 70 },
    { week: 12, targetDay: 84, startDay: 71, endDay: 98 },
    { week: 16, targetDay: 112, startDay: 99, endDay: 140 },
    { week: 24, targetDay: 168, startDay: 141, endDay: 196 },
  ],
  diaryMeasures: ["itch", "pain", "sleep"],
  measureRanges: {
    pain: [0, 10],
    itch: [0, 10],
    easi: [0, 72],
    iga: [0, 4],
    bsa: [0, 100],
    poem: [0, 28],
    dlqi: [0, 30],
    scorad: [0, 103],
    "po-scorad": [0, 103],
    sleep: [0, 10],
  },
  labWindows: {
    baselineLookbackDays: 90,
    screeningLookbackDays: 365,
    baselineDaysAfterStart: 3,
    week4: [14, 42],
    week12: [56, 112],
    periodic: { afterDay: 112, everyDays: 84, graceDays: 28 },
  },
  thresholds: {
    ancCritical: 1.0,
    alcCritical: 0.5,
    hemoglobinCritical: 8,
    plateletsCriticalAbrocitinib: 50,
    plateletsBeforeAbrocitinib: 150,
    transaminaseUlnMultiple: 3,
    euAbrocitinibStart: { enabled: false, anc: 1.2, hemoglobin: 10 },
    bsaLimitPercent: 20,
    creamGramsPerWeekAge12Plus: 60,
    creamGramsPerTwoWeeksAge2To11: 60,
    pregnancyAgeRange: [12, 50],
  },
  drugs: { upadacitinib, abrocitinib, baricitinib, "ruxolitinib-cream": ruxolitinibCream },
  rules: RULE_DEFINITIONS,
};
