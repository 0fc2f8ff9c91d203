/**
 * Fuzz tests of the patient view's model (GET /api/patients/[id] minus HTTP, and the synced copy's) over what an EHR
 * may answer: fuzzed records with well-typed demographics always give a 200 view; demographics of the wrong JSON
 * type are known to throw (500) and are kept as a failing test for the lead. Seeded
 * (lib/testing/arbitraries.ts).
 */
import type { Resource } from "@medplum/fhirtypes";
import fc from "fast-check";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { evaluatePatient, RULES_VERSION } from "../clinical";
import { loadSyncedPatientView } from "../panel/synced-patient";
import { fuzzedRecords, fuzzParameters, patient, patientLoose } from "../testing/arbitraries";
import { buildPatientView } from "./patient-view";

const AS_OF = "2026-06-01";
const PATIENT = "a";
const BASE = "http://ehr.test/fhir";

/** A FHIR server stub: the Patient by id, every search answered with the resources of its type. */
function fhirServer(resources: readonly Record<string, unknown>[]): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const [type, id] = url.pathname.slice(new URL(BASE).pathname.length + 1).split("/");
    const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/fhir+json" } });
    if (id) {
      const found = resources.find((r) => r.resourceType === type && r.id === decodeURIComponent(id));
      return found ? json(found) : json({ resourceType: "OperationOutcome" }, 404);
    }
    return json({ resourceType: "Bundle", type: "searchset", entry: resources.filter((r) => r.resourceType === type).map((resource) => ({ resource })) });
  }) as typeof fetch;
}

function view(resources: readonly Record<string, unknown>[]) {
  return buildPatientView({
    requestedPatientId: PATIENT,
    sessionPatientId: PATIENT,
    serverUrl: BASE,
    accessToken: "t",
    scope: "launch patient/*.rs",
    asOf: AS_OF,
    evaluate: (rs, options) => evaluatePatient(rs, { ...options, patientId: PATIENT }),
    rulesVersion: RULES_VERSION,
    fetchOptions: { fetch: fhirServer(resources), sleep: async () => undefined },
  });
}

const syncedPool = { query: async () => ({ rows: [], rowCount: 0 }) } as unknown as pg.Pool;
const synced = (resources: readonly Record<string, unknown>[]) =>
  loadSyncedPatientView(syncedPool, "main", PATIENT, { asOf: AS_OF, loadResources: async () => new Map([[PATIENT, resources as unknown as Resource[]]]) });

const objects = (items: readonly unknown[]): Record<string, unknown>[] =>
  items.filter((r): r is Record<string, unknown> => r !== null && typeof r === "object" && !Array.isArray(r) && typeof (r as { resourceType?: unknown }).resourceType === "string" && !((r as { resourceType: unknown }).resourceType === "Patient"));

describe("patient view model under fuzzed EHR answers", () => {
  it("gives a 200 view with the launch patient's header for fuzzed records with well-typed demographics", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedRecords, patient.map((p) => ({ ...p, id: PATIENT })), async (resources, demographics) => {
        const all = [demographics, ...objects(resources)];
        const result = await view(all);
        expect(result.status).toBe(200);
        if (result.status !== 200) return;
        expect(result.body.patient.id).toBe(PATIENT);
        expect(result.body.evaluation.dataQuality.filter((n) => n.issue === "engine-error")).toEqual([]);
        const copy = await synced(all);
        expect(copy?.patient.id).toBe(PATIENT);
      }),
      fuzzParameters(60, { timeLimitMs: 10_000, caseTimeoutMs: 10_000 }),
    );
  });

  // Demographics of the wrong JSON type from the EHR read as unknown: the page answers 200, never 500.
  it("gives a 200 view when the Patient's demographics have the wrong JSON type", async () => {
    await fc.assert(
      fc.asyncProperty(patientLoose.map((p) => ({ ...p, id: PATIENT })), async (demographics) => {
        const result = await view([demographics]);
        expect(result.status).toBe(200);
        if (result.status === 200) for (const field of [result.body.patient.name, result.body.patient.birthDate, result.body.patient.sex]) expect(field === null || typeof field === "string").toBe(true);
        await synced([demographics]);
      }),
      fuzzParameters(100),
    );
  });
});
