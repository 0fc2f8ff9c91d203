/**
 * The fetch layer against the sandbox EHR over HTTP (a real SMART token, the synthetic cohort): paging through
 * next links gives the same record as one large page, searches run in parallel, faults are ridden out or
 * reported per search.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_CLIENT_ID, DEMO_APP_CLIENT_SECRET, FHIR_BASE_PATH, startSandbox, type RunningSandbox } from "../sandbox";
import { fetchPatientRecord } from "./patient-record";

const PATIENT = "pt-000007"; // three years of data
let sandbox: RunningSandbox;
let token: string;

async function patientToken(patient: string): Promise<string> {
  const verifier = randomBytes(32).toString("base64url");
  const redirectUri = "http://127.0.0.1:9/cb";
  const authorize = new URL(`${sandbox.origin}/auth/authorize`);
  const params = {
    response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: redirectUri, state: "s", aud: sandbox.fhirBase,
    scope: "launch patient/Patient.rs patient/Observation.rs patient/MedicationStatement.rs patient/MedicationRequest.rs patient/MedicationDispense.rs patient/Medication.rs patient/Condition.rs patient/Immunization.rs patient/Procedure.rs",
    launch: sandbox.createLaunch("pr-derm-1", patient),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
  };
  for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);
  const code = new URL((await fetch(authorize, { redirect: "manual" })).headers.get("location")!).searchParams.get("code")!;
  const res = await fetch(`${sandbox.origin}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`${APP_CLIENT_ID}:${DEMO_APP_CLIENT_SECRET}`).toString("base64")}` },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, cohort: { patients: 8, seed: 3 } });
  token = await patientToken(PATIENT);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe("fetchPatientRecord against the sandbox", () => {
  it("gets three years of data in one page per search, and the same record when the server pages", async () => {
    const big = await fetchPatientRecord(sandbox.fhirBase, token, PATIENT);
    expect(big.fetch.partial).toBe(false);
    expect(big.patient?.id).toBe(PATIENT);
    expect(big.fetch.resourceCounts.Observation).toBeGreaterThan(400);
    expect((big.fetch.resourceCounts.MedicationRequest ?? 0) + (big.fetch.resourceCounts.MedicationStatement ?? 0)).toBeGreaterThan(0);
    const paged = await fetchPatientRecord(sandbox.fhirBase, token, PATIENT, { pageSize: 50 });
    expect(paged.fetch.partial).toBe(false);
    expect(paged.fetch.resourceCounts).toEqual(big.fetch.resourceCounts);
    expect(paged.fetch.requests).toBeGreaterThan(big.fetch.requests + 5);
    expect(new Set(paged.resources.map((r) => `${r.resourceType}/${r.id}`))).toEqual(new Set(big.resources.map((r) => `${r.resourceType}/${r.id}`)));
  });

  it("issues its searches in parallel (latency is paid about once, not once per search)", async () => {
    sandbox.setFaults({ latencyMs: 250 });
    try {
      const rec = await fetchPatientRecord(sandbox.fhirBase, token, PATIENT);
      expect(rec.fetch.requests).toBeGreaterThanOrEqual(10);
      // Sequential would take at least 250 ms per request (more than 2.5 s).
      expect(rec.fetch.ms).toBeLessThan(250 * 6);
    } finally {
      sandbox.setFaults({});
    }
  });

  it("reports a search that keeps failing and keeps the rest", async () => {
    sandbox.setFaults({ rate503: 1, retryAfterSeconds: 0, paths: [`${FHIR_BASE_PATH}/Immunization`] });
    try {
      const rec = await fetchPatientRecord(sandbox.fhirBase, token, PATIENT, { maxRetries: 2, baseDelayMs: 1 });
      expect(rec.fetch.partial).toBe(true);
      expect(rec.fetch.failures).toEqual([{ search: "Immunization", status: 503, message: expect.any(String) }]);
      expect(rec.fetch.resourceCounts.Immunization).toBeUndefined();
      expect(rec.fetch.resourceCounts.Observation).toBeGreaterThan(400);
    } finally {
      sandbox.setFaults({});
    }
  });

  it("waits out 429s with Retry-After and ends with the complete record", async () => {
    const clean = await fetchPatientRecord(sandbox.fhirBase, token, PATIENT);
    sandbox.setFaults({ rate429: 0.4, retryAfterSeconds: 0, seed: 11 });
    try {
      const rec = await fetchPatientRecord(sandbox.fhirBase, token, PATIENT, { maxRetries: 8, baseDelayMs: 1 });
      expect(rec.fetch.partial).toBe(false);
      expect(rec.fetch.requests).toBeGreaterThan(clean.fetch.requests);
      expect(rec.fetch.resourceCounts).toEqual(clean.fetch.resourceCounts);
    } finally {
      sandbox.setFaults({});
    }
  });

  it("is refused (401) with a token the server no longer accepts", async () => {
    const rec = await fetchPatientRecord(sandbox.fhirBase, "not-a-token", PATIENT);
    expect(rec.unauthorized).toBe(true);
    expect(rec.resources).toEqual([]);
  });
});
