import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYNTHEA_CHILD_AD, sharedFixturePath } from "../testing/shared-fixtures";
import type { Bundle, Observation } from "@medplum/fhirtypes";
import { BULK_CLIENT_ID, createBackendClientKeys, FIXTURE_IDS, startSandbox, type BackendClientKeys, type RunningSandbox } from "./index";
import { requestBackendToken, signClientAssertion } from "./testing/backend-client";

const SYNTHEA_FIXTURE = sharedFixturePath(SYNTHEA_CHILD_AD);

let sandbox: RunningSandbox;
let keys: BackendClientKeys;
let headers: Record<string, string>;

beforeAll(async () => {
  keys = await createBackendClientKeys("RS384");
  sandbox = await startSandbox({ port: 0, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }] });
  const endpoint = `${sandbox.origin}/auth/token`;
  const response = await requestBackendToken(endpoint, await signClientAssertion(BULK_CLIENT_ID, keys.privateJwk, endpoint), "system/*.cruds");
  headers = { authorization: `Bearer ${((await response.json()) as { access_token: string }).access_token}` };
});

afterAll(async () => {
  await sandbox.stop();
});

async function getJson<T>(path: string, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(path.startsWith("http") ? path : `${sandbox.fhirBase}/${path}`, { headers: { ...headers, ...extraHeaders } });
  return { status: response.status, body: (await response.json()) as T };
}

describe("FHIR R4 REST", () => {
  it("serves a CapabilityStatement with the SMART oauth-uris extension without a token", async () => {
    const response = await fetch(`${sandbox.fhirBase}/metadata`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/fhir+json");
    const statement = (await response.json()) as { resourceType: string; fhirVersion: string; rest: { security: { extension: { extension: { url: string; valueUri: string }[] }[] } }[] };
    expect(statement.resourceType).toBe("CapabilityStatement");
    expect(statement.fhirVersion).toBe("4.0.1");
    const uris = statement.rest[0]?.security.extension[0]?.extension ?? [];
    expect(uris.find((uri) => uri.url === "token")?.valueUri).toBe(`${sandbox.origin}/auth/token`);
  });

  it("loads the Synthea transaction Bundle with urn:uuid references and resolves them", async () => {
    const bundle = readFileSync(SYNTHEA_FIXTURE, "utf8");
    const response = await fetch(sandbox.fhirBase, { method: "POST", headers: { ...headers, "content-type": "application/fhir+json" }, body: bundle });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Bundle;
    expect(result.type).toBe("transaction-response");
    const entryCount = (JSON.parse(bundle) as Bundle).entry?.length ?? 0;
    expect(result.entry).toHaveLength(entryCount);
    expect(result.entry?.every((entry) => entry.response?.status?.startsWith("201"))).toBe(true);
    const patientRef = result.entry?.[0]?.response?.location?.split("/_history")[0] ?? "";
    expect(patientRef).toMatch(/^Patient\//);
    const observations = await getJson<Bundle<Observation>>(`Observation?patient=${patientRef}&_count=500`);
    expect(observations.body.total).toBe(163);
    // Every reference was rewritten from urn:uuid to the new Patient.
    expect(observations.body.entry?.every((entry) => entry.resource?.subject?.reference === patientRef)).toBe(true);
  });

  it("searches by code system|code, category, date prefixes, status, _sort and _count with next links", async () => {
    const itch = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument|itch-nrs";
    const all = await getJson<Bundle<Observation>>(`Observation?patient=${FIXTURE_IDS.patientA}&code=${encodeURIComponent(itch)}&_sort=-date`);
    expect(all.body.entry?.map((entry) => entry.resource?.effectiveDateTime)).toEqual(["2026-07-27", "2026-06-01", "2026-05-04"]);
    const wrongSystem = await getJson<Bundle>(`Observation?code=${encodeURIComponent("http://loinc.org|itch-nrs")}`);
    expect(wrongSystem.body.total).toBe(0);
    const dated = await getJson<Bundle>(`Observation?patient=${FIXTURE_IDS.patientA}&date=ge2026-06-01&date=lt2026-07-27`);
    expect(dated.body.total).toBe(2);
    const fixturePatients = `${FIXTURE_IDS.patientA},${FIXTURE_IDS.patientB},${FIXTURE_IDS.patientC}`;
    const labs = await getJson<Bundle>(`Observation?patient=${fixturePatients}&category=laboratory&status=final`);
    expect(labs.body.total).toBe(3);

    const pages: string[] = [];
    let next: string | undefined = `${sandbox.fhirBase}/Observation?patient=${fixturePatients}&_count=4&_sort=date`;
    while (next) {
      const page: { body: Bundle<Observation> } = await getJson<Bundle<Observation>>(next);
      pages.push(...(page.body.entry ?? []).map((entry) => entry.resource?.id ?? ""));
      next = page.body.link?.find((link) => link.relation === "next")?.url;
    }
    expect(pages).toHaveLength(9);
    expect(new Set(pages).size).toBe(9);
  });

  it("supports _include, _lastUpdated, compartment search and _summary=count", async () => {
    const withRoles = await getJson<Bundle>(`PractitionerRole?practitioner=Practitioner/${FIXTURE_IDS.clinicLead}&_include=PractitionerRole:practitioner`);
    expect(withRoles.body.entry?.map((entry) => `${entry.resource?.resourceType}:${entry.search?.mode}`).sort()).toEqual(["Practitioner:include", "PractitionerRole:match"]);
    const future = await getJson<Bundle>(`Patient?_lastUpdated=gt2999-01-01`);
    expect(future.body.total).toBe(0);
    const recent = await getJson<Bundle>(`Patient?_lastUpdated=gt2000-01-01&_id=${FIXTURE_IDS.patientA}`);
    expect(recent.body.total).toBe(1);
    const compartment = await getJson<Bundle>(`Patient/${FIXTURE_IDS.patientB}/Observation`);
    expect(compartment.body.total).toBe(3);
    const count = await getJson<Bundle>(`Observation?_summary=count`);
    expect(count.body.entry).toBeUndefined();
    expect(count.body.total).toBeGreaterThanOrEqual(9);
  });

  it("answers errors with OperationOutcome: 404, 401, strict unknown parameters; ignores unknown ones leniently", async () => {
    const missing = await getJson<{ resourceType: string }>(`Patient/does-not-exist`);
    expect(missing.status).toBe(404);
    expect(missing.body.resourceType).toBe("OperationOutcome");
    const noToken = await fetch(`${sandbox.fhirBase}/Patient`);
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { resourceType: string }).resourceType).toBe("OperationOutcome");
    const lenient = await getJson<Bundle>(`Patient?_id=${FIXTURE_IDS.patientA}&favourite-colour=blue`);
    expect(lenient.body.total).toBe(1);
    expect(lenient.body.link?.[0]?.url).not.toContain("favourite-colour");
    const strict = await getJson<{ resourceType: string }>(`Patient?favourite-colour=blue`, { prefer: "handling=strict" });
    expect(strict.status).toBe(400);
  });

  it("creates and reads back a resource with ETag and Location", async () => {
    const created = await fetch(`${sandbox.fhirBase}/Observation`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/fhir+json" },
      body: JSON.stringify({ resourceType: "Observation", status: "final", code: { coding: [{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument", code: "easi" }] }, subject: { reference: `Patient/${FIXTURE_IDS.patientC}` }, effectiveDateTime: "2026-11-20", valueQuantity: { value: 12.5 } }),
    });
    expect(created.status).toBe(201);
    const location = created.headers.get("location") ?? "";
    expect(location).toMatch(new RegExp(`^${sandbox.fhirBase}/Observation/[^/]+/_history/`));
    const read = await fetch(location.split("/_history")[0] ?? "", { headers });
    expect(read.status).toBe(200);
    expect(read.headers.get("etag")).toMatch(/^W\/"/);
    const search = await getJson<Bundle>(`Observation?patient=${FIXTURE_IDS.patientC}&code=easi`);
    expect(search.body.total).toBe(1);
  });
});
