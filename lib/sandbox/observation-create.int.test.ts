/**
 * Creating Observations with patient-level scopes (score capture): v2 `.c`/`.cu`/`.cud` and v1 `.write`
 * grant create only in the launch patient's compartment; read/search scopes do not grant it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bundle, Observation } from "@medplum/fhirtypes";
import { APP_CLIENT_ID, DEMO_APP_CLIENT_SECRET, FIXTURE_IDS, startSandbox, type RunningSandbox } from "./index";
import { browse, startTestApp, type TestApp, type TestAppResult } from "./testing/smart-test-app";

const { dermatologist, patientA, patientB } = FIXTURE_IDS;
const INSTRUMENT = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument";

let sandbox: RunningSandbox;
const apps: TestApp[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
  await sandbox.stop();
});

/** An EHR launch for patient A with the given scopes; returns the granted scope and the access token. */
async function launchWith(scope: string): Promise<{ token: string; granted: string }> {
  const app = await startTestApp({ clientId: APP_CLIENT_ID, clientSecret: DEMO_APP_CLIENT_SECRET, scope });
  apps.push(app);
  const launcher = `${sandbox.launcherUrl}?practitioner=${dermatologist}&patient=${patientA}&mode=ehr&go=1&launch_url=${encodeURIComponent(app.launchUrl)}`;
  const { response, steps } = await browse(launcher);
  expect(response.status, JSON.stringify(steps)).toBe(200);
  const result = (await response.json()) as TestAppResult;
  expect(result.patientId).toBe(patientA);
  return { token: result.tokenResponse.access_token!, granted: result.tokenResponse.scope ?? "" };
}

function itchScore(patientId: string, value: number): Observation {
  return {
    resourceType: "Observation",
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "survey" }] }],
    code: { coding: [{ system: INSTRUMENT, code: "itch-nrs" }], text: "Worst itch NRS" },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: "2026-11-20",
    valueQuantity: { value, unit: "score", system: "http://unitsofmeasure.org", code: "{score}" },
  };
}

async function create(token: string, body: unknown, path = "Observation"): Promise<Response> {
  return fetch(`${sandbox.fhirBase}/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/fhir+json", accept: "application/fhir+json" },
    body: JSON.stringify(body),
  });
}

describe("POST [base]/Observation under patient-level scopes", () => {
  it("creates an Observation for the launch patient with patient/Observation.c: 201, Location, then readable and searchable", async () => {
    const { token, granted } = await launchWith("launch openid fhirUser patient/*.rs patient/Observation.c");
    expect(granted.split(" ")).toContain("patient/Observation.c");
    const response = await create(token, itchScore(patientA, 6));
    expect(response.status).toBe(201);
    const created = (await response.json()) as Observation;
    expect(created.id).toBeTruthy();
    expect(response.headers.get("location")).toBe(`${sandbox.fhirBase}/Observation/${created.id}/_history/${created.meta?.versionId}`);
    const read = await fetch(`${sandbox.fhirBase}/Observation/${created.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as Observation).valueQuantity?.value).toBe(6);
    const search = await fetch(`${sandbox.fhirBase}/Observation?patient=${patientA}&code=${encodeURIComponent(`${INSTRUMENT}|itch-nrs`)}&date=2026-11-20`, { headers: { authorization: `Bearer ${token}` } });
    const bundle = (await search.json()) as Bundle<Observation>;
    expect(bundle.entry?.map((e) => e.resource?.id)).toContain(created.id);
  });

  it("refuses an Observation about another patient with 403, and creates nothing", async () => {
    const { token } = await launchWith("launch openid fhirUser patient/*.rs patient/Observation.c");
    const response = await create(token, itchScore(patientB, 9));
    expect(response.status).toBe(403);
    expect(((await response.json()) as { resourceType: string }).resourceType).toBe("OperationOutcome");
    const system = await launchWith("launch openid fhirUser user/Observation.rs");
    const search = await fetch(`${sandbox.fhirBase}/Observation?patient=${patientB}&code=${encodeURIComponent(`${INSTRUMENT}|itch-nrs`)}&date=2026-11-20`, { headers: { authorization: `Bearer ${system.token}` } });
    expect(search.status).toBe(200);
    expect(((await search.json()) as Bundle).total).toBe(0);
  });

  it("refuses create with read/search scopes only (403)", async () => {
    const { token, granted } = await launchWith("launch openid fhirUser patient/*.rs");
    expect(granted).not.toMatch(/Observation\.(c|write)/);
    const response = await create(token, itchScore(patientA, 2));
    expect(response.status).toBe(403);
    expect(JSON.stringify(await response.json())).toMatch(/creating Observation/);
  });

  it.each(["patient/Observation.cu", "patient/Observation.cud", "patient/Observation.write", "patient/*.write"])("grants create with %s", async (writeScope) => {
    const { token, granted } = await launchWith(`launch openid fhirUser patient/Observation.rs ${writeScope}`);
    expect(granted.split(" ")).toContain(writeScope);
    const response = await create(token, itchScore(patientA, 3));
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toMatch(new RegExp(`^${sandbox.fhirBase}/Observation/[^/]+/_history/[^/]+$`));
  });

  it("refuses a body whose resourceType is not the path's (400) and POST to an instance (405)", async () => {
    const { token } = await launchWith("launch openid fhirUser patient/*.rs patient/Observation.c");
    expect((await create(token, { ...itchScore(patientA, 1), resourceType: "Condition" })).status).toBe(400);
    expect((await create(token, itchScore(patientA, 1), "Observation/x")).status).toBe(405);
  });
});
