/**
 * The rows of a patient evaluated from its prepared input (no resources at hand: the row facts kept with it) equal
 * the rows made from its resources, over fuzzed records with prescribers written every way, valid or not.
 */
import type { Resource } from "@medplum/fhirtypes";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluatePatient, evaluatePrepared, preparePatient, RULES_VERSION } from "../clinical";
import { preparedJakResources } from "../clinical/prepare";
import { anyFieldValue, fuzzedRecords, fuzzParameters, hostileString } from "../testing/arbitraries";
import { evaluationRows, findPatient, patientRowFacts, type PatientRowFacts } from "./evaluation-row";

const AS_OF = "2026-06-01";

const prescriber = fc.oneof(
  fc.record(
    {
      reference: fc.oneof(fc.constantFrom("Practitioner/pr-1", "https://ehr.example/fhir/PractitionerRole/r1/_history/2", "#pr", "#", "Patient/a", "Organization/o1"), hostileString),
      display: hostileString,
      identifier: fc.record({ value: hostileString }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  ),
  anyFieldValue,
);
const contained = fc.oneof(
  fc.array(
    fc.oneof(
      fc.record({ resourceType: fc.constant("Practitioner"), id: fc.constant("pr"), name: fc.array(fc.record({ text: hostileString, family: hostileString }, { requiredKeys: [] }), { maxLength: 2 }) }),
      fc.record({ resourceType: fc.constant("Organization"), id: fc.constant("pr"), name: hostileString }),
    ),
    { maxLength: 2 },
  ),
  anyFieldValue,
);

function withPrescribers(records: unknown[], who: unknown[], inside: unknown): Resource[] {
  return records
    .filter((r): r is Record<string, unknown> => r !== null && typeof r === "object" && !Array.isArray(r))
    .map((r, i) => (r.resourceType === "MedicationRequest" ? { ...r, requester: who[i % who.length], contained: inside } : r.resourceType === "MedicationStatement" ? { ...r, informationSource: who[i % who.length], contained: inside } : r)) as unknown as Resource[];
}

describe("rows from a prepared input", () => {
  it("equal the rows from the resources: the patient's display fields and each course's prescriber", () => {
    let prescribed = 0;
    fc.assert(
      fc.property(fuzzedRecords, fc.array(prescriber, { minLength: 1, maxLength: 3 }), contained, fc.constantFrom("a", "b", "p-1", "p1"), (records, who, inside, patientId) => {
        const resources = withPrescribers(records, who, inside);
        const context = { source: "main", asOf: AS_OF, rulesVersion: RULES_VERSION };
        const fromResources = evaluationRows(evaluatePatient(resources, { asOf: AS_OF, patientId, details: false, facts: true }), { ...context, patient: findPatient(resources, patientId), resources });
        const prepared = preparePatient(resources, { patientId, details: false });
        const facts = JSON.parse(JSON.stringify(patientRowFacts(findPatient(resources, patientId), resources, preparedJakResources(prepared)))) as PatientRowFacts;
        const stored = JSON.parse(JSON.stringify(prepared)) as typeof prepared;
        const fromPrepared = evaluationRows(evaluatePrepared(stored, { asOf: AS_OF, details: false, facts: true }), { ...context, facts });
        expect(fromPrepared).toStrictEqual(fromResources);
        if (fromResources.evaluation.prescriber !== null) prescribed++;
      }),
      fuzzParameters(300),
    );
    expect(prescribed).toBeGreaterThan(5);
  });
});
