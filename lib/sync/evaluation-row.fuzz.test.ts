/**
 * Fuzz tests of the step after the engine in a sync: evaluationRows turns a patient's evaluation and stored resources
 * into the panel's and the reports' rows. Over fuzzed records with prescribers written every well-typed way it never
 * throws and every row names the patient; prescribers of the wrong JSON type are a known bug (a failing test for the
 * lead). Seeded (lib/testing/arbitraries.ts).
 */
import type { Resource } from "@medplum/fhirtypes";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluatePatient, RULES_VERSION } from "../clinical";
import { anyFieldValue, fuzzedRecords, fuzzParameters, hostileString } from "../testing/arbitraries";
import { evaluationRows, findPatient } from "./evaluation-row";

const AS_OF = "2026-06-01";

/** Who prescribed: a reference of every well-typed form (relative, absolute, contained, display, identifier). */
const prescriber = fc.record(
  {
    reference: fc.oneof(fc.constantFrom("Practitioner/pr-1", "https://ehr.example/fhir/PractitionerRole/r1/_history/2", "#pr", "#", "Patient/a", "Organization/o1"), hostileString),
    display: hostileString,
    identifier: fc.record({ value: hostileString }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const containedPrescriber = fc.array(
  fc.oneof(
    fc.record({ resourceType: fc.constant("Practitioner"), id: fc.constant("pr"), name: fc.array(fc.record({ text: hostileString, given: fc.array(hostileString, { maxLength: 2 }), family: hostileString }, { requiredKeys: [] }), { maxLength: 2 }) }),
    fc.record({ resourceType: fc.constant("Organization"), id: fc.constant("pr"), name: hostileString }),
  ),
  { maxLength: 2 },
);

function withPrescribers(records: unknown[], who: unknown[], contained: unknown[]): Resource[] {
  return records
    .filter((r): r is Record<string, unknown> => r !== null && typeof r === "object" && !Array.isArray(r))
    .map((r, i) => (r.resourceType === "MedicationRequest" ? { ...r, requester: who[i % who.length], contained } : r.resourceType === "MedicationStatement" ? { ...r, informationSource: who[i % who.length], contained } : r)) as unknown as Resource[];
}

function rowsFor(resources: Resource[], patientId: string) {
  const evaluation = evaluatePatient(resources, { asOf: AS_OF, patientId, details: false, facts: true });
  return evaluationRows(evaluation, { source: "main", asOf: AS_OF, rulesVersion: RULES_VERSION, patient: findPatient(resources, patientId), resources });
}

describe("evaluation rows under fuzzed records", () => {
  it("never throws for well-typed prescribers, and every row names the patient", () => {
    let courses = 0;
    fc.assert(
      fc.property(fuzzedRecords, fc.array(prescriber, { minLength: 1, maxLength: 3 }), containedPrescriber, fc.constantFrom("a", "b", "p-1"), (records, who, contained, patientId) => {
        const rows = rowsFor(withPrescribers(records, who, contained), patientId);
        expect(rows.evaluation.patientId).toBe(patientId);
        for (const row of [...rows.checkpoints, ...rows.labs, ...rows.flags]) expect(row.patientId).toBe(patientId);
        courses += rows.evaluation.courseCount;
      }),
      fuzzParameters(200),
    );
    expect(courses).toBeGreaterThan(20);
  });

  // Prescribers of the wrong JSON type read as unknown: the evaluation batch never throws.
  it("never throws for prescribers of the wrong JSON type", () => {
    fc.assert(
      fc.property(fuzzedRecords, fc.array(fc.oneof(fc.record({ reference: anyFieldValue, display: anyFieldValue }, { requiredKeys: [] }), anyFieldValue), { minLength: 1, maxLength: 3 }), anyFieldValue, (records, who, contained) => {
        rowsFor(withPrescribers(records, who, [contained].flat()), "a");
        rowsFor(withPrescribers(records, who, contained as unknown[]), "a");
      }),
      fuzzParameters(200),
    );
  });
});
