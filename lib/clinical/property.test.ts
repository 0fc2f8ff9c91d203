/**
 * Property-based tests: random and mangled resources never make the engine throw, and a checkpoint is
 * never "not-responded" unless some criterion had both a baseline and a value.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INSTRUMENT_SYSTEM } from "./codes";
import { evaluateResources } from "./evaluate";
import type { EngineOutput } from "./types";

const dates = fc.oneof(
  fc.integer({ min: 0, max: 400 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10)),
  fc.constantFrom("2026-02-30", "2026-13-01", "2026", "2026-03", "not a date", "", "2026-03-02T25:00:00Z", "2026-03-02T10:00:00+05:30"),
);
const instrumentCodes = fc.constantFrom("easi", "iga", "itch-nrs", "skin-pain-nrs", "bsa-percent", "poem", "dlqi", "scorad", "sleep-nrs", "unknown");
const labCodes = fc.constantFrom("751-8", "731-0", "718-7", "777-3", "1742-6", "1920-8", "71773-6", "5196-1", "16933-4", "16128-1", "2093-3", "58410-2", "72514-3", "770-8");
const statuses = fc.constantFrom("final", "amended", "corrected", "preliminary", "entered-in-error", "cancelled", "registered", undefined);
const patientRefs = fc.constantFrom("Patient/a", "Patient/b", "urn:uuid:1234", "Group/x", "", "Patient/");

const observation = fc.record({
  resourceType: fc.constant("Observation"),
  id: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
  status: statuses,
  code: fc.oneof(
    instrumentCodes.map((code) => ({ coding: [{ system: INSTRUMENT_SYSTEM, code }] })),
    labCodes.map((code) => ({ coding: [{ system: "http://loinc.org", code }] })),
    fc.constantFrom("EASI", "itch NRS", "vIGA-AD", "skin pain", "% BSA affected", "IgA").map((text) => ({ text })),
  ),
  subject: fc.option(patientRefs.map((reference) => ({ reference })), { nil: undefined }),
  effectiveDateTime: fc.option(dates, { nil: undefined }),
  valueQuantity: fc.option(fc.record({ value: fc.oneof(fc.double({ min: -10, max: 2000, noNaN: false }), fc.integer({ min: 0, max: 80 })), unit: fc.constantFrom("10*3/uL", "/mm3", "g/L", "U/L", "%", "m2", "weird") }), { nil: undefined }),
  valueInteger: fc.option(fc.integer({ min: -5, max: 110 }), { nil: undefined }),
  valueString: fc.option(fc.constantFrom("7", " 3.5 ", "seven", ""), { nil: undefined }),
  valueCodeableConcept: fc.option(fc.constantFrom({ text: "Moderate" }, { coding: [{ code: "2" }] }, { coding: [{ system: "http://loinc.org", code: "LA6576-8" }] }), { nil: undefined }),
  referenceRange: fc.option(fc.constant([{ high: { value: 40, unit: "U/L" } }]), { nil: undefined }),
  component: fc.option(fc.array(fc.record({ code: instrumentCodes.map((code) => ({ coding: [{ system: INSTRUMENT_SYSTEM, code }] })), valueInteger: fc.integer({ min: 0, max: 10 }) }), { maxLength: 2 }), { nil: undefined }),
  hasMember: fc.option(fc.constant([{ reference: "Observation/m1" }]), { nil: undefined }),
});

const medication = fc.record({
  resourceType: fc.constantFrom("MedicationStatement", "MedicationRequest", "MedicationDispense"),
  id: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
  status: fc.constantFrom("active", "completed", "stopped", "entered-in-error", "not-taken", undefined),
  intent: fc.constantFrom("order", "proposal", undefined),
  medicationCodeableConcept: fc.option(fc.constantFrom(
    { coding: [{ system: "http://www.whocc.no/atc", code: "L04AF03" }] },
    { coding: [{ system: "http://www.whocc.no/atc", code: "D11AH08" }] },
    { coding: [{ system: "http://www.whocc.no/atc", code: "L04AF02" }] },
    { text: "ruxolitinib 1.5% cream" },
    { text: "ruxolitinib" },
    { text: "Rinvoq 30 mg" },
    { text: "tacrolimus ointment" },
  ), { nil: undefined }),
  medicationReference: fc.option(fc.constantFrom({ reference: "#m" }, { reference: "Medication/x" }, { display: "Cibinqo 200 mg" }), { nil: undefined }),
  subject: fc.option(patientRefs.map((reference) => ({ reference })), { nil: undefined }),
  effectivePeriod: fc.option(fc.record({ start: fc.option(dates, { nil: undefined }), end: fc.option(dates, { nil: undefined }) }), { nil: undefined }),
  effectiveDateTime: fc.option(dates, { nil: undefined }),
  authoredOn: fc.option(dates, { nil: undefined }),
  whenHandedOver: fc.option(dates, { nil: undefined }),
  dispenseRequest: fc.option(fc.record({ quantity: fc.record({ value: fc.integer({ min: 0, max: 500 }), unit: fc.constant("g") }), expectedSupplyDuration: fc.record({ value: fc.integer({ min: -1, max: 30 }), unit: fc.constant("d") }) }), { nil: undefined }),
});

const patient = fc.record({
  resourceType: fc.constant("Patient"),
  id: fc.constantFrom("a", "b", undefined),
  gender: fc.constantFrom("female", "male", undefined, 3),
  birthDate: fc.option(fc.oneof(dates, fc.constant("19")), { nil: undefined }),
});

const immunization = fc.record({
  resourceType: fc.constant("Immunization"),
  status: fc.constantFrom("completed", "entered-in-error", "not-done"),
  vaccineCode: fc.constantFrom({ coding: [{ system: "http://hl7.org/fhir/sid/cvx", code: "187" }] }, { coding: [{ system: "http://hl7.org/fhir/sid/cvx", code: "03" }] }, { text: "zoster" }),
  patient: fc.option(patientRefs.map((reference) => ({ reference })), { nil: undefined }),
  occurrenceDateTime: fc.option(dates, { nil: undefined }),
});

/** Mangles a well-formed resource: deletes keys or replaces values with arbitrary JSON. */
function mangled<T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.tuple(arb, fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.anything()), { maxLength: 3 })).map(([resource, edits]) => {
    const copy: Record<string, unknown> = { ...(resource as Record<string, unknown>) };
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

const anyResource = fc.oneof(
  { weight: 4, arbitrary: observation },
  { weight: 3, arbitrary: medication },
  { weight: 1, arbitrary: patient },
  { weight: 1, arbitrary: immunization },
  { weight: 2, arbitrary: mangled(observation) },
  { weight: 2, arbitrary: mangled(medication) },
  { weight: 1, arbitrary: fc.anything() },
  { weight: 1, arbitrary: fc.constant({ resourceType: "Bundle", entry: [{ fullUrl: "urn:uuid:1234", resource: { resourceType: "Patient", id: "c" } }, null, { resource: 5 }] }) },
);

function assertHonest(output: EngineOutput): void {
  for (const p of output.patients) {
    for (const c of p.courses) {
      for (const cp of c.checkpoints) {
        const measures = Object.values(cp.measures);
        for (const m of measures) {
          if (m.status === "met" || m.status === "not-met") {
            expect(m.baseline).not.toBeNull();
            expect(m.value).not.toBeNull();
          }
        }
        if (cp.verdict === "not-responded") {
          expect(measures.some((m) => m.status === "not-met" && m.baseline !== null && m.value !== null)).toBe(true);
          expect(measures.some((m) => m.status === "met")).toBe(false);
        }
      }
    }
    expect(p.dataQuality.filter((n) => n.issue === "engine-error")).toEqual([]);
  }
}

describe("engine properties", () => {
  it("never throws on random and mangled resources, and never says not-responded without baseline and value", () => {
    fc.assert(
      fc.property(fc.array(anyResource, { minLength: 3, maxLength: 40 }), fc.integer({ min: 0, max: 500 }), (resources, asOffset) => {
        const asOf = new Date(Date.UTC(2026, 0, 1) + asOffset * 86_400_000).toISOString().slice(0, 10);
        const output = evaluateResources(resources, { asOf });
        assertHonest(output);
        expect(JSON.parse(JSON.stringify(output))).toEqual(output); // plain JSON, no undefined/NaN surprises in the contract keys
      }),
      { numRuns: 400 },
    );
  });

  it("gives the same output after a JSON round trip for a score of -0 (found by the property above)", () => {
    const easi = (valueQuantity: unknown) => ({ resourceType: "Observation", status: "final", code: { coding: [{ system: INSTRUMENT_SYSTEM, code: "easi" }] }, subject: { reference: "Patient/a" }, effectiveDateTime: "2026-01-01", valueQuantity });
    const output = evaluateResources([{ resourceType: "Patient", id: "a" }, easi({ value: -0 }), easi({ value: -0, unit: "10*3/uL" })], { asOf: "2026-01-01" });
    expect(JSON.parse(JSON.stringify(output))).toEqual(output);
  });

  it("reaches real verdicts often enough to make the honesty property meaningful", () => {
    const patientA = { resourceType: "Patient", id: "a" };
    const course = { resourceType: "MedicationStatement", id: "ms", status: "active", subject: { reference: "Patient/a" }, medicationCodeableConcept: { coding: [{ system: "http://www.whocc.no/atc", code: "L04AF03" }] }, effectivePeriod: { start: "2026-01-10" } };
    const score = fc.record({
      code: fc.constantFrom("easi", "iga", "itch-nrs", "skin-pain-nrs"),
      day: fc.oneof(fc.integer({ min: -35, max: 5 }), fc.integer({ min: 5, max: 200 })),
      value: fc.integer({ min: 0, max: 30 }),
      status: fc.constantFrom("final", "final", "final", "entered-in-error", "preliminary"),
    }).map(({ code, day, value, status }) => ({
      resourceType: "Observation", status, subject: { reference: "Patient/a" },
      code: { coding: [{ system: INSTRUMENT_SYSTEM, code }] },
      effectiveDateTime: new Date(Date.UTC(2026, 0, 10) + day * 86_400_000).toISOString().slice(0, 10),
      valueInteger: code === "iga" ? value % 5 : code === "easi" ? value : value % 11,
    }));
    let verdicts = 0;
    fc.assert(
      fc.property(fc.array(score, { minLength: 10, maxLength: 60 }), (scores) => {
        const output = evaluateResources([patientA, course, ...scores], { asOf: "2026-12-01" });
        assertHonest(output);
        verdicts += output.patients[0]!.courses[0]!.checkpoints.filter((c) => c.verdict === "not-responded" || c.verdict === "responded").length;
      }),
      { numRuns: 300 },
    );
    expect(verdicts).toBeGreaterThan(100);
  });
});
