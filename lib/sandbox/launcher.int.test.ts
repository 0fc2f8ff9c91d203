import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeCohortNdjson } from "./cohort/ndjson-writer";
import { startSandbox, type RunningSandbox } from "./index";

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, cohort: { patients: 12, seed: 7 }, appLaunchUrl: "http://127.0.0.1:3999/launch" });
});

afterAll(async () => {
  await sandbox.stop();
});

describe("sandbox seeded from the synthetic cohort, and its launcher", () => {
  it("holds the clinic's JAK panel Group and practitioners with the three app roles", async () => {
    const group = await sandbox.repository.readResource("Group", "jak-panel");
    expect(group.resourceType).toBe("Group");
    const html = await (await fetch(sandbox.launcherUrl)).text();
    for (const role of ["dermatologist", "clinic-lead", "quality"]) expect(html).toContain(`class="role">${role}`);
    expect(html.match(/name="patient"/g)).toHaveLength(12);
    expect(html).toContain("Standalone launch");
    expect(html).toContain("EHR launch");
  });

  it("opens the app's launch URL with iss and a launch id, as an EHR does", async () => {
    const practitioner = [...sandbox.repository.iterateType("PractitionerRole")][0];
    const practitionerId = String((practitioner as { practitioner?: { reference?: string } }).practitioner?.reference).split("/")[1];
    const patientId = [...sandbox.repository.iterateType("Patient")][0]?.id ?? "";
    const response = await fetch(`${sandbox.launcherUrl}?practitioner=${practitionerId}&patient=${patientId}&mode=ehr&go=1`, { redirect: "manual" });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe("http://127.0.0.1:3999/launch");
    expect(location.searchParams.get("iss")).toBe(sandbox.fhirBase);
    expect(location.searchParams.get("launch")).toMatch(/^[A-Za-z0-9_-]{16,}$/);
  });

  it("explains, rather than launches, an EHR launch without a patient", async () => {
    const practitionerId = [...sandbox.repository.iterateType("Practitioner")][0]?.id ?? "";
    const response = await fetch(`${sandbox.launcherUrl}/launch?practitioner=${practitionerId}&mode=ehr`, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("needs a patient");
  });
});

describe("sandbox seeded from a folder of cohort NDJSON files", () => {
  it("loads the same resources as the in-process generator", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sandbox-cohort-"));
    try {
      await writeCohortNdjson({ patients: 12, seed: 7 }, dir);
      const fromFiles = await startSandbox({ port: 0, cohort: { dir } });
      try {
        expect(fromFiles.resourceCount).toBe(sandbox.resourceCount);
        expect(fromFiles.repository.resourceTypes()).toEqual(sandbox.repository.resourceTypes());
        const group = await fromFiles.repository.readResource("Group", "jak-panel");
        expect(group.resourceType).toBe("Group");
      } finally {
        await fromFiles.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
