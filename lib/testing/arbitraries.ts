/**
 * fast-check arbitraries for the fuzz tests (*.fuzz.test.ts, *.fuzz.int.test.ts): FHIR-ish resources with random
 * codes, units and dates (often ones the engine knows, so the deep paths run); the same resources mangled; hostile
 * strings; deeply nested and huge values; NDJSON lines as an EHR or a network might break them; and the shared run
 * parameters (fixed seed, modest runs, a time budget).
 *
 * Replaying and exploring: every fuzz run uses DEFAULT_FUZZ_SEED unless FUZZ_SEED is set. A failure prints its seed
 * and counterexample path; `FUZZ_SEED=<seed> npx vitest run <file>` replays it, `FUZZ_SEED=random` explores new
 * inputs, and `FUZZ_RUNS=<n>` runs n cases per property without the time budget (for a long local session).
 */
import fc from "fast-check";

/** The seed of every fuzz run unless FUZZ_SEED says otherwise: CI sees the same cases every time. */
export const DEFAULT_FUZZ_SEED = 20_261_111;

export interface FuzzBudget {
  /** Total time for one property (default 5 s): the runs done by then count, the rest are skipped (never a failure). */
  timeLimitMs?: number;
  /** Async properties only: one case taking longer fails (a hang). Synchronous code cannot be interrupted. */
  caseTimeoutMs?: number;
}

/** fc.assert parameters: the seed (DEFAULT_FUZZ_SEED, FUZZ_SEED), numRuns (FUZZ_RUNS overrides) and the time budget. */
export function fuzzParameters<T>(numRuns: number, budget: FuzzBudget = {}): fc.Parameters<T> {
  const seedSetting = process.env.FUZZ_SEED;
  const runsSetting = Number(process.env.FUZZ_RUNS);
  const explicitRuns = Number.isInteger(runsSetting) && runsSetting > 0;
  const plugins: fc.Plugin<T>[] = [];
  if (!explicitRuns) plugins.push(fc.interruptAfterTimeLimit(budget.timeLimitMs ?? 5_000) as fc.Plugin<T>);
  if (budget.caseTimeoutMs !== undefined) plugins.push(fc.timeout(budget.caseTimeoutMs) as fc.Plugin<T>);
  return {
    numRuns: explicitRuns ? runsSetting : numRuns,
    ...(seedSetting === "random" ? {} : { seed: seedSetting && Number.isFinite(Number(seedSetting)) ? Number(seedSetting) : DEFAULT_FUZZ_SEED }),
    plugins,
  };
}

// ---------- strings ----------

/** Strings that have broken parsers and renderers before: markup, escapes, surrogates, path tricks, prototype keys. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\t\r\n",
  "\u0000",
  "\ud800",
  "\udfff",
  "\ufeff",
  "\u202e",
  "é",
  "😀",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "\"'><svg onload=alert(1)>",
  "javascript:alert(1)",
  "'; DROP TABLE fhir_resources; --",
  "%00",
  "%E0%A4%A",
  "%",
  "../../../etc/passwd",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "NaN",
  "Infinity",
  "-0",
  "1e309",
  "0x10",
  "Patient/",
  "Patient/../Patient/x",
  "urn:uuid:",
  "#",
  "{{context.patientId}}",
  "${jndi:ldap://x}",
  "\\u0000",
  "9".repeat(400),
];

/** A short string from anywhere: hostile classics, any code point (lone surrogates included), or printable text. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 24 }) },
);

/**
 * A long string (1k to `maxLength` characters) of one repeated unit: digit runs, spaces, words and separators are what
 * makes a backtracking regular expression or a quadratic scan show.
 */
export function hugeString(maxLength = 200_000): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom("1", "9.", " ", "a", "mg", "Patient/", "-", "\\u", "<", "upadacitinib ", "1 "), fc.integer({ min: 1_000, max: maxLength }))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));
}

// ---------- values ----------

/** The object JSON.parse makes of these entries: "__proto__" becomes an own key, not the prototype. */
function objectFromEntries(entries: ReadonlyArray<readonly [string, unknown]>): unknown {
  return JSON.parse(`{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(",")}}`) as unknown;
}

/** Arbitrary JSON, prototype-looking keys included (JSON.parse makes "__proto__" an own key; so does this). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom("__proto__", "constructor", "prototype", "resourceType", "id", "toString"), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }).map(objectFromEntries) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, 0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, "", [], {}) },
);

/** JSON text nested `depth` levels deep (built as text: JSON.stringify itself gives up at a few thousand levels). */
export function deeplyNestedJsonText(depth: number, kind: "array" | "object" = "array"): string {
  return kind === "array" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

/** A value nested 50 to `maxDepth` levels deep (arrays or objects), as JSON.parse returns it. */
export function deeplyNested(maxDepth = 2_000): fc.Arbitrary<unknown> {
  return fc.tuple(fc.integer({ min: 50, max: maxDepth }), fc.constantFrom<"array" | "object">("array", "object")).map(([depth, kind]) => JSON.parse(deeplyNestedJsonText(depth, kind)) as unknown);
}

/** Big but bounded values: long arrays, wide objects, long strings. */
export const hugeValue: fc.Arbitrary<unknown> = fc.oneof(
  hugeString(100_000),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.integer({ min: 1_000, max: 5_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
);

/** Anything at all where a field's value goes: usually ordinary JSON, sometimes hostile, deep or huge. */
export const anyFieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: anyJson },
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: deeplyNested(500) },
  { weight: 1, arbitrary: hugeValue },
);

// ---------- FHIR building blocks ----------

/**
 * A FHIR narrative: an XHTML div with markup an attacker would try. The app must never render it as HTML; a test
 * can look for NARRATIVE_MARKER in what the page shows.
 */
export const NARRATIVE_MARKER = "narrative-marker-7f3a";
export function narrative(): fc.Arbitrary<{ status: string; div: string }> {
  return fc
    .constantFrom(
      `<div xmlns="http://www.w3.org/1999/xhtml"><script>alert("${NARRATIVE_MARKER}")</script></div>`,
      `<div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert('${NARRATIVE_MARKER}')"/></div>`,
      `<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:alert(1)">${NARRATIVE_MARKER}</a></div>`,
      `<div xmlns="http://www.w3.org/1999/xhtml"><p>${NARRATIVE_MARKER}</p><iframe src="https://evil.example"></iframe></div>`,
    )
    .map((div) => ({ status: "generated", div }));
}


const INSTRUMENT_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument";
const LOINC = "http://loinc.org";
const SNOMED = "http://snomed.info/sct";
const ATC = "http://www.whocc.no/atc";
const RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm";
const CVX = "http://hl7.org/fhir/sid/cvx";
const NDC = "http://hl7.org/fhir/sid/ndc";

/** Dates as resources write them: valid days, dateTimes with offsets, partial, impossible, extreme and garbage. */
export const fhirDate: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -800, max: 400 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: -800, max: 400 }), fc.integer({ min: 0, max: 86_399 }), fc.constantFrom("Z", "+05:30", "-11:00", "+14:00", ".123Z", ""))
      .map(([d, s, zone]) => `${new Date(Date.UTC(2026, 0, 1) + d * 86_400_000 + s * 1000).toISOString().slice(0, 19)}${zone}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "2026", "2026-03", "2026-02-30", "2026-13-01", "2026-00-10", "2024-02-29", "2025-02-29", "0000-01-01", "0001-01-01", "9999-12-31",
      "+020000-01-01", "2026-03-02T25:00:00Z", "2026-03-02T10:00:00+25:00", "2026-03-02 10:00", "20260302", "not a date", "",
    ),
  },
  { weight: 1, arbitrary: hostileString },
);

const KNOWN_OBSERVATION_CODES: ReadonlyArray<[string, string]> = [
  ...["skin-pain-nrs", "itch-nrs", "easi", "iga", "bsa-percent", "poem", "dlqi", "scorad", "po-scorad", "sleep-nrs", "unknown"].map((c): [string, string] => [INSTRUMENT_SYSTEM, c]),
  ...["72514-3", "58410-2", "718-7", "6690-2", "751-8", "731-0", "777-3", "1742-6", "1920-8", "57698-3", "2093-3", "13457-7", "2085-9", "2571-8", "71773-6", "71772-8", "71776-9", "5196-1", "16933-4", "22322-2", "42595-9", "16128-1", "11011-4", "2157-6", "2160-0", "33914-3", "2106-3", "21198-7", "8480-6"].map((c): [string, string] => [LOINC, c]),
];
const KNOWN_MEDICATION_CODES: ReadonlyArray<[string, string]> = [
  ...["L04AF03", "L04AA44", "D11AH08", "L04AF02", "L04AA37", "L01EJ01", "D11AH01", "D11AH02", "L04AD01", "L04AX03", "D07AC01"].map((c): [string, string] => [ATC, c]),
  [NDC, "50881-0007-01"], [NDC, "00074-2310"], [NDC, "0074231030"], [RXNORM, "2196092"], [RXNORM, "1"],
];
const KNOWN_VACCINE_CODES: ReadonlyArray<[string, string]> = ["187", "188", "121", "03", "21", "94", "140"].map((c): [string, string] => [CVX, c]);
const CONCEPT_TEXTS = [
  "EASI", "itch NRS", "Peak pruritus NRS", "vIGA-AD", "IGA", "IgA", "skin pain", "% BSA affected", "ruxolitinib 1.5% cream", "ruxolitinib", "Jakafi 5 mg",
  "Rinvoq 30 mg", "upadacitinib 15 MG Extended Release Oral Tablet", "Cibinqo 200 mg", "Olumiant 2 mg", "tacrolimus ointment", "dupilumab",
  "Shingrix", "Zostavax", "MMR", "narrowband UVB phototherapy", "QuantiFERON", "Hepatitis B surface antigen", "pain severity", "eczema pain",
];

/** A code system URI: the ones the engine reads, a random one, or junk. */
export const codeSystem: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(INSTRUMENT_SYSTEM, LOINC, SNOMED, ATC, RXNORM, CVX, NDC, "http://unitsofmeasure.org", "urn:oid:2.16.840.1.113883.6.1") },
  { weight: 1, arbitrary: fc.webUrl() },
  { weight: 1, arbitrary: anyFieldValue },
);

/** A code: known to the engine (for the domain), random, or junk. */
function codeOf(known: ReadonlyArray<[string, string]>): fc.Arbitrary<{ system: unknown; code: unknown }> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known).map(([system, code]) => ({ system: system as unknown, code: code as unknown })) },
    { weight: 2, arbitrary: fc.record({ system: codeSystem, code: fc.oneof(fc.string({ maxLength: 12 }), hostileString) }) },
    { weight: 1, arbitrary: fc.record({ system: anyFieldValue, code: anyFieldValue }) },
  );
}

/** A CodeableConcept: codings (known, random, junk), text, both, or something that is no CodeableConcept at all. */
function codeableConcept(known: ReadonlyArray<[string, string]>): fc.Arbitrary<unknown> {
  const coding = fc.tuple(codeOf(known), fc.option(fc.oneof(fc.constantFrom(...CONCEPT_TEXTS), hostileString), { nil: undefined })).map(([c, display]) => ({ ...c, ...(display !== undefined ? { display } : {}) }));
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(coding, { minLength: 1, maxLength: 3 }).map((codings) => ({ coding: codings })) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(...CONCEPT_TEXTS), hostileString).map((text) => ({ text })) },
    { weight: 1, arbitrary: fc.tuple(fc.array(coding, { maxLength: 2 }), fc.constantFrom(...CONCEPT_TEXTS)).map(([codings, text]) => ({ coding: codings, text })) },
    { weight: 1, arbitrary: anyFieldValue },
  );
}

export const observationCode = codeableConcept(KNOWN_OBSERVATION_CODES);
export const medicationCode = codeableConcept(KNOWN_MEDICATION_CODES);
export const vaccineCode = codeableConcept(KNOWN_VACCINE_CODES);

/** UCUM-ish units: the ones units.ts converts, near misses, and junk. */
export const unit: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("10*3/uL", "10^9/L", "/mm3", "cells/uL", "g/dL", "g/L", "U/L", "[iU]/L", "ukat/L", "mg/dL", "mmol/L", "umol/L", "µmol/L", "mL/min/{1.73_m2}", "%", "{score}", "score", "m2", "[sq_m]") },
  { weight: 2, arbitrary: fc.constantFrom("", " ", "10*3/ul ", "G/DL", "mg/dl/", "µkat/l", "μkat/l", "x10e3/uL", "thou/uL", "10*3/uL{cells}") },
  { weight: 1, arbitrary: anyFieldValue },
);

/** A number where a value goes: ordinary, boundary, non-finite (only reachable from JS callers), or not a number. */
export const fhirNumber: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -5, max: 110 }) },
  { weight: 3, arbitrary: fc.double({ min: -1_000, max: 5_000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, "7", " 3.5 ", "seven", null) },
);

const patientIds = ["a", "b", "p-1"] as const;

/** A reference to one of a few patients, an absolute, versioned or contained reference, or junk. */
export const patientReference: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...patientIds).map((id) => ({ reference: `Patient/${id}` })) },
  { weight: 2, arbitrary: fc.constantFrom("https://ehr.example/fhir/Patient/a", "Patient/a/_history/3", "urn:uuid:1234", "#p", "Group/x", "Patient/", "", "Patient/a/Patient/b").map((reference) => ({ reference })) },
  { weight: 1, arbitrary: fc.record({ reference: anyFieldValue }) },
  { weight: 1, arbitrary: anyFieldValue },
);

const statusOf = (values: readonly string[]): fc.Arbitrary<unknown> => fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: anyFieldValue });
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });
const resourceId: fc.Arbitrary<unknown> = fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9\-.]{1,12}$/) }, { weight: 1, arbitrary: anyFieldValue });

/** Drops the keys whose value is undefined (a record with optional fields as a resource would be written). */
function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

const quantity = fc.record({ value: fhirNumber, unit: maybe(unit), code: maybe(unit), system: maybe(fc.constant("http://unitsofmeasure.org")) }).map(compact);

export const observation: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    resourceType: fc.constant("Observation"),
    id: maybe(resourceId),
    meta: maybe(fc.record({ versionId: maybe(fc.stringMatching(/^[0-9]{1,3}$/)), lastUpdated: maybe(fhirDate) }).map(compact)),
    status: statusOf(["final", "amended", "corrected", "preliminary", "entered-in-error", "cancelled", "registered"]),
    category: maybe(fc.constantFrom([{ coding: [{ code: "laboratory" }] }], [{ coding: [{ code: "survey" }] }])),
    code: observationCode,
    subject: maybe(patientReference),
    effectiveDateTime: maybe(fhirDate),
    effectivePeriod: maybe(fc.record({ start: maybe(fhirDate), end: maybe(fhirDate) }).map(compact)),
    issued: maybe(fhirDate),
    valueQuantity: maybe(quantity),
    valueInteger: maybe(fhirNumber),
    valueString: maybe(fc.oneof(fc.constantFrom("7", " 3.5 ", "positive", "Non-reactive", "moderate"), hostileString)),
    valueCodeableConcept: maybe(fc.oneof(fc.constantFrom({ text: "Moderate" }, { coding: [{ code: "2" }] }, { coding: [{ system: LOINC, code: "LA6576-8" }] }), anyFieldValue)),
    valueBoolean: maybe(fc.boolean()),
    interpretation: maybe(fc.constantFrom([{ coding: [{ code: "POS" }] }], [{ coding: [{ code: "NEG" }] }], "POS")),
    referenceRange: maybe(fc.oneof(fc.array(fc.record({ high: quantity, low: maybe(quantity) }).map(compact), { maxLength: 2 }), anyFieldValue)),
    bodySite: maybe(fc.constantFrom({ text: "skin" }, { text: "knee" })),
    component: maybe(fc.oneof(fc.array(fc.record({ code: observationCode, valueInteger: maybe(fhirNumber), valueQuantity: maybe(quantity) }).map(compact), { maxLength: 4 }), anyFieldValue)),
    hasMember: maybe(fc.oneof(fc.array(fc.constantFrom({ reference: "Observation/m1" }, { reference: "urn:uuid:m2" }, { reference: 5 }, null), { maxLength: 3 }), anyFieldValue)),
    text: maybe(narrative()),
  })
  .map(compact);

const dosage = fc.record({
  text: maybe(fc.oneof(fc.constantFrom("15 mg once daily", "apply twice daily"), hostileString)),
  route: maybe(fc.oneof(fc.constantFrom({ coding: [{ system: SNOMED, code: "6064005" }] }, { coding: [{ system: SNOMED, code: "26643006" }] }, { text: "topical" }, { text: "oral" }), anyFieldValue)),
  doseAndRate: maybe(fc.oneof(fc.array(fc.record({ doseQuantity: quantity }), { maxLength: 2 }), anyFieldValue)),
}).map(compact);

export const medicationUse: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    resourceType: fc.constantFrom("MedicationStatement", "MedicationRequest", "MedicationDispense"),
    id: maybe(resourceId),
    status: statusOf(["active", "completed", "stopped", "on-hold", "entered-in-error", "not-taken", "draft", "cancelled", "unknown"]),
    intent: maybe(statusOf(["order", "plan", "proposal", "original-order"])),
    medicationCodeableConcept: maybe(medicationCode),
    medicationReference: maybe(fc.oneof(fc.constantFrom({ reference: "#m" }, { reference: "Medication/med-1" }, { display: "Cibinqo 200 mg" }), anyFieldValue)),
    contained: maybe(fc.oneof(fc.constant([{ resourceType: "Medication", id: "m", code: { text: "Rinvoq 15 mg" } }]), anyFieldValue)),
    subject: maybe(patientReference),
    effectivePeriod: maybe(fc.record({ start: maybe(fhirDate), end: maybe(fhirDate) }).map(compact)),
    effectiveDateTime: maybe(fhirDate),
    authoredOn: maybe(fhirDate),
    whenHandedOver: maybe(fhirDate),
    daysSupply: maybe(quantity),
    dosage: maybe(fc.oneof(fc.array(dosage, { maxLength: 2 }), anyFieldValue)),
    dosageInstruction: maybe(fc.oneof(fc.array(dosage, { maxLength: 2 }), anyFieldValue)),
    dispenseRequest: maybe(
      fc.oneof(
        fc.record({ quantity: maybe(quantity), expectedSupplyDuration: maybe(quantity), numberOfRepeatsAllowed: maybe(fhirNumber), validityPeriod: maybe(fc.record({ start: maybe(fhirDate) }).map(compact)) }).map(compact),
        anyFieldValue,
      ),
    ),
    text: maybe(narrative()),
  })
  .map(compact);

export const medication: fc.Arbitrary<Record<string, unknown>> = fc
  .record({ resourceType: fc.constant("Medication"), id: maybe(fc.constantFrom("med-1", "m")), code: maybe(medicationCode), form: maybe(fc.constantFrom({ text: "cream" }, { text: "tablet" })) })
  .map(compact);

/** Demographics well typed (name, birthDate, gender), values random: see patientLoose for wrong types. */
export const patient: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    resourceType: fc.constant("Patient"),
    id: fc.constantFrom(...patientIds),
    gender: maybe(fc.constantFrom("female", "male", "other", "unknown", "")),
    birthDate: maybe(fhirDate),
    name: maybe(fc.array(fc.record({ use: maybe(fc.constantFrom("official", "usual", "nickname")), family: maybe(hostileString), given: maybe(fc.array(hostileString, { maxLength: 2 })), text: maybe(hostileString) }).map(compact), { maxLength: 2 })),
    text: maybe(narrative()),
  })
  .map(compact);

/** A Patient whose demographic fields may have any JSON type (name a string, birthDate a number, ...). */
export const patientLoose: fc.Arbitrary<Record<string, unknown>> = fc
  .record({ resourceType: fc.constant("Patient"), id: fc.constantFrom(...patientIds), gender: maybe(anyFieldValue), birthDate: maybe(anyFieldValue), name: maybe(anyFieldValue) })
  .map(compact);

export const immunization: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    resourceType: fc.constant("Immunization"),
    id: maybe(resourceId),
    status: statusOf(["completed", "entered-in-error", "not-done"]),
    vaccineCode: vaccineCode,
    patient: maybe(patientReference),
    occurrenceDateTime: maybe(fhirDate),
    occurrenceString: maybe(hostileString),
  })
  .map(compact);

export const procedure: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    resourceType: fc.constant("Procedure"),
    id: maybe(resourceId),
    status: statusOf(["completed", "in-progress", "entered-in-error"]),
    code: fc.oneof(fc.constantFrom({ text: "narrowband UVB phototherapy" }, { coding: [{ system: SNOMED, code: "1" }] }), anyFieldValue),
    subject: maybe(patientReference),
    performedDateTime: maybe(fhirDate),
    performedPeriod: maybe(fc.record({ start: maybe(fhirDate), end: maybe(fhirDate) }).map(compact)),
  })
  .map(compact);

const dayAfter = (start: string, days: number): string => new Date(Date.parse(`${start}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/**
 * A well-formed record of one patient on a JAK inhibitor (the Patient, a course, scores and labs around its start),
 * so fuzzed noise added to it reaches the engine's courses, checkpoints and safety rules, not only its input checks.
 */
export const jakPatientRecord: fc.Arbitrary<Record<string, unknown>[]> = fc
  .tuple(
    fc.constantFrom(...patientIds),
    fc.integer({ min: -400, max: 100 }).map((d) => dayAfter("2026-01-01", d)),
    fc.constantFrom<[string, string]>([ATC, "L04AF03"], [ATC, "D11AH08"], [ATC, "L04AF02"], [RXNORM, "2196092"]),
    fc.constantFrom("MedicationStatement", "MedicationRequest"),
    fc.array(fc.tuple(fc.constantFrom("easi", "iga", "itch-nrs", "skin-pain-nrs"), fc.integer({ min: -30, max: 200 }), fc.integer({ min: 0, max: 40 })), { maxLength: 12 }),
    fc.array(fc.tuple(fc.constantFrom<[string, string]>(["751-8", "10*3/uL"], ["731-0", "10*3/uL"], ["1742-6", "U/L"], ["2093-3", "mg/dL"], ["718-7", "g/dL"]), fc.integer({ min: -60, max: 200 }), fc.double({ min: 0, max: 300, noNaN: true })), { maxLength: 6 }),
  )
  .map(([id, start, [system, code], type, scores, labs]) => [
    { resourceType: "Patient", id, birthDate: "1990-05-01", gender: "female" },
    {
      resourceType: type, id: `course-${id}`, status: "active", intent: "order", subject: { reference: `Patient/${id}` },
      medicationCodeableConcept: { coding: [{ system, code }], text: "upadacitinib 15 mg" },
      ...(type === "MedicationStatement" ? { effectivePeriod: { start } } : { authoredOn: start }),
    },
    ...scores.map(([instrument, day, value], i) => ({
      resourceType: "Observation", id: `score-${id}-${i}`, status: "final", subject: { reference: `Patient/${id}` },
      code: { coding: [{ system: INSTRUMENT_SYSTEM, code: instrument }] }, effectiveDateTime: dayAfter(start, day),
      valueInteger: instrument === "iga" ? value % 5 : instrument === "easi" ? value : value % 11,
    })),
    ...labs.map(([[loinc, labUnit], day, value], i) => ({
      resourceType: "Observation", id: `lab-${id}-${i}`, status: "final", subject: { reference: `Patient/${id}` },
      code: { coding: [{ system: LOINC, code: loinc }] }, effectiveDateTime: dayAfter(start, day), valueQuantity: { value, unit: labUnit },
    })),
  ]);

/** Takes a well-formed resource and breaks it: deletes keys or puts arbitrary values in them (resourceType kept). */
export function mangled(arb: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(arb, fc.array(fc.tuple(fc.nat(), fc.boolean(), anyFieldValue), { minLength: 1, maxLength: 3 })).map(([resource, edits]) => {
    const copy: Record<string, unknown> = { ...resource };
    const keys = Object.keys(copy).filter((k) => k !== "resourceType");
    for (const [i, remove, value] of edits) {
      const key = keys[i % Math.max(1, keys.length)];
      if (key === undefined) continue;
      if (remove) delete copy[key];
      else copy[key] = value;
    }
    return copy;
  });
}

/** A Bundle of the given entries, with fullUrls sometimes, and junk entries. */
export function bundleOf(entries: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.constantFrom("collection", "searchset", "transaction", "batch-response"),
      fc.array(fc.oneof({ weight: 6, arbitrary: fc.tuple(entries, maybe(fc.constantFrom("urn:uuid:1234", "https://ehr.example/fhir/Patient/a", "urn:uuid:m2"))).map(([resource, fullUrl]) => compact({ resource, fullUrl })) }, { weight: 1, arbitrary: anyFieldValue }), { maxLength: 6 }),
    )
    .map(([type, entry]) => ({ resourceType: "Bundle", type, entry }));
}

/**
 * Any resource the engine may be handed: the types it reads (well formed with random codes, units and dates, or
 * mangled), Bundles of them, other types, and arbitrary JSON. Patients are well typed here: see patientLoose.
 */
export const fhirishResource: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: observation },
  { weight: 4, arbitrary: medicationUse },
  { weight: 1, arbitrary: medication },
  { weight: 2, arbitrary: patient },
  { weight: 1, arbitrary: immunization },
  { weight: 1, arbitrary: procedure },
  { weight: 2, arbitrary: mangled(observation) },
  { weight: 2, arbitrary: mangled(medicationUse) },
  { weight: 1, arbitrary: mangled(immunization) },
  { weight: 1, arbitrary: bundleOf(fc.oneof(observation, medicationUse, patient, medication)) },
  { weight: 1, arbitrary: fc.record({ resourceType: fc.oneof(fc.constantFrom("Encounter", "Claim", "OperationOutcome", "Bundle", "Condition"), hostileString), id: maybe(resourceId) }).map(compact) },
  { weight: 1, arbitrary: anyJson },
);

/** Fuzzed noise around well-formed JAK records: what the engine tests feed it (flat, in random order). */
export const fuzzedRecords: fc.Arbitrary<unknown[]> = fc
  .tuple(fc.array(jakPatientRecord, { maxLength: 2 }), fc.array(fhirishResource, { maxLength: 25 }))
  .chain(([records, noise]) => fc.shuffledSubarray([...records.flat(), ...noise], { minLength: records.flat().length + noise.length }));

// ---------- NDJSON ----------

/** Bytes that are not UTF-8 (lone continuation bytes, overlong forms, surrogates, truncated sequences), decoded leniently. */
export const invalidUtf8Text: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xff, 0xfe]), fc.string({ maxLength: 10 }))
  .map(([bytes, text]) => Buffer.concat([Buffer.from(`{"resourceType":"Observation","id":"u","note":"${text}`), Buffer.from(bytes), Buffer.from('"}')]).toString("utf8"));

/** One NDJSON line that must not be stored as a resource: broken JSON, JSON that is no resource, or a resource without an id. */
export const junkLine: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }).filter((v) => v === null || typeof v !== "object" || Array.isArray(v)).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    "{",
    "}",
    "[]",
    "null",
    '{"resourceType":"Observation"',
    '{"resourceType":"Observation","id":}',
    '{"resourceType":"Observation","id":"x",}',
    '{"resourceType":"Observation","id":"x"}{"resourceType":"Observation","id":"y"}',
    '{"resourceType":"Observation","id":"x","value":NaN}',
    "{'resourceType':'Observation','id':'x'}",
    '\ufeff{"resourceType":"Observation","id":"bom"}',
    '{"resourceType":"observation","id":"lower"}',
    '{"resourceType":"Observation","id":"has space"}',
    `{"resourceType":"Observation","id":"${"x".repeat(65)}"}`,
    '{"resourceType":5,"id":"x"}',
    '{"id":"no-type"}',
    '{"resourceType":"Observation","id":"nul","note":"\\u0000"}',
    '{"resourceType":"Observation","id":"lone","note":"\\ud800"}',
    '{"resourceType":"Observation","id":"low","note":"\\udc00x"}',
  ),
);

/** A line cut short somewhere (a dropped connection): almost always malformed JSON. */
export function truncatedLine(line: string): fc.Arbitrary<string> {
  return fc.integer({ min: 1, max: Math.max(1, line.length - 1) }).map((at) => line.slice(0, at));
}
