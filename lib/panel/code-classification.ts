/**
 * Code coverage, the pure half: each distinct coded concept found in the synced resources is classified with the
 * engine's own matcher (lib/clinical codes.ts: built-in system|code, then site mappings, then text keywords) into
 * the concept it feeds and how it matched, or "ignored" with the reason the engine leaves it out. Rows for the
 * same code and outcome are merged and their resource counts summed. No IO: the SQL that finds the concepts lives
 * in code-coverage.ts. Client-safe types at the top.
 */
import { conceptId, firstCoding, indexMappings, matchConcept, normalizeSystem, parseConceptId, type ConceptMatch, type KeywordDomain, type MappingIndex } from "../clinical/codes";
import type { Concept, MatchHow } from "../clinical/types";

/** Where in a resource the concept was found; the row's "resource" column says it in words. */
export type CodePart = "Observation" | "Observation.component" | "MedicationStatement" | "MedicationRequest" | "MedicationDispense" | "Medication" | "Immunization" | "Procedure";

export const CODE_PARTS: readonly CodePart[] = [
  "Observation",
  "Observation.component",
  "MedicationStatement",
  "MedicationRequest",
  "MedicationDispense",
  "Medication",
  "Immunization",
  "Procedure",
];

/** One distinct concept as the SQL scan found it, with how many resources carry it. */
export interface CodeGroup {
  part: CodePart;
  /** The CodeableConcept (Observation.code, medication[x] resolved, vaccineCode, ...); null when absent. */
  concept: unknown;
  /** Medication ingredients' itemCodeableConcept: tried when the medication's own code matches nothing. */
  alternatives?: unknown[] | null;
  /** Observation with components / hasMember: a panel whose parts are read on their own. */
  hasComponents?: boolean;
  hasMembers?: boolean;
  /** Observation text, body site, method or note mentions skin (decides generic pain severity); null when not computed. */
  skinContext?: boolean | null;
  resources: number;
}

export type IgnoreReason =
  | "no-code"
  | "no-concept"
  | "panel"
  | "generic-pain-not-skin"
  | "not-observation-concept"
  | "not-tracked-therapy"
  | "not-zoster-or-live-vaccine"
  | "not-phototherapy";

export const IGNORE_REASON_TEXT: Record<IgnoreReason, string> = {
  "no-code": "No coding and no text: nothing to match.",
  "no-concept": "No built-in code, site mapping or keyword in the text matches it.",
  panel: "A panel: not a measure itself; its components or members are read on their own.",
  "generic-pain-not-skin": "Generic pain severity (LOINC 72514-3) without skin, eczema or dermatitis in its text, body site, method or note: not counted as skin pain.",
  "not-observation-concept": "Matched a concept that Observations do not feed (a drug, therapy or vaccine).",
  "not-tracked-therapy": "Not a JAK inhibitor or another eczema therapy the engine tracks.",
  "not-zoster-or-live-vaccine": "Only zoster and live vaccines count (vaccination flags).",
  "not-phototherapy": "Procedures count only as phototherapy.",
};

export interface CodingView {
  system: string | null;
  code: string | null;
  display: string | null;
}

export interface CoverageRow {
  /** Stable key of the merged row (part, system, code, outcome). */
  key: string;
  part: CodePart;
  /** The coding that matched, else the first coding (system normalised as the engine compares it). */
  system: string | null;
  code: string | null;
  display: string | null;
  /** Every coding of the concept (up to 5): a site mapping may target any of them. */
  codings: CodingView[];
  resources: number;
  /** Matched rows: the concept id ("measure:itch", "lab:anc", ...) and how. */
  concept: string | null;
  how: MatchHow | null;
  /** Ignored rows: why. */
  reason: IgnoreReason | null;
  reasonText: string | null;
  /** Matched rows whose use depends on the resource (route, skin context). */
  note: string | null;
}

export interface ClassifiedCoverage {
  matched: CoverageRow[];
  ignored: CoverageRow[];
}

/** A row of code_mappings as the panel shows it. */
export interface CodeMappingView {
  id: string;
  system: string;
  code: string;
  concept: string;
  display: string | null;
  createdBy: string | null;
  createdAt: string;
}

export interface MappingCoverage extends CodeMappingView {
  /** Resources the engine matched through this mapping. */
  resources: number;
  /** The concept id is not one the engine knows: the engine ignores the mapping. */
  invalidConcept: boolean;
  /** A built-in system|code already matches this code: the mapping never applies. */
  shadowedBy: string | null;
}

const KEYWORD_DOMAIN: Record<CodePart, KeywordDomain> = {
  Observation: "observation",
  "Observation.component": "observation",
  MedicationStatement: "drug",
  MedicationRequest: "drug",
  MedicationDispense: "drug",
  Medication: "drug",
  Immunization: "vaccine",
  Procedure: "procedure",
};

interface Outcome {
  match: ConceptMatch | null;
  concept: Concept | null;
  reason: IgnoreReason | null;
  note: string | null;
}

/** What the engine does with one concept in one place (mirrors normalize.ts, courses.ts and vaccination.ts). */
export function classifyGroup(group: CodeGroup, mappings: MappingIndex): Outcome {
  const domain = KEYWORD_DOMAIN[group.part];
  let match = matchConcept(group.concept, mappings, domain);
  if (!match && isMedicationPart(group.part)) {
    for (const alternative of group.alternatives ?? []) {
      match = matchConcept(alternative, mappings, domain);
      if (match) break;
    }
  }
  const ignored = (reason: IgnoreReason): Outcome => ({ match, concept: null, reason, note: null });
  if (!hasAnyCode(group.concept) && !match) return ignored("no-code");
  switch (group.part) {
    case "Observation":
    case "Observation.component": {
      if (!match) return ignored(group.part === "Observation" && (group.hasComponents || group.hasMembers) ? "panel" : "no-concept");
      const c = match.concept;
      if (c.domain === "measure-candidate") {
        return group.skinContext
          ? { match, concept: { domain: "measure", key: "pain" }, reason: null, note: "Generic pain severity with skin context: read as skin pain." }
          : ignored("generic-pain-not-skin");
      }
      if (c.domain !== "measure" && c.domain !== "lab") return ignored("not-observation-concept");
      return { match, concept: c, reason: null, note: null };
    }
    case "MedicationStatement":
    case "MedicationRequest":
    case "MedicationDispense":
    case "Medication": {
      if (!match || (match.concept.domain !== "drug" && match.concept.domain !== "therapy")) return ignored("not-tracked-therapy");
      return { match, concept: match.concept, reason: null, note: medicationNote(match.concept) };
    }
    case "Immunization":
      if (!match || match.concept.domain !== "vaccine") return ignored("not-zoster-or-live-vaccine");
      return { match, concept: match.concept, reason: null, note: null };
    case "Procedure":
      if (!match || match.concept.domain !== "therapy") return ignored("not-phototherapy");
      return { match, concept: match.concept, reason: null, note: null };
  }
}

function isMedicationPart(part: CodePart): boolean {
  return part === "MedicationStatement" || part === "MedicationRequest" || part === "MedicationDispense" || part === "Medication";
}

function medicationNote(concept: Concept): string | null {
  if (concept.domain === "drug" && concept.key === "ruxolitinib") return "Ruxolitinib: the eczema cream only when route, form or name says topical.";
  if (concept.domain === "therapy" && concept.therapyClass === "topical-corticosteroid") return "Used only when topical (route, form or name); inhaled or oral corticosteroids are ignored.";
  if (concept.domain === "therapy" && concept.key === "tacrolimus") return "Oral tacrolimus counts as a systemic immunosuppressant.";
  return null;
}

function asRecord(x: unknown): Record<string, unknown> | null {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

function hasAnyCode(concept: unknown): boolean {
  const cc = asRecord(concept);
  if (!cc) return false;
  if (typeof cc.text === "string" && cc.text.trim()) return true;
  return codingsOf(cc).length > 0;
}

/** Codings with a system or code or display, as written (system normalised). */
export function codingsOf(concept: unknown, limit = 5): CodingView[] {
  const cc = asRecord(concept);
  const out: CodingView[] = [];
  if (!cc || !Array.isArray(cc.coding)) return out;
  for (const raw of cc.coding) {
    const c = asRecord(raw);
    if (!c) continue;
    const system = typeof c.system === "string" ? normalizeSystem(c.system) : null;
    const code = typeof c.code === "string" ? c.code.trim() : null;
    const display = typeof c.display === "string" ? c.display : null;
    if (system === null && code === null && display === null) continue;
    out.push({ system, code, display });
    if (out.length >= limit) break;
  }
  return out;
}

/** Classifies and merges the scanned groups. Rows are sorted by resources, most first. */
export function classifyCodeGroups(groups: readonly CodeGroup[], mappings: MappingIndex): ClassifiedCoverage {
  const rows = new Map<string, CoverageRow>();
  for (const group of groups) {
    const outcome = classifyGroup(group, mappings);
    const shown = outcome.match && outcome.concept ? { system: outcome.match.system, code: outcome.match.code, display: outcome.match.display } : firstCodingOf(group.concept);
    const concept = outcome.concept ? conceptId(outcome.concept) : null;
    const how = outcome.concept ? (outcome.match?.how ?? null) : null;
    // A concept without a code is told apart by its text; coded ones merge whatever their display.
    const key = [group.part, shown.system ?? "", shown.code ?? "", shown.code === null ? (shown.display ?? "") : "", concept ?? "", how ?? "", outcome.reason ?? ""].join("|");
    const existing = rows.get(key);
    if (existing) {
      existing.resources += group.resources;
      if (!existing.display && shown.display) existing.display = shown.display;
      for (const c of codingsOf(group.concept)) {
        if (existing.codings.length < 5 && !existing.codings.some((e) => e.system === c.system && e.code === c.code)) existing.codings.push(c);
      }
      continue;
    }
    rows.set(key, {
      key,
      part: group.part,
      system: shown.system,
      code: shown.code,
      display: shown.display,
      codings: codingsOf(group.concept),
      resources: group.resources,
      concept,
      how,
      reason: outcome.reason,
      reasonText: outcome.reason ? IGNORE_REASON_TEXT[outcome.reason] : null,
      note: outcome.note,
    });
  }
  const all = [...rows.values()].sort((a, b) => b.resources - a.resources || a.key.localeCompare(b.key));
  return { matched: all.filter((r) => r.reason === null), ignored: all.filter((r) => r.reason !== null) };
}

function firstCodingOf(concept: unknown): CodingView {
  const first = firstCoding(concept);
  return { system: first.system ? normalizeSystem(first.system) : null, code: first.code ? first.code.trim() : null, display: first.display };
}

/** The built-in concept id for system|code, or null when only a site mapping or text can match it. */
export function builtInConceptFor(system: string, code: string): string | null {
  const match = matchConcept({ coding: [{ system, code }] }, EMPTY_INDEX, "observation");
  return match && match.how === "system-code" ? conceptId(match.concept) : null;
}

const EMPTY_INDEX: MappingIndex = new Map();

/** Each site mapping with the resources it matched (from the classified rows) and whether the engine can use it. */
export function mappingCoverage(mappings: readonly CodeMappingView[], matched: readonly CoverageRow[]): MappingCoverage[] {
  const viaMapping = new Map<string, number>();
  for (const row of matched) {
    if (row.how !== "site-mapping" || row.system === null || row.code === null) continue;
    const key = `${row.system}|${row.code}`;
    viaMapping.set(key, (viaMapping.get(key) ?? 0) + row.resources);
  }
  return mappings.map((m) => ({
    ...m,
    resources: viaMapping.get(`${normalizeSystem(m.system)}|${m.code}`) ?? 0,
    invalidConcept: parseConceptId(m.concept) === null,
    shadowedBy: builtInConceptFor(m.system, m.code),
  }));
}

export function mappingIndexOf(mappings: readonly CodeMappingView[]): MappingIndex {
  return indexMappings(mappings.map((m) => ({ system: m.system, code: m.code, concept: m.concept })));
}

/** Concept ids offered in the mapping form, grouped for a <select>; every one parses with parseConceptId (tested). */
export const MAPPABLE_CONCEPTS: ReadonlyArray<{ group: string; options: ReadonlyArray<{ id: string; label: string }> }> = [
  {
    group: "Scores",
    options: [
      { id: "measure:itch", label: "Itch NRS (worst itch, 0-10)" },
      { id: "measure:pain", label: "Skin pain NRS (0-10)" },
      { id: "measure:easi", label: "EASI (0-72)" },
      { id: "measure:iga", label: "vIGA-AD (0-4)" },
      { id: "measure:bsa", label: "BSA affected (%)" },
      { id: "measure:poem", label: "POEM (0-28)" },
      { id: "measure:dlqi", label: "DLQI (0-30)" },
      { id: "measure:scorad", label: "SCORAD" },
      { id: "measure:po-scorad", label: "PO-SCORAD" },
      { id: "measure:sleep", label: "Sleep loss NRS (0-10)" },
    ],
  },
  {
    group: "Safety labs",
    options: [
      { id: "lab:cbc-panel", label: "CBC panel" },
      { id: "lab:hemoglobin", label: "Hemoglobin" },
      { id: "lab:wbc", label: "White cell count" },
      { id: "lab:anc", label: "Neutrophils (ANC)" },
      { id: "lab:alc", label: "Lymphocytes (ALC)" },
      { id: "lab:platelets", label: "Platelets" },
      { id: "lab:alt", label: "ALT" },
      { id: "lab:ast", label: "AST" },
      { id: "lab:lipid-panel", label: "Lipid panel" },
      { id: "lab:cholesterol", label: "Total cholesterol" },
      { id: "lab:ldl", label: "LDL cholesterol" },
      { id: "lab:hdl", label: "HDL cholesterol" },
      { id: "lab:triglycerides", label: "Triglycerides" },
      { id: "lab:igra", label: "IGRA (TB)" },
      { id: "lab:tst", label: "Tuberculin skin test" },
      { id: "lab:hbsag", label: "HBsAg" },
      { id: "lab:anti-hbc", label: "Anti-HBc" },
      { id: "lab:anti-hbs", label: "Anti-HBs" },
      { id: "lab:hbv-dna", label: "HBV DNA" },
      { id: "lab:anti-hcv", label: "Anti-HCV" },
      { id: "lab:hcv-rna", label: "HCV RNA" },
      { id: "lab:ck", label: "Creatine kinase" },
      { id: "lab:creatinine", label: "Creatinine" },
      { id: "lab:egfr", label: "eGFR" },
      { id: "lab:hcg-urine", label: "hCG (urine)" },
      { id: "lab:hcg-serum", label: "hCG (serum)" },
    ],
  },
  {
    group: "Drugs",
    options: [
      { id: "drug:upadacitinib", label: "Upadacitinib" },
      { id: "drug:abrocitinib", label: "Abrocitinib" },
      { id: "drug:baricitinib", label: "Baricitinib" },
      { id: "drug:ruxolitinib-cream", label: "Ruxolitinib cream" },
      { id: "drug:ruxolitinib", label: "Ruxolitinib (route decides)" },
      { id: "drug:ruxolitinib-oral", label: "Ruxolitinib oral (not eczema)" },
      { id: "therapy:dupilumab:biologic", label: "Dupilumab (biologic)" },
      { id: "therapy:tralokinumab:biologic", label: "Tralokinumab (biologic)" },
      { id: "therapy:tacrolimus:topical-calcineurin-inhibitor", label: "Tacrolimus (topical calcineurin inhibitor)" },
      { id: "therapy:pimecrolimus:topical-calcineurin-inhibitor", label: "Pimecrolimus (topical calcineurin inhibitor)" },
      { id: "therapy:topical corticosteroid:topical-corticosteroid", label: "Topical corticosteroid" },
      { id: "therapy:crisaborole:topical-pde4-inhibitor", label: "Crisaborole (topical PDE4 inhibitor)" },
      { id: "therapy:ciclosporin:systemic-immunosuppressant", label: "Ciclosporin (systemic)" },
      { id: "therapy:methotrexate:systemic-immunosuppressant", label: "Methotrexate (systemic)" },
      { id: "therapy:phototherapy:phototherapy", label: "Phototherapy" },
    ],
  },
  {
    group: "Vaccines",
    options: [
      { id: "vaccine:zoster", label: "Zoster (recombinant)" },
      { id: "vaccine:zoster-live", label: "Zoster (live)" },
      { id: "vaccine:live", label: "Other live vaccine" },
    ],
  },
];

/** A label for a concept id ("measure:itch" -> "Itch NRS (worst itch, 0-10)"), else the id. */
export function conceptLabel(id: string): string {
  for (const group of MAPPABLE_CONCEPTS) for (const option of group.options) if (option.id === id) return option.label;
  return id;
}
