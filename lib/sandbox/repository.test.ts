import { readFileSync } from "node:fs";
import { parseSearchRequest } from "@medplum/core";
import { describe, expect, it } from "vitest";
import { SYNTHEA_CHILD_AD, sharedFixturePath } from "../testing/shared-fixtures";
import type { Bundle, Observation } from "@medplum/fhirtypes";
import { splitTypeFilters } from "./bulk";
import { sandboxFixtureResources, FIXTURE_IDS } from "./fixtures";
import { requiredTextAlternatives, SandboxRepository } from "./repository";
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

describe("splitTypeFilters", () => {
  it("splits on commas that start a new Type? query and URL-decodes each", () => {
    expect(splitTypeFilters("Observation%3Fcategory%3Dlaboratory,MedicationRequest?status=active,completed")).toEqual([
      "Observation?category=laboratory",
      "MedicationRequest?status=active,completed",
    ]);
  });
});
