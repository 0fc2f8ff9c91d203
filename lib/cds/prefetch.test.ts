import { describe, expect, it } from "vitest";
import { gatherPatientRecord } from "./prefetch";

const PID = "patient-1";
const SERVER = "https://ehr.example.org/fhir";

const bundle = (resources: unknown[], next?: string) => ({
  resourceType: "Bundle",
  type: "searchset",
  entry: resources.map((resource) => ({ resource })),
  ...(next ? { link: [{ relation: "next", url: next }] } : {}),
});

const patient = { resourceType: "Patient", id: PID, birthDate: "1990-01-01", gender: "female" };
const obs = (id: string) => ({ resourceType: "Observation", id, status: "final", subject: { reference: `Patient/${PID}` } });
const medRequest = { resourceType: "MedicationRequest", id: "mr-1", status: "active", subject: { reference: `Patient/${PID}` }, medicationReference: { reference: "Medication/med-1" } };

function fullPrefetch(): Record<string, unknown> {
  return {
    patient,
    observations: bundle([obs("o-1"), obs("o-2")]),
    medicationRequests: bundle([{ ...medRequest, medicationReference: undefined, medicationCodeableConcept: { text: "upadacitinib" } }]),
    medicationStatements: bundle([]),
    medicationDispenses: bundle([]),
    immunizations: bundle([]),
    procedures: bundle([]),
    conditions: bundle([{ resourceType: "Condition", id: "c-1" }]),
  };
}

/** A FHIR server stand-in: answers by path, records what was asked and with which Authorization. */
function fakeServer(routes: Record<string, unknown | ((url: URL) => unknown)>) {
  const calls: Array<{ url: string; authorization: string | null }> = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const authorization = new Headers(init?.headers).get("authorization");
    calls.push({ url: url.toString(), authorization });
    const path = url.pathname.slice(new URL(SERVER).pathname.length + 1);
    const route = Object.entries(routes).find(([prefix]) => `${path}${url.search}`.startsWith(prefix));
    if (!route) return new Response(JSON.stringify({ resourceType: "OperationOutcome", issue: [{ code: "not-found" }] }), { status: 404 });
    const [, value] = route;
    const body = typeof value === "function" ? (value as (u: URL) => unknown)(url) : value;
    if (typeof body === "number") return new Response("", { status: body });
    return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/fhir+json" } });
  }) as typeof fetch;
  return { fetchImpl, calls };
}

describe("gatherPatientRecord", () => {
  it("uses a full prefetch without calling the EHR", async () => {
    const { fetchImpl, calls } = fakeServer({});
    const record = await gatherPatientRecord({ patientId: PID, prefetch: fullPrefetch(), fhir: { server: SERVER, accessToken: "tok" }, fetch: fetchImpl });
    expect(calls).toEqual([]);
    expect(record.requests).toBe(0);
    expect(record.unreadable).toEqual([]);
    expect(record.missing).toEqual([]);
    expect(record.prefetched).toEqual(["patient", "observations", "medicationRequests", "medicationStatements", "medicationDispenses", "immunizations", "procedures", "conditions"]);
    expect(record.resources.map((r) => `${r.resourceType}/${r.id}`).sort()).toEqual(["Condition/c-1", "MedicationRequest/mr-1", "Observation/o-1", "Observation/o-2", "Patient/patient-1"]);
  });

  it("names every kind of data it could not read when there is neither prefetch nor authorisation, and calls nobody", async () => {
    const { fetchImpl, calls } = fakeServer({});
    const record = await gatherPatientRecord({ patientId: PID, fhir: null, fetch: fetchImpl });
    expect(calls).toEqual([]);
    expect(record.resources).toEqual([]);
    expect(record.missing).toEqual(["patient", "observations", "medicationRequests", "medicationStatements", "medicationDispenses", "immunizations", "procedures"]);
    expect(record.unreadable).toHaveLength(7);
    expect(record.unreadable[0]).toBe("Patient demographics (birth date, sex) could not be read: not in the prefetch and the request gave no FHIR server authorisation.");
    expect(record.unreadable[1]).toMatch(/^Scores and laboratory results \(Observation\) could not be read/);
  });

  it("fetches only the missing keys, with the client's token, and follows next links", async () => {
    const prefetch = fullPrefetch();
    delete prefetch.observations;
    prefetch.immunizations = null;
    const { fetchImpl, calls } = fakeServer({
      "Observation?patient=patient-1&category=laboratory": bundle([obs("lab-1")], `${SERVER}/Observation?page=2`),
      "Observation?page=2": bundle([obs("lab-2")]),
      "Observation?": bundle([]),
      "Immunization?": bundle([{ resourceType: "Immunization", id: "imm-1", status: "completed" }]),
    });
    const record = await gatherPatientRecord({ patientId: PID, prefetch, fhir: { server: SERVER, accessToken: "tok" }, fetch: fetchImpl });
    expect(record.fetched).toEqual(["observations", "immunizations"]);
    expect(record.unreadable).toEqual([]);
    expect(calls.every((c) => c.authorization === "Bearer tok")).toBe(true);
    expect(calls.every((c) => /^(Observation|Immunization)\b/.test(c.url.slice(SERVER.length + 1)))).toBe(true);
    const ids = record.resources.map((r) => `${r.resourceType}/${r.id}`);
    expect(ids).toEqual(expect.arrayContaining(["Observation/lab-1", "Observation/lab-2", "Immunization/imm-1", "Patient/patient-1"]));
  });

  it("says which data the EHR refused, with the status, and keeps what it could read", async () => {
    const prefetch = fullPrefetch();
    delete prefetch.immunizations;
    const { fetchImpl } = fakeServer({ "Immunization?": 403 });
    const record = await gatherPatientRecord({ patientId: PID, prefetch, fhir: { server: SERVER, accessToken: "tok" }, fetch: fetchImpl });
    expect(record.missing).toEqual(["immunizations"]);
    expect(record.unreadable).toEqual(["Vaccinations (Immunization) could not be read: the EHR answered HTTP 403."]);
    expect(record.resources.length).toBeGreaterThan(0);
  });

  it("reads the rest of a search the client sent only in part, or says it is partial without authorisation", async () => {
    const prefetch = fullPrefetch();
    prefetch.observations = bundle([obs("o-1")], `${SERVER}/Observation?page=2`);
    const { fetchImpl } = fakeServer({ "Observation?page=2": bundle([obs("o-9")]) });
    const withAccess = await gatherPatientRecord({ patientId: PID, prefetch, fhir: { server: SERVER, accessToken: "tok" }, fetch: fetchImpl });
    expect(withAccess.resources.some((r) => r.id === "o-9")).toBe(true);
    expect(withAccess.unreadable).toEqual([]);
    const without = await gatherPatientRecord({ patientId: PID, prefetch, fhir: null });
    expect(without.unreadable).toEqual(["Scores and laboratory results (Observation) were sent only in part (the first page of the search) and the request gave no FHIR server authorisation."]);
  });

  it("does not send the token to another origin named in a next link", async () => {
    const prefetch = fullPrefetch();
    prefetch.observations = bundle([obs("o-1")], "https://elsewhere.example.net/fhir/Observation?page=2");
    const { fetchImpl, calls } = fakeServer({});
    const record = await gatherPatientRecord({ patientId: PID, prefetch, fhir: { server: SERVER, accessToken: "tok" }, fetch: fetchImpl });
    expect(calls).toEqual([]);
    expect(record.unreadable[0]).toMatch(/^Scores and laboratory results \(Observation\) were sent only in part, and the rest could not be read/);
  });

  it("reads Medications that orders (and draft orders) reference but the prefetch left out", async () => {
    const prefetch = fullPrefetch();
    prefetch.medicationRequests = bundle([medRequest]);
    const draft = { resourceType: "MedicationRequest", id: "draft-1", status: "draft", medicationReference: { reference: "Medication/med-2" } };
    const { fetchImpl, calls } = fakeServer({
      "Medication?_id=": bundle([
        { resourceType: "Medication", id: "med-1" },
        { resourceType: "Medication", id: "med-2" },
      ]),
    });
    const record = await gatherPatientRecord({ patientId: PID, prefetch, fhir: { server: SERVER, accessToken: "tok" }, alsoReferencing: [draft], fetch: fetchImpl });
    expect(calls).toHaveLength(1);
    expect(record.resources.filter((r) => r.resourceType === "Medication").map((r) => r.id).sort()).toEqual(["med-1", "med-2"]);
    const without = await gatherPatientRecord({ patientId: PID, prefetch, fhir: null, alsoReferencing: [draft] });
    expect(without.unreadable).toEqual([
      "Medication details referenced by orders (2 Medication resources) were not sent and the request gave no FHIR server authorisation, so those drugs may not be recognised.",
    ]);
  });

  it("treats an OperationOutcome in the prefetch as data the client could not read", async () => {
    const prefetch = fullPrefetch();
    prefetch.procedures = { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "forbidden" }] };
    const record = await gatherPatientRecord({ patientId: PID, prefetch, fhir: null, noAccessReason: "the FHIR server the request named is not one this client is registered for" });
    expect(record.missing).toEqual(["procedures"]);
    expect(record.unreadable).toEqual([
      "Procedures such as phototherapy (Procedure) could not be read: not in the prefetch and the FHIR server the request named is not one this client is registered for.",
    ]);
  });
});
