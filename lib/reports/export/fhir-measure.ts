/**
 * FHIR R4 Measure (one per measure of measures.ts) and MeasureReport (summary or subject-list, with Lists of
 * patients) for the quality reports, plus a collection Bundle holding them. Pure: no IO, no clock (generatedAt is
 * passed in), no randomness (ids are passed in).
 *
 * Population mapping (FHIR proportion semantics, not the app's table headings): FHIR's score is
 * numerator / (denominator - denominator exclusions), so the FHIR "denominator" population counts cases before
 * exclusions, i.e. it equals the initial population, and the app's denominator (after exclusions) is that
 * difference. Writing the app's denominator into the FHIR denominator would make a consumer subtract the
 * exclusions twice.
 *
 * Hidden counts (small-cell suppression: "<11", "*") cannot go in population.count (an integer): the population
 * leaves count out and carries the data-absent-reason extension "masked"; the narrative says what was published.
 * MeasureReport has no note element in R4, so notes go in its narrative (text.div).
 */
import type { Bundle, BundleEntry, CodeableConcept, Expression, Extension, List, Measure, MeasureGroupPopulation, MeasureReport, MeasureReportGroupPopulation, MeasureReportGroupStratifierStratum, Narrative, Quantity, Reference, RelatedArtifact } from "@medplum/fhirtypes";
import { calendarDate } from "../../clinical/dates";
import { MEASURES, type MeasureBasis, type MeasureDefinition, type MeasureSource, type StratifierKind } from "../measures";
import type { PublishedCount, PublishedFigures, PublishedStratum } from "./document";

export const MEASURE_POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population";
export const MEASURE_SCORING_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-scoring";
export const MEASURE_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-type";
export const MEASURE_IMPROVEMENT_NOTATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation";
export const DATA_ABSENT_REASON_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
const RESOURCE_TYPES_SYSTEM = "http://hl7.org/fhir/resource-types";
const LIST_EMPTY_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/list-empty-reason";
const UCUM = "http://unitsofmeasure.org";
const XHTML_NS = "http://www.w3.org/1999/xhtml";

export type PopulationCode = "initial-population" | "denominator" | "denominator-exclusion" | "numerator";

const POPULATION_DISPLAY: Readonly<Record<PopulationCode, string>> = {
  "initial-population": "Initial Population",
  denominator: "Denominator",
  "denominator-exclusion": "Denominator Exclusion",
  numerator: "Numerator",
};

const IMPROVEMENT_DISPLAY = {
  increase: "Increased score indicates improvement",
  decrease: "Decreased score indicates improvement",
} as const;

const STRATIFIER_DISPLAY: Readonly<Record<StratifierKind, string>> = {
  drug: "Drug",
  requirement: "Lab requirement",
  symptom: "Symptom",
};

const SOURCE_DISPLAY: Readonly<Record<MeasureSource["kind"], string>> = {
  reference: "Clinic reference",
  label: "Product label",
  trial: "Clinical trial",
  guideline: "Guideline",
  publication: "Publication",
};

/** What one case (one count) of a measure is; a patient can have several. */
const BASIS_TEXT: Readonly<Record<MeasureBasis, string>> = {
  course: "a JAK course",
  "lab-requirement": "a follow-up lab requirement of a JAK course",
  "symptom-checkpoint": "a symptom checkpoint of a JAK course",
  "abnormal-result": "an abnormal safety-lab result",
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** List ids are the report id plus a suffix ("-denex", 6 characters) and must stay FHIR ids. */
const MAX_REPORT_ID_LENGTH = 58;
/** Pseudonyms of deidentify.ts are base32 (A-Z, 2-7), 8 to 52 characters. */
const PSEUDONYMOUS_PATIENT = /^Patient\/[A-Z2-7]{8,52}$/;
const PATIENT_REFERENCE = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
const REPORTER_REFERENCE = /^(Organization|Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;

export interface FhirMeasureOptions {
  /** The app's public base URL (http or https, no query); canonical URLs are `${baseUrl}/fhir/Measure/<id>`. */
  baseUrl: string;
  /** REPORTS_VERSION the definitions belong to; the Measure's version. */
  reportsVersion: string;
}

function normalisedBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new RangeError("baseUrl must be an absolute http(s) URL");
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "" || /\s/.test(baseUrl)) {
    throw new RangeError("baseUrl must be an absolute http(s) URL without query, fragment or spaces");
  }
  return baseUrl.replace(/\/+$/, "");
}

function checkVersion(reportsVersion: string): void {
  if (reportsVersion.trim() === "" || reportsVersion.includes("|")) throw new RangeError("reportsVersion must be non-empty text without '|'");
}

export function measureCanonicalUrl(baseUrl: string, measureId: string): string {
  return `${normalisedBaseUrl(baseUrl)}/fhir/Measure/${measureId}`;
}

/** A computable name (Measure.name, invariant mea-0): "easi-75-primary" becomes "Easi75Primary". */
export function measureName(measureId: string): string {
  return measureId
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== "")
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}

/** Text safe to put in a FHIR markdown element: CommonMark punctuation that could format it is escaped. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#|]/g, "\\$&");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function narrative(paragraphs: readonly string[], items: readonly string[] = []): Narrative {
  const body = paragraphs.map((p) => `<p>${escapeXml(p)}</p>`).join("");
  const list = items.length > 0 ? `<ul>${items.map((i) => `<li>${escapeXml(i)}</li>`).join("")}</ul>` : "";
  return { status: "additional", div: `<div xmlns="${XHTML_NS}">${body}${list}</div>` };
}

function populationCode(code: PopulationCode): CodeableConcept {
  return { coding: [{ system: MEASURE_POPULATION_SYSTEM, code, display: POPULATION_DISPLAY[code] }] };
}

function improvementNotation(definition: MeasureDefinition): CodeableConcept {
  const code = definition.improvementNotation;
  return { coding: [{ system: MEASURE_IMPROVEMENT_NOTATION_SYSTEM, code, display: IMPROVEMENT_DISPLAY[code] }] };
}

function stratifierCode(definition: MeasureDefinition, baseUrl: string): CodeableConcept {
  const by = definition.stratifier.by;
  return { coding: [{ system: `${baseUrl}/fhir/CodeSystem/report-stratifier`, code: by, display: STRATIFIER_DISPLAY[by] }], text: STRATIFIER_DISPLAY[by] };
}

function exclusionText(definition: MeasureDefinition): string {
  const reasons = definition.exclusions.map((e, i) => `${i + 1}. ${e.label} (${e.reason}): ${e.description}`);
  return `Cases of the initial population left out of the score, each for the first reason that fits, in this order: ${reasons.join(" ")}`;
}

function textCriteria(sentence: string): Expression {
  // The binding is extensible and none of its codes (CQL, FHIRPath, FHIR query) fits a sentence for people.
  return { language: "text/plain" as Expression["language"], expression: sentence };
}

/** One FHIR R4 Measure for a measure definition (canonical `${baseUrl}/fhir/Measure/<id>`, version = reportsVersion). */
export function measureResource(definition: MeasureDefinition, options: FhirMeasureOptions): Measure {
  const baseUrl = normalisedBaseUrl(options.baseUrl);
  checkVersion(options.reportsVersion);
  const population: MeasureGroupPopulation[] = [
    { code: populationCode("initial-population"), description: definition.initialPopulation, criteria: textCriteria(definition.initialPopulation) },
  ];
  // FHIR's denominator counts cases before exclusions (score = numerator / (denominator - exclusions)).
  const denominator = `Equals the initial population; the score's denominator is this population minus the denominator exclusions. ${definition.denominator}`;
  population.push({ code: populationCode("denominator"), description: denominator, criteria: textCriteria(denominator) });
  if (definition.exclusions.length > 0) {
    const exclusions = exclusionText(definition);
    population.push({ code: populationCode("denominator-exclusion"), description: exclusions, criteria: textCriteria(exclusions) });
  }
  population.push({ code: populationCode("numerator"), description: definition.numerator, criteria: textCriteria(definition.numerator) });

  const guidance = [
    `Reporting period: ${definition.period.description}`,
    `Each case counted is ${BASIS_TEXT[definition.basis]}; a patient can contribute several cases.`,
    definition.exclusions.length > 0 ? exclusionText(definition) : "No exclusions: the denominator is the initial population.",
    `Stratified: ${definition.stratifier.description}`,
  ];
  const relatedArtifact: RelatedArtifact[] = definition.sources.map((source) => ({
    type: "citation",
    display: SOURCE_DISPLAY[source.kind],
    citation: escapeMarkdown(source.citation),
  }));

  return {
    resourceType: "Measure",
    id: definition.id,
    text: narrative([`Measure ${definition.number}: ${definition.title}`, definition.description]),
    url: `${baseUrl}/fhir/Measure/${definition.id}`,
    identifier: [{ use: "usual", system: `${baseUrl}/fhir/NamingSystem/quality-measure`, value: definition.id }],
    version: options.reportsVersion,
    name: measureName(definition.id),
    title: definition.title,
    status: "active",
    experimental: false,
    subjectCodeableConcept: { coding: [{ system: RESOURCE_TYPES_SYSTEM, code: "Patient", display: "Patient" }] },
    description: escapeMarkdown(definition.description),
    relatedArtifact,
    scoring: { coding: [{ system: MEASURE_SCORING_SYSTEM, code: definition.scoring, display: "Proportion" }] },
    type: [{ coding: [{ system: MEASURE_TYPE_SYSTEM, code: "process", display: "Process" }] }],
    improvementNotation: improvementNotation(definition),
    guidance: guidance.map(escapeMarkdown).join("\n\n"),
    group: [
      {
        description: definition.title,
        population,
        stratifier: [{ code: stratifierCode(definition, baseUrl), description: definition.stratifier.description }],
      },
    ],
  };
}

/** The Measure of every measure of the catalogue, in catalogue order. */
export function measureResources(options: FhirMeasureOptions, definitions: readonly MeasureDefinition[] = MEASURES): Measure[] {
  return definitions.map((definition) => measureResource(definition, options));
}

// ---------------------------------------------------------------------------------------------------------------
// MeasureReport

/** One case of the patient list for a subject-list report. */
export interface SubjectCase {
  /** "Patient/<id>", or "Patient/<pseudonym>" (deidentify.ts) in a report shared outside the clinic. */
  reference: string;
  inNumerator: boolean;
  /** Left out of the score by an exclusion reason. */
  excluded: boolean;
}

/** Subject cases from patient-list rows (MeasurePatientRow); `reference` maps a row to its Patient reference. */
export function subjectCasesFromRows<R extends { patientId: string; inNumerator: boolean; excludedReason?: string | null }>(
  rows: Iterable<R>,
  reference: (row: R) => string = (row) => `Patient/${row.patientId}`,
): SubjectCase[] {
  const cases: SubjectCase[] = [];
  for (const row of rows) cases.push({ reference: reference(row), inNumerator: row.inNumerator, excluded: row.excludedReason !== undefined && row.excludedReason !== null });
  return cases;
}

export interface MeasureReportInput {
  /**
   * The MeasureReport's id (a FHIR id, at most 58 characters: List ids add a suffix). Default, derived from the
   * input: `<measure id>-<period from>-<period to>`.
   */
  id?: string;
  definition: MeasureDefinition;
  reportsVersion: string;
  baseUrl: string;
  /** The totals as published (MeasureFigures fit too). */
  figures: PublishedFigures;
  /** The breakdown by the measure's stratifier, as published (MeasureStratum fits too). */
  strata: readonly PublishedStratum[];
  /** Inclusive, YYYY-MM-DD. */
  period: { from: string; to: string };
  generatedAt: Date;
  /** "Organization/<id>" (or Practitioner, PractitionerRole) becomes a reference; other text a display. */
  reporter?: string;
  type: "summary" | "subject-list";
  /**
   * Subject-list only. Every case (SubjectCase: reference and outcome), whose counts must match the figures: gives
   * the Lists of the initial population, the exclusions and the numerator. Or plain "Patient/<id>" references of
   * the initial population's patients: gives that List only (the outcome of each case is unknown).
   */
  patientReferences?: readonly SubjectCase[] | readonly string[];
  /** For sharing outside the clinic: subject lists must then use pseudonyms. */
  shared: boolean;
  /** The report's filters (source, drug, route, prescriber), shown in the narrative. */
  filters?: Readonly<Record<string, string | readonly string[] | null | undefined>>;
  /** Further notes for the reader (the suppression and de-identification notes), shown in the narrative. */
  notes?: readonly string[];
}

export interface MeasureReportResources {
  measureReport: MeasureReport;
  /**
   * Subject-list only: the patients of the initial population (also the denominator's, which equals it), of the
   * denominator exclusions (when the measure has any) and of the numerator, each patient once; only the first when
   * patientReferences were plain references.
   */
  lists: List[];
}

type Count = { shown: number } | { masked: string };

function parseCount(value: PublishedCount, where: string): Count {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${where} must be a non-negative integer`);
    return { shown: value };
  }
  // A hidden count is text such as "<11" or "*"; digits alone would be a count in disguise.
  if (value.trim() === "" || /^\d+$/.test(value.trim())) throw new RangeError(`${where} is text but not a hidden-count marker`);
  return { masked: value };
}

interface ParsedFigures {
  initialPopulation: Count;
  /** The app's denominator: after exclusions. */
  scoreDenominator: Count;
  exclusions: Count;
  numerator: Count;
  rate: number | null;
}

function parseFigures(figures: PublishedFigures, definition: MeasureDefinition, where: string): ParsedFigures {
  const initialPopulation = parseCount(figures.initialPopulation, `${where} initial population`);
  const scoreDenominator = parseCount(figures.denominator, `${where} denominator`);
  const numerator = parseCount(figures.numerator, `${where} numerator`);
  const reasons = new Set<string>();
  const exclusionCounts = figures.exclusions.map((e) => {
    if (!definition.exclusions.some((d) => d.reason === e.reason)) throw new RangeError(`${where} has an exclusion reason the measure does not define: ${e.reason}`);
    if (reasons.has(e.reason)) throw new RangeError(`${where} lists exclusion reason ${e.reason} twice`);
    reasons.add(e.reason);
    return parseCount(e.count, `${where} exclusion ${e.reason}`);
  });
  let exclusions: Count;
  if (exclusionCounts.every((c): c is { shown: number } => "shown" in c)) exclusions = { shown: exclusionCounts.reduce((sum, c) => sum + c.shown, 0) };
  // Initial population minus denominator tells no reader more than the two published counts already do.
  else if ("shown" in initialPopulation && "shown" in scoreDenominator) exclusions = { shown: initialPopulation.shown - scoreDenominator.shown };
  else exclusions = { masked: "hidden" };

  if ("shown" in initialPopulation && "shown" in scoreDenominator && "shown" in exclusions && initialPopulation.shown !== scoreDenominator.shown + exclusions.shown) {
    throw new RangeError(`${where}: the initial population is not the denominator plus the exclusions`);
  }
  if ("shown" in scoreDenominator && "shown" in numerator && numerator.shown > scoreDenominator.shown) throw new RangeError(`${where}: the numerator exceeds the denominator`);

  const rate = figures.rate;
  if (rate !== null) {
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`${where} rate must be a number from 0 to 1 or null`);
    // A rate beside a hidden count would give the hidden count away.
    if (!("shown" in numerator) || !("shown" in scoreDenominator)) throw new RangeError(`${where} has a rate although its numerator or denominator is hidden`);
    if (scoreDenominator.shown === 0 || Math.abs(rate - numerator.shown / scoreDenominator.shown) > 1e-9) throw new RangeError(`${where} rate is not numerator / denominator`);
  }
  return { initialPopulation, scoreDenominator, exclusions, numerator, rate };
}

const MASKED: Extension = { url: DATA_ABSENT_REASON_URL, valueCode: "masked" };

function population(code: PopulationCode, count: Count, subjectResults?: Reference<List>): MeasureReportGroupPopulation {
  const out: MeasureReportGroupPopulation = { code: populationCode(code) };
  if ("shown" in count) out.count = count.shown;
  else out.extension = [MASKED];
  if (subjectResults) out.subjectResults = subjectResults;
  return out;
}

function populations(definition: MeasureDefinition, figures: ParsedFigures, lists?: Partial<Record<PopulationCode, Reference<List>>>): MeasureReportGroupPopulation[] {
  const out = [
    population("initial-population", figures.initialPopulation, lists?.["initial-population"]),
    // FHIR's denominator is before exclusions: the initial population (see the file comment).
    population("denominator", figures.initialPopulation, lists?.denominator),
  ];
  if (definition.exclusions.length > 0) out.push(population("denominator-exclusion", figures.exclusions, lists?.["denominator-exclusion"]));
  out.push(population("numerator", figures.numerator, lists?.numerator));
  return out;
}

function score(rate: number | null): Quantity | undefined {
  // A proportion is dimensionless: UCUM unity "1", value in 0..1 (not a percentage).
  return rate === null ? undefined : { value: rate, unit: "1", system: UCUM, code: "1" };
}

function checkPeriod(period: { from: string; to: string }): void {
  if (calendarDate(period.from) !== period.from || calendarDate(period.to) !== period.to) throw new RangeError("period must be two YYYY-MM-DD dates");
  if (period.from > period.to) throw new RangeError("period starts after it ends");
}

function countText(count: Count): string {
  return "shown" in count ? String(count.shown) : count.masked === "hidden" ? "hidden" : `"${count.masked}"`;
}

function percent(rate: number | null): string {
  return rate === null ? "no rate" : `${(rate * 100).toFixed(1)}%`;
}

function filtersText(filters: MeasureReportInput["filters"]): string {
  const entries = Object.entries(filters ?? {})
    .map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : value] as const)
    .filter((entry): entry is readonly [string, string] => typeof entry[1] === "string" && entry[1] !== "")
    .sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "Filters: none." : `Filters: ${entries.map(([name, value]) => `${name} = ${value}`).join("; ")}.`;
}

function isMasked(figures: ParsedFigures): boolean {
  return [figures.initialPopulation, figures.exclusions, figures.numerator, figures.scoreDenominator].some((c) => "masked" in c);
}

function uniqueReferences(references: Iterable<string>): string[] {
  return [...new Set(references)];
}

function patientList(id: string, title: string, references: readonly string[], generatedAt: string): List {
  const list: List = {
    resourceType: "List",
    id,
    text: narrative([`${title}: ${references.length} patient${references.length === 1 ? "" : "s"}.`]),
    status: "current",
    mode: "snapshot",
    title,
    date: generatedAt,
  };
  if (references.length === 0) list.emptyReason = { coding: [{ system: LIST_EMPTY_REASON_SYSTEM, code: "nilknown", display: "Nil Known" }] };
  else list.entry = references.map((reference) => ({ item: { reference } }));
  return list;
}

function checkPatientReference(reference: string, shared: boolean): void {
  if (!PATIENT_REFERENCE.test(reference)) throw new RangeError("patientReferences must be Patient/<id> references");
  if (shared && !PSEUDONYMOUS_PATIENT.test(reference)) throw new RangeError("a shared subject-list report needs pseudonymous patient references (de-identify the list first)");
}

interface SubjectLists {
  lists: List[];
  references: Partial<Record<PopulationCode, Reference<List>>>;
  /** Whether only the initial population's patients were given (plain references, no case outcomes). */
  patientsOnly: boolean;
}

function subjectLists(input: MeasureReportInput, id: string, figures: ParsedFigures, generatedAt: string): SubjectLists {
  const given = input.patientReferences;
  if (given === undefined) throw new RangeError("a subject-list report needs patientReferences");
  if (isMasked(figures)) throw new RangeError("a subject-list report cannot carry hidden counts: its patient lists would reveal them (use a summary report)");
  const title = input.definition.title;
  const ipp: Reference<List> = { reference: `List/${id}-ipp` };
  const ippTitle = `${title}: initial population and denominator`;
  if (given.length > 0 && given.every((c): c is string => typeof c === "string")) {
    // Plain references: the patients of the initial population, with no outcome per case.
    for (const reference of given) checkPatientReference(reference, input.shared);
    const patients = uniqueReferences(given);
    const cases = "shown" in figures.initialPopulation ? figures.initialPopulation.shown : 0;
    if (patients.length > cases || (cases > 0 && patients.length === 0)) throw new RangeError("patientReferences do not match the initial population (more patients than cases, or none)");
    return { lists: [patientList(`${id}-ipp`, ippTitle, patients, generatedAt)], references: { "initial-population": ipp, denominator: ipp }, patientsOnly: true };
  }
  const cases = given.map((c) => {
    if (typeof c === "string") throw new RangeError("patientReferences must be all references or all cases, not a mix");
    checkPatientReference(c.reference, input.shared);
    if (c.inNumerator && c.excluded) throw new RangeError("a case cannot be both in the numerator and excluded");
    return c;
  });
  const counted = (count: Count) => ("shown" in count ? count.shown : -1);
  const excluded = cases.filter((c) => c.excluded);
  const inNumerator = cases.filter((c) => c.inNumerator);
  if (cases.length !== counted(figures.initialPopulation) || excluded.length !== counted(figures.exclusions) || inNumerator.length !== counted(figures.numerator)) {
    throw new RangeError("patientReferences do not match the figures (initial population, exclusions, numerator)");
  }
  const lists: List[] = [patientList(`${id}-ipp`, ippTitle, uniqueReferences(cases.map((c) => c.reference)), generatedAt)];
  const references: Partial<Record<PopulationCode, Reference<List>>> = { "initial-population": ipp, denominator: ipp };
  if (input.definition.exclusions.length > 0) {
    lists.push(patientList(`${id}-denex`, `${title}: denominator exclusions`, uniqueReferences(excluded.map((c) => c.reference)), generatedAt));
    references["denominator-exclusion"] = { reference: `List/${id}-denex` };
  }
  lists.push(patientList(`${id}-numer`, `${title}: numerator`, uniqueReferences(inNumerator.map((c) => c.reference)), generatedAt));
  references.numerator = { reference: `List/${id}-numer` };
  return { lists, references, patientsOnly: false };
}

function reporterOf(reporter: string | undefined): MeasureReport["reporter"] {
  if (reporter === undefined || reporter.trim() === "") return undefined;
  return REPORTER_REFERENCE.test(reporter) ? ({ reference: reporter } as MeasureReport["reporter"]) : { display: reporter };
}

function defaultReportId(input: MeasureReportInput): string {
  return `${input.definition.id}-${input.period.from}-${input.period.to}`;
}

/**
 * A FHIR R4 MeasureReport of one measure: status complete, the population counts of the whole and of each
 * stratum, the score (a proportion in 0..1, left out when there is none), and for a subject-list report the Lists
 * of patients its populations point to (List/<id>-ipp, -denex, -numer).
 * Throws a RangeError for inconsistent or unsafe input (a rate beside a hidden count, lists beside hidden counts,
 * a shared list without pseudonyms, counts that do not add up).
 */
export function measureReportResource(input: MeasureReportInput): MeasureReportResources {
  const { definition } = input;
  const baseUrl = normalisedBaseUrl(input.baseUrl);
  checkVersion(input.reportsVersion);
  checkPeriod(input.period);
  const id = input.id ?? defaultReportId(input);
  if (!FHIR_ID.test(id) || id.length > MAX_REPORT_ID_LENGTH) throw new RangeError(`report id must be a FHIR id of at most ${MAX_REPORT_ID_LENGTH} characters`);
  if (Number.isNaN(input.generatedAt.getTime())) throw new RangeError("generatedAt is an invalid Date");
  if (input.type !== "summary" && input.type !== "subject-list") throw new RangeError(`report type must be summary or subject-list, got ${String(input.type)}`);
  if (input.type === "summary" && input.patientReferences !== undefined) throw new RangeError("a summary report takes no patientReferences (use type subject-list)");
  const generatedAt = input.generatedAt.toISOString();

  const totals = parseFigures(input.figures, definition, "figures");
  const strata = input.strata.map((stratum) => ({ stratum, figures: parseFigures(stratum, definition, `stratum ${stratum.key}`) }));
  if (new Set(input.strata.map((s) => s.key)).size !== input.strata.length) throw new RangeError("strata keys must be unique");

  const subjects = input.type === "subject-list" ? subjectLists(input, id, totals, generatedAt) : undefined;

  const group: NonNullable<MeasureReport["group"]>[number] = { population: populations(definition, totals, subjects?.references) };
  const measureScore = score(totals.rate);
  if (measureScore) group.measureScore = measureScore;
  if (strata.length > 0) {
    const code = stratifierCode(definition, baseUrl);
    group.stratifier = [
      {
        code: [code],
        stratum: strata.map(({ stratum, figures }): MeasureReportGroupStratifierStratum => {
          const out: MeasureReportGroupStratifierStratum = {
            value: { coding: [{ system: `${baseUrl}/fhir/CodeSystem/report-stratum-${definition.stratifier.by}`, code: stratum.key, display: stratum.label }], text: stratum.label },
            population: populations(definition, figures),
          };
          const stratumScore = score(figures.rate);
          if (stratumScore) out.measureScore = stratumScore;
          return out;
        }),
      },
    ];
  }

  const masked = [{ label: "Total", figures: totals }, ...strata.map((s) => ({ label: s.stratum.label, figures: s.figures }))].filter((s) => isMasked(s.figures));
  const notes: string[] = [
    `Counts are cases, each ${BASIS_TEXT[definition.basis]}; a patient can have several. FHIR's denominator counts cases before exclusions (it equals the initial population); the score is numerator / (denominator - denominator exclusions).`,
  ];
  if (masked.length > 0) {
    notes.push(
      `Small counts are hidden for sharing: a hidden population has no count and carries the data-absent-reason extension "masked", and its score is left out. As published: ${masked
        .map(({ label, figures }) => `${label}: initial population ${countText(figures.initialPopulation)}, denominator after exclusions ${countText(figures.scoreDenominator)}, exclusions ${countText(figures.exclusions)}, numerator ${countText(figures.numerator)}`)
        .join("; ")}.`,
    );
  }
  if (subjects) notes.push("The patient lists name each patient once, so a list can be shorter than its population's count.");
  if (subjects?.patientsOnly) notes.push("Only the initial population's patients were listed (also the denominator's); the numerator and exclusion populations have no patient list.");
  if (input.shared) notes.push("Prepared for sharing outside the clinic.");
  notes.push(...(input.notes ?? []));

  const measureReport: MeasureReport = {
    resourceType: "MeasureReport",
    id,
    text: narrative(
      [
        `${definition.title}, ${input.period.from} to ${input.period.to} (rules version ${input.reportsVersion}, generated ${generatedAt}).`,
        `Initial population ${countText(totals.initialPopulation)}; exclusions ${countText(totals.exclusions)}; denominator after exclusions ${countText(totals.scoreDenominator)}; numerator ${countText(totals.numerator)}; rate ${percent(totals.rate)}.`,
        filtersText(input.filters),
      ],
      notes,
    ),
    status: "complete",
    type: input.type,
    measure: `${baseUrl}/fhir/Measure/${definition.id}|${input.reportsVersion}`,
    date: generatedAt,
    period: { start: input.period.from, end: input.period.to },
    improvementNotation: improvementNotation(definition),
    group: [group],
  };
  const reporter = reporterOf(input.reporter);
  if (reporter) measureReport.reporter = reporter;
  return { measureReport, lists: subjects?.lists ?? [] };
}

/**
 * A collection Bundle of the measure's Measure, the MeasureReport and its Lists (bundleId defaults to the report id
 * + "-bundle"). fullUrls are the resources' URLs
 * under `${baseUrl}/fhir/` (the Measure's is its canonical URL), so the report's relative references resolve.
 */
export function measureReportBundle(input: MeasureReportInput & { bundleId?: string }): Bundle {
  const { measureReport, lists } = measureReportResource(input);
  const bundleId = input.bundleId ?? `${measureReport.id}-bundle`;
  if (!FHIR_ID.test(bundleId)) throw new RangeError("bundleId must be a FHIR id");
  const baseUrl = normalisedBaseUrl(input.baseUrl);
  const measure = measureResource(input.definition, { baseUrl, reportsVersion: input.reportsVersion });
  const entries: BundleEntry[] = [measure, measureReport, ...lists].map((resource) => ({ fullUrl: `${baseUrl}/fhir/${resource.resourceType}/${resource.id}`, resource }));
  return { resourceType: "Bundle", id: bundleId, type: "collection", timestamp: input.generatedAt.toISOString(), entry: entries };
}
