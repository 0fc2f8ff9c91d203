// A card never disagrees with the patient page: on the generated cohort, for every patient and the same date, the
// patient-view service's cards (from a full prefetch, and from its own fetch with the client's token) equal the cards
// built from the patient page's record (lib/fhir/patient-record, the searches the page runs) and the engine.
import { startSandbox, type RunningSandbox } from "../sandbox";
import { randomUUID } from "node:crypto";
import type { Bundle } from "@medplum/fhirtypes";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatePatient } from "../clinical";
import type { TestDatabase } from "../db/testing";
import { fetchPatientRecord } from "../fhir/patient-record";
import type { CdsCard } from "./card-types";
import { patientViewCards } from "./cards";
import { CDS_SERVICE_IDS } from "./discovery";
import { orderSignCards } from "./order-sign";
import { handleCdsHookRequest, type CdsServiceDeps } from "./service";
import { fhirAuthorizationFor, sandboxPrefetch, sandboxSystemToken, signCdsClientJwt, signingKey, withoutUuids, type SigningKey } from "./service.test-helper";

const APP = "http://127.0.0.1:3999";
const AS_OF = "2026-11-01";
const ISS = "https://ehr.cohort.test";
const SERVICE_URL = `${APP}/cds-services/${CDS_SERVICE_IDS.patientView}`;

let sandbox: RunningSandbox;
let db: TestDatabase;
let pool: pg.Pool;
let key: SigningKey;
let token = "";
let patientIds: string[] = [];

function deps(): CdsServiceDeps {
  return {
    pool,
    // The EHR's iss is not the sandbox's origin: its FHIR server is registered for it.
    clients: () => [{ iss: ISS, jwks: { keys: [key.publicJwk] }, fhirServerAllow: [sandbox.fhirBase] }],
    serviceBase: () => APP,
    asOf: () => AS_OF,
    appLaunchUrl: () => `${APP}/launch`,
    patientViewCards,
    orderSignCards,
  };
}

async function patientView(patientId: string, extra: Record<string, unknown>): Promise<CdsCard[]> {
  const jwt = await signCdsClientJwt({ key, iss: ISS, aud: SERVICE_URL });
  const body = { hook: "patient-view", hookInstance: randomUUID(), context: { userId: "Practitioner/derm-1", patientId }, ...extra };
  const request = new Request(SERVICE_URL, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${jwt}` }, body: JSON.stringify(body) });
  const response = await handleCdsHookRequest(request, CDS_SERVICE_IDS.patientView, deps());
  expect(response.status).toBe(200);
  return ((await response.json()) as { cards: CdsCard[] }).cards;
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, cohort: { patients: 16, seed: 42, asOf: AS_OF } });
  token = await sandboxSystemToken(sandbox);
  key = await signingKey();
  // Prisma's generated client (behind lib/db) loads only after the sandbox has started (README: import order).
  const { startTestDatabase } = await import("../db/testing");
  const { createPool } = await import("../db/pool");
  db = await startTestDatabase();
  pool = createPool(db.url, 2);
  const response = await fetch(`${sandbox.fhirBase}/Patient?_count=100&_elements=id`, { headers: { authorization: `Bearer ${token}` } });
  patientIds = (((await response.json()) as Bundle).entry ?? []).map((e) => e.resource!.id!).sort();
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
  await sandbox?.stop();
});

describe("patient-view cards on the generated cohort", () => {
  it("equal the cards of the patient page's record for every patient, with prefetch and without", async () => {
    expect(patientIds.length).toBe(16);
    const indicators = new Set<string>();
    let cardCount = 0;
    for (const patientId of patientIds) {
      const record = await fetchPatientRecord(sandbox.fhirBase, token, patientId);
      expect(record.fetch.failures).toEqual([]);
      const evaluation = evaluatePatient(record.resources, { asOf: AS_OF, patientId });
      const expected = withoutUuids(patientViewCards(evaluation, { asOf: AS_OF, patientId, appLaunchUrl: `${APP}/launch`, uuid: randomUUID }).map((r) => r.card));

      const prefetched = await patientView(patientId, { prefetch: await sandboxPrefetch(sandbox, token, patientId) });
      expect(withoutUuids(prefetched), `prefetch, ${patientId}`).toEqual(expected);
      const fetched = await patientView(patientId, fhirAuthorizationFor(sandbox, token));
      expect(withoutUuids(fetched), `fetched, ${patientId}`).toEqual(expected);

      for (const card of prefetched) indicators.add(card.indicator);
      cardCount += prefetched.length;
    }
    // The cohort is not trivially quiet: the comparison above covered real concerns of several severities.
    expect(cardCount).toBeGreaterThan(patientIds.length / 2);
    expect(indicators.size).toBeGreaterThanOrEqual(2);
  });
});
