/**
 * Default rules. Each cites, in one line, the label section, trial or guideline it encodes (as
 * ../shared/clinical-reference.md sections 5-6 record them) and lists the RULE_SOURCES ids a clinician can follow
 * (lib/clinical/sources.ts), primary first. Change RULES_VERSION whenever a window, threshold, message or source
 * changes: stored evaluations carry the version they were made with.
 */
import type { Criterion, DrugId, Severity } from "../types";
import type { CheckpointRule, DrugRules, RuleDefinition, RuleSet } from "./types";

export const RULES_VERSION = "2026.11.2";

function checkpoint(drug: DrugId, week: number, criteria: Criterion[], severity: Severity, why: string, source: string, sources: string[]): CheckpointRule {
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
    sources,
  };
}

const EARLY_WHY_PAIN = "early pain and itch relief is expected from week 2, so review adherence and disease activity.";
const EARLY_WHY_ITCH = "itch relief of 4 points is expected by week 4 in responders, so review adherence and disease activity.";
const ITCH_4 = "itch-4 per Yosipovitch et al., Br J Dermatol 2019";
const PAIN_3 = "pain-3 above the skin-pain MCID of Silverberg et al., Arch Dermatol Res 2021";

const upadacitinib: DrugRules = {
  drug: "upadacitinib",
  route: "oral",
  label: "upadacitinib (Rinvoq)",
  checkpoints: [
    checkpoint("upadacitinib", 2, ["pain-3", "itch-4"], "info", EARLY_WHY_PAIN,
      `Measure Up 1/2 patient-reported outcomes (itch and skin pain improve from week 1-2); ${ITCH_4}; ${PAIN_3}`,
      ["measure-up-pro-2024", "yosipovitch-2019", "silverberg-skin-pain-2021"]),
    checkpoint("upadacitinib", 4, ["itch-4"], "info", EARLY_WHY_ITCH,
      `Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021); ${ITCH_4}`,
      ["measure-up-2021", "yosipovitch-2019", "measure-up-pro-2024"]),
    checkpoint("upadacitinib", 12, ["easi-50", "iga-success", "itch-4"], "warning", "the EU SmPC advises considering stopping without therapeutic benefit at 12 weeks.",
      "Rinvoq EU SmPC section 4.2 (consider stopping without benefit after 12 weeks)",
      ["rinvoq-eu-smpc-4.2", "measure-up-2021"]),
    checkpoint("upadacitinib", 16, ["easi-50", "iga-success", "itch-4"], "warning", "week 16 is the trial primary endpoint (EASI-75 is the target band), so reconsider the dose or the therapy.",
      "Measure Up 1/2 primary endpoint at week 16 (Guttman-Yassky et al., Lancet 2021)",
      ["measure-up-2021", "rinvoq-eu-smpc-4.2"]),
  ],
  labs: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver", "pregnancy"], "week-4": [], "week-12": ["lipids"], periodic: ["cbc", "liver"] },
  cbcRequiresPlatelets: false,
  tbScreenConsider: false,
  source: "Rinvoq US Prescribing Information sections 2, 5.1, 5.8 and 8.3 and HCP monitoring page; EU SmPC sections 4.2 and 4.4",
  sources: ["rinvoq-us-pi-labs", "rinvoq-us-pi-5.1", "rinvoq-us-pi-8.3", "rinvoq-hcp-monitoring", "rinvoq-eu-smpc-4.2", "rinvoq-eu-smpc-4.4"],
};

const abrocitinib: DrugRules = {
  drug: "abrocitinib",
  route: "oral",
  label: "abrocitinib (Cibinqo)",
  checkpoints: [
    checkpoint("abrocitinib", 2, ["pain-3", "itch-4"], "info", EARLY_WHY_PAIN,
      `JADE MONO-1 (itch response from week 2; Simpson et al., Lancet 2020); ${ITCH_4}; ${PAIN_3}`,
      ["jade-mono-1-2020", "yosipovitch-2019", "silverberg-skin-pain-2021"]),
    checkpoint("abrocitinib", 4, ["itch-4"], "info", EARLY_WHY_ITCH,
      `JADE MONO-1 (Simpson et al., Lancet 2020); ${ITCH_4}`,
      ["jade-mono-1-2020", "yosipovitch-2019"]),
    checkpoint("abrocitinib", 12, ["easi-50", "iga-success", "itch-4"], "info", "the US label suggests considering 200 mg when the response to 100 mg is inadequate.",
      "Cibinqo US Prescribing Information section 2.2; JADE MONO-1/2 primary endpoints at week 12",
      ["cibinqo-us-pi-2.2", "jade-mono-1-2020", "jade-mono-2-2020"]),
    checkpoint("abrocitinib", 16, ["easi-50", "iga-success", "itch-4"], "warning", "reconsider the dose or the therapy.",
      "Cibinqo US Prescribing Information section 2.2 (stop if the response stays inadequate on 200 mg)",
      ["cibinqo-us-pi-2.2"]),
    checkpoint("abrocitinib", 24, ["easi-50", "iga-success", "itch-4"], "warning", "the EU SmPC advises considering stopping without therapeutic benefit at 24 weeks.",
      "Cibinqo EU SmPC section 4.2 (consider stopping without benefit after 24 weeks)",
      ["cibinqo-eu-smpc-4.2"]),
  ],
  labs: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "lipids"], "week-4": ["cbc", "lipids"], "week-12": [], periodic: ["cbc"] },
  cbcRequiresPlatelets: true,
  tbScreenConsider: false,
  source: "Cibinqo US Prescribing Information sections 2.1, 2.2, 5.1 and 5.6; EU SmPC sections 4.2 and 4.4",
  sources: ["cibinqo-us-pi-labs", "cibinqo-us-pi-2.2", "cibinqo-us-pi-5.1", "cibinqo-eu-smpc-4.2", "cibinqo-eu-smpc-4.4"],
};

const baricitinib: DrugRules = {
  drug: "baricitinib",
  route: "oral",
  label: "baricitinib (Olumiant)",
  checkpoints: [
    checkpoint("baricitinib", 2, ["pain-3", "itch-4"], "info", EARLY_WHY_PAIN,
      `BREEZE-AD1/2 (itch and skin pain improve from week 1-2; Simpson et al., Br J Dermatol 2020); ${ITCH_4}; ${PAIN_3}`,
      ["breeze-ad-2020", "yosipovitch-2019", "silverberg-skin-pain-2021"]),
    checkpoint("baricitinib", 4, ["itch-4"], "info", EARLY_WHY_ITCH,
      `BREEZE-AD1/2 (Simpson et al., Br J Dermatol 2020); ${ITCH_4}`,
      ["breeze-ad-2020", "yosipovitch-2019"]),
    checkpoint("baricitinib", 8, ["easi-50", "iga-improved", "itch-4"], "warning", "the Swiss label advises stopping when there is no improvement after 8 weeks.",
      "Olumiant Swiss product information (Fachinformation), Dosierung/Anwendung (stop without improvement after 8 weeks)",
      ["olumiant-ch-fachinfo", "olumiant-eu-smpc-4.2"]),
    checkpoint("baricitinib", 16, ["easi-50", "iga-success", "itch-4"], "warning", "reconsider the therapy.",
      "Olumiant EU SmPC section 4.2; BREEZE-AD1/2 primary endpoint at week 16",
      ["olumiant-eu-smpc-4.2", "breeze-ad-2020"]),
  ],
  labs: { baseline: ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver"], "week-4": [], "week-12": ["lipids"], periodic: ["cbc", "liver"] },
  cbcRequiresPlatelets: false,
  tbScreenConsider: false,
  source: "Olumiant EU SmPC sections 4.2 and 4.4; Swiss product information (Fachinformation)",
  sources: ["olumiant-eu-smpc-4.4", "olumiant-eu-smpc-4.2", "olumiant-ch-fachinfo", "olumiant-us-pi"],
};

const ruxolitinibCream: DrugRules = {
  drug: "ruxolitinib-cream",
  route: "topical",
  label: "ruxolitinib 1.5% cream (Opzelura)",
  checkpoints: [
    checkpoint("ruxolitinib-cream", 2, ["pain-3", "itch-4"], "info", "early pain and itch relief from week 2 is what the ruxolitinib cream reports describe, so review application and adherence.",
      `TRuE-AD1/2 (itch relief within days, itch NRS4 at week 2 about 33%; Papp et al., J Am Acad Dermatol 2021); ${ITCH_4}`,
      ["true-ad-2021", "yosipovitch-2019", "silverberg-skin-pain-2021"]),
    checkpoint("ruxolitinib-cream", 4, ["itch-4"], "info", EARLY_WHY_ITCH,
      `TRuE-AD1/2 (Papp et al., J Am Acad Dermatol 2021); ${ITCH_4}`,
      ["true-ad-2021", "yosipovitch-2019"]),
    checkpoint("ruxolitinib-cream", 8, ["easi-50", "iga-improved", "itch-4"], "warning", "the US label advises re-examining the patient when there is no improvement within 8 weeks.",
      "Opzelura US Prescribing Information section 2.1 (re-examine without improvement within 8 weeks); TRuE-AD1/2 primary endpoint at week 8",
      ["opzelura-us-pi-2.1", "true-ad-2021"]),
  ],
  labs: { baseline: [], "week-4": [], "week-12": [], periodic: [] },
  cbcRequiresPlatelets: false,
  tbScreenConsider: true,
  source: "Opzelura US Prescribing Information sections 2.1 and 5.1",
  sources: ["opzelura-us-pi-2.1", "opzelura-us-pi-5.1"],
};

interface RuleSourcing {
  source: string;
  sources: string[];
  sourcesByDrug?: RuleDefinition["sourcesByDrug"];
}

function rule(ruleId: string, kind: RuleDefinition["kind"], severity: Severity, message: string, sourcing: RuleSourcing): [string, RuleDefinition] {
  return [ruleId, { ruleId, kind, severity, message, ...sourcing }];
}

/** Oral JAK labels' interrupt thresholds (ANC, ALC, hemoglobin), each drug's own label first. */
const CYTOPENIA: RuleSourcing = {
  source: "Rinvoq US Prescribing Information sections 2 and 5.8; Cibinqo US Prescribing Information sections 2.1 and 5.6; Olumiant EU SmPC section 4.2",
  sources: ["rinvoq-us-pi-labs", "cibinqo-us-pi-labs", "olumiant-eu-smpc-4.2"],
  sourcesByDrug: {
    upadacitinib: ["rinvoq-us-pi-labs", "rinvoq-eu-smpc-4.2"],
    abrocitinib: ["cibinqo-us-pi-labs", "cibinqo-eu-smpc-4.2"],
    baricitinib: ["olumiant-eu-smpc-4.2", "olumiant-eu-smpc-4.4", "olumiant-us-pi"],
  },
};

const RULE_DEFINITIONS: Record<string, RuleDefinition> = Object.fromEntries([
  rule("labs.baseline-missing", "missing-lab", "warning", "No baseline {lab} on record before {drug} was started on {start}; the label asks for it before the first dose.", {
    source: "Rinvoq US Prescribing Information sections 2, 5.1 and 8.3; Cibinqo US Prescribing Information sections 2.1 and 5.1; Olumiant EU SmPC section 4.4",
    sources: ["rinvoq-us-pi-labs", "cibinqo-us-pi-labs", "olumiant-eu-smpc-4.4"],
    sourcesByDrug: {
      upadacitinib: ["rinvoq-us-pi-labs", "rinvoq-us-pi-5.1", "rinvoq-us-pi-8.3", "rinvoq-hcp-monitoring"],
      abrocitinib: ["cibinqo-us-pi-labs", "cibinqo-us-pi-5.1"],
      baricitinib: ["olumiant-eu-smpc-4.4", "olumiant-eu-smpc-4.2"],
    },
  }),
  rule("labs.follow-up-overdue", "overdue-lab", "warning", "The {phase} {lab} for {drug} was due by {dueBy} and no result is on record.", {
    source: "Rinvoq US Prescribing Information sections 2 and 5.8 and HCP monitoring page (lipids at week 12, CBC and liver periodically); Cibinqo US Prescribing Information sections 2.1 and 5.6 (CBC and lipids at week 4); Olumiant EU SmPC section 4.4 (lipids at week 12)",
    sources: ["rinvoq-us-pi-labs", "cibinqo-us-pi-labs", "olumiant-eu-smpc-4.4"],
    sourcesByDrug: {
      upadacitinib: ["rinvoq-us-pi-labs", "rinvoq-hcp-monitoring"],
      abrocitinib: ["cibinqo-us-pi-labs"],
      baricitinib: ["olumiant-eu-smpc-4.4"],
    },
  }),
  rule("labs.tb-screen-consider", "missing-lab", "info", "No TB screening on record for {drug}; the label says to consider it before starting.", {
    source: "Opzelura US Prescribing Information section 5.1 (consider evaluating for latent and active TB)",
    sources: ["opzelura-us-pi-5.1"],
  }),
  rule("abnormal.anc-low", "abnormal-lab", "critical", "Absolute neutrophil count {value} x10*3/uL on {date} is below 1.0 (1000/mm3): interrupt {drug} per label.", CYTOPENIA),
  rule("abnormal.alc-low", "abnormal-lab", "critical", "Absolute lymphocyte count {value} x10*3/uL on {date} is below 0.5 (500/mm3): interrupt {drug} per label.", CYTOPENIA),
  rule("abnormal.hemoglobin-low", "abnormal-lab", "critical", "Hemoglobin {value} g/dL on {date} is below 8 g/dL: interrupt {drug} per label.", CYTOPENIA),
  rule("abnormal.platelets-abrocitinib", "abnormal-lab", "critical", "Platelets {value} x10*3/uL on {date} are below 50 (50,000/mm3) on abrocitinib: discontinue per label.", {
    source: "Cibinqo US Prescribing Information sections 2.1 and 5.6 (platelets below 50,000/mm3: discontinue)",
    sources: ["cibinqo-us-pi-labs", "cibinqo-eu-smpc-4.2"],
  }),
  rule("abnormal.platelets-before-abrocitinib", "abnormal-lab", "warning", "Platelets {value} x10*3/uL on {date} are below 150 (150,000/mm3) before abrocitinib: the label says not to start.", {
    source: "Cibinqo US Prescribing Information sections 2.1 and 5.6 (do not start below 150,000/mm3)",
    sources: ["cibinqo-us-pi-labs"],
  }),
  rule("abnormal.transaminase-high", "abnormal-lab", "warning", "{lab} {value} U/L on {date} is above 3 x the upper limit of normal ({uln} U/L) on {drug}: evaluate for drug-induced liver injury.", {
    source: "Rinvoq US Prescribing Information section 5.8 (liver enzyme elevations); Cibinqo and Olumiant EU SmPC section 4.4",
    sources: ["rinvoq-us-pi-labs", "cibinqo-eu-smpc-4.4", "olumiant-eu-smpc-4.4"],
    sourcesByDrug: {
      upadacitinib: ["rinvoq-us-pi-labs", "rinvoq-eu-smpc-4.4"],
      abrocitinib: ["cibinqo-eu-smpc-4.4", "cibinqo-us-pi-labs"],
      baricitinib: ["olumiant-eu-smpc-4.4", "olumiant-us-pi"],
    },
  }),
  rule("abnormal.eu-abrocitinib-start-anc", "abnormal-lab", "warning", "ANC {value} x10*3/uL on {date} is below 1.2 before abrocitinib: the EU/UK label says not to start.", {
    source: "Cibinqo EU SmPC section 4.2 (do not start with ANC below 1.2 x10^9/L)",
    sources: ["cibinqo-eu-smpc-4.2"],
  }),
  rule("abnormal.eu-abrocitinib-start-hemoglobin", "abnormal-lab", "warning", "Hemoglobin {value} g/dL on {date} is below 10 g/dL before abrocitinib: the EU/UK label says not to start.", {
    source: "Cibinqo EU SmPC section 4.2 (do not start with hemoglobin below 10 g/dL)",
    sources: ["cibinqo-eu-smpc-4.2"],
  }),
  rule("ruxolitinib-cream.bsa-limit", "bsa-limit", "warning", "Latest affected BSA is {value}% on {date}, above the 20% the label allows for ruxolitinib cream.", {
    source: "Opzelura US Prescribing Information section 2.1 (up to 20% body surface area)",
    sources: ["opzelura-us-pi-2.1"],
  }),
  rule("ruxolitinib-cream.quantity", "cream-quantity", "warning", "Ruxolitinib cream {grams} g over {days} days ({perWeek} g/week) exceeds the label limit of {limit} for this age.", {
    source: "Opzelura US Prescribing Information section 2.1 (no more than 60 g per week)",
    sources: ["opzelura-us-pi-2.1"],
  }),
  rule("vaccination.no-zoster-before-oral-jak", "vaccination", "info", "No zoster vaccination on record before {drug} was started on {start}; consider vaccinating per guidelines.", {
    source: "ACIP recommendations on recombinant zoster vaccine for immunocompromised adults (MMWR 2022); Rinvoq, Cibinqo and Olumiant EU SmPC section 4.4 (vaccinations)",
    sources: ["acip-rzv-2022", "rinvoq-eu-smpc-4.4", "cibinqo-eu-smpc-4.4", "olumiant-eu-smpc-4.4"],
    sourcesByDrug: {
      upadacitinib: ["acip-rzv-2022", "rinvoq-eu-smpc-4.4"],
      abrocitinib: ["acip-rzv-2022", "cibinqo-eu-smpc-4.4"],
      baricitinib: ["acip-rzv-2022", "olumiant-eu-smpc-4.4"],
    },
  }),
  rule("vaccination.live-during-oral-jak", "vaccination", "warning", "A live vaccine was given on {date} during {drug}; live vaccines are to be avoided during and shortly before treatment.", {
    source: "Rinvoq, Cibinqo and Olumiant EU SmPC section 4.4 (no live vaccines during or shortly before treatment); CDC/ACIP guidance on altered immunocompetence",
    sources: ["rinvoq-eu-smpc-4.4", "cibinqo-eu-smpc-4.4", "olumiant-eu-smpc-4.4", "cdc-altered-immunocompetence"],
    sourcesByDrug: {
      upadacitinib: ["rinvoq-eu-smpc-4.4", "cdc-altered-immunocompetence"],
      abrocitinib: ["cibinqo-eu-smpc-4.4", "cdc-altered-immunocompetence"],
      baricitinib: ["olumiant-eu-smpc-4.4", "cdc-altered-immunocompetence"],
    },
  }),
  rule("data-quality.lab-unit", "data-quality", "info", "A {lab} result on {date} has a unit ({unit}) that cannot be converted, so it was not checked against thresholds.", {
    source: "UCUM units: the label thresholds are in 10^3/uL and g/dL, so other units must convert exactly",
    sources: ["ucum"],
  }),
  rule("data-quality.jak-route-unknown", "data-quality", "info", "A ruxolitinib order or statement on {date} has no route or form, so it could not be classed as cream for eczema or oral.", {
    source: "Opzelura US Prescribing Information section 1 (the eczema product is the topical cream; oral ruxolitinib is another product)",
    sources: ["opzelura-us-pi-1"],
  }),
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
