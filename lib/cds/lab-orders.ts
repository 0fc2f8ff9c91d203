/**
 * Safety-lab requirements as orderable tests: each requirement of the engine's checklist (tb-screen, hbv-screen,
 * ...) maps to the LOINC codes of clinical-reference section 2, and becomes draft ServiceRequests that a CDS card's
 * suggestions create. Pure.
 */
import type { ServiceRequest } from "@medplum/fhirtypes";
import type { LabRequirementLab } from "../clinical/types";
import type { CdsSuggestion } from "./card-types";

export const LOINC_SYSTEM = "http://loinc.org";
/** SNOMED CT "Laboratory procedure", the US Core ServiceRequest category for lab orders. */
const LAB_CATEGORY = { coding: [{ system: "http://snomed.info/sct", code: "108252007", display: "Laboratory procedure" }] };

export interface LabOrderCode {
  code: string;
  /** The LOINC display. */
  display: string;
  /** How the order reads in a suggestion ("IGRA", "ALT"). */
  short: string;
}

/**
 * The tests to order per requirement. CBC: the panel 58410-2 is a count without differential, and the labels'
 * thresholds are on the absolute neutrophil and lymphocyte counts, so those are ordered beside it (hemoglobin and
 * platelets are in the panel). Pregnancy: a serum hCG drawn with the other labs (urine hCG 2106-3 also satisfies it).
 */
export const LAB_ORDER_CODES: Readonly<Record<LabRequirementLab, readonly LabOrderCode[]>> = {
  "tb-screen": [{ code: "71773-6", display: "Mycobacterium tuberculosis stimulated gamma interferon [Interpretation] in Blood", short: "IGRA" }],
  "hbv-screen": [
    { code: "5196-1", display: "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay", short: "HBsAg" },
    { code: "16933-4", display: "Hepatitis B virus core Ab [Presence] in Serum", short: "anti-HBc" },
  ],
  "hcv-screen": [{ code: "16128-1", display: "Hepatitis C virus Ab [Presence] in Serum", short: "anti-HCV" }],
  cbc: [
    { code: "58410-2", display: "CBC panel - Blood by Automated count", short: "CBC" },
    { code: "751-8", display: "Neutrophils [#/volume] in Blood by Automated count", short: "ANC" },
    { code: "731-0", display: "Lymphocytes [#/volume] in Blood by Automated count", short: "ALC" },
  ],
  liver: [
    { code: "1742-6", display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", short: "ALT" },
    { code: "1920-8", display: "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", short: "AST" },
  ],
  lipids: [{ code: "57698-3", display: "Lipid panel with direct LDL - Serum or Plasma", short: "lipid panel" }],
  pregnancy: [{ code: "21198-7", display: "Choriogonadotropin.beta subunit [Units/volume] in Serum or Plasma", short: "serum hCG" }],
};

/** How each requirement is named to a clinician, short (summaries) and long (details, suggestion labels). */
export const LAB_REQUIREMENT_NAMES: Readonly<Record<LabRequirementLab, { short: string; long: string }>> = {
  "tb-screen": { short: "TB", long: "TB screening (IGRA)" },
  "hbv-screen": { short: "hepatitis B", long: "hepatitis B screening (HBsAg and anti-HBc)" },
  "hcv-screen": { short: "hepatitis C", long: "hepatitis C screening (anti-HCV)" },
  cbc: { short: "CBC", long: "CBC with ANC, ALC, hemoglobin and platelets" },
  liver: { short: "liver enzymes", long: "liver enzymes (ALT and AST)" },
  lipids: { short: "lipids", long: "lipid panel" },
  pregnancy: { short: "pregnancy test", long: "pregnancy test (hCG)" },
};

const LAB_IDS: ReadonlySet<string> = new Set(Object.keys(LAB_ORDER_CODES));

/** The lab of a requirement id ("baseline:tb-screen" -> "tb-screen"), or null for one the engine does not know. */
export function requirementLab(requirement: string): LabRequirementLab | null {
  const lab = requirement.slice(requirement.indexOf(":") + 1);
  return LAB_IDS.has(lab) ? (lab as LabRequirementLab) : null;
}

/** Draft ServiceRequests (status draft, intent proposal) for one requirement, one per LOINC code. */
export function labServiceRequests(lab: LabRequirementLab, patientId: string, reason: string): ServiceRequest[] {
  return LAB_ORDER_CODES[lab].map((c) => ({
    resourceType: "ServiceRequest",
    status: "draft",
    intent: "proposal",
    category: [LAB_CATEGORY],
    code: { coding: [{ system: LOINC_SYSTEM, code: c.code, display: c.display }], text: c.short },
    subject: { reference: `Patient/${patientId}` },
    reasonCode: [{ text: reason }],
  }));
}

function createActions(lab: LabRequirementLab, patientId: string, reason: string) {
  const codes = LAB_ORDER_CODES[lab];
  return labServiceRequests(lab, patientId, reason).map((resource, i) => ({
    type: "create" as const,
    description: `Order ${codes[i]!.short} (LOINC ${codes[i]!.code})`,
    resource,
  }));
}

/**
 * Suggestions for a card about labs to order: first all of them together (recommended), then one per requirement,
 * so the clinician can accept all or pick (the card's selectionBehavior is "any"). Labs are deduplicated, in order.
 */
export function labOrderSuggestions(
  labs: readonly LabRequirementLab[],
  opts: { patientId: string; uuid: () => string; allLabel: string; reason: string },
): CdsSuggestion[] {
  const unique = [...new Set(labs)];
  if (unique.length === 0) return [];
  const all: CdsSuggestion = {
    label: unique.length === 1 ? `Order ${LAB_REQUIREMENT_NAMES[unique[0]!].long}` : opts.allLabel,
    uuid: opts.uuid(),
    isRecommended: true,
    actions: unique.flatMap((lab) => createActions(lab, opts.patientId, opts.reason)),
  };
  // One requirement only: the "all" suggestion already is the per-lab one.
  if (unique.length === 1) return [all];
  return [
    all,
    ...unique.map((lab) => ({
      label: `Order ${LAB_REQUIREMENT_NAMES[lab].long}`,
      uuid: opts.uuid(),
      isRecommended: false,
      actions: createActions(lab, opts.patientId, opts.reason),
    })),
  ];
}
