import type { Resource } from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { patientSearches, fetchPatientRecord } from "./patient-record";
import { ageAt, buildPatientView, canWriteObservations, displayName, todayIn, type EvaluateFn } from "./patient-view";

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/fhir+json" } });
const bundle = (resources: Resource[]): Response =>
  json({ resourceType: "Bundle", type: "searchset", entry: resources.map((resource) => ({ resource })) });

/** A tiny FHIR server as a fetch function: routes by resource type; `fail` makes some searches fail. */
const LOINC = "http://loinc.org";
const INSTR = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument";
const obs = (id: string, system: string, code: string): Resource => ({ resourceType: "Observation", id, status: "final", code: { coding: [{ system, code }] } }) as Resource;

function fakeServer(opts: { fail?: (url: URL) => number | null; noInclude?: boolean } = {}): typeof fetch & { urls: string[] } {
  const urls: string[] = [];
  const f = (async (input: RequestInfo | URL) => {
    const url = new URL(String(input));
    urls.push(url.pathname + url.search);
    const status = opts.fail?.(url);
    if (status) return json({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "exception", diagnostics: `HTTP ${status}` }] }, status);
    const type = url.pathname.split("/")[2]!;
    if (type === "Patient") return json({ resourceType: "Patient", id: "p1", gender: "female", birthDate: "1990-06-15", name: [{ use: "official", given: ["Ada"], family: "Example" }] });
    if (type === "Observation") {
      const cat = url.searchParams.get("category");
      if (cat === "laboratory") return bundle([obs("lab1", LOINC, "751-8")]);
      if (cat === "survey") return bundle([obs("easi1", INSTR, "easi")]);
      const code = url.searchParams.get("code");
      if (code) {
        const all = [obs("easi1", INSTR, "easi"), obs("lab1", LOINC, "751-8"), obs("pain-vitals", LOINC, "72514-3")];
        const tokenOf = (o: Resource): string => {
          const c = (o as unknown as { code: { coding: Array<{ system: string; code: string }> } }).code.coding[0]!;
          return `${c.system}|${c.code}`;
        };
        const inChunk = all.filter((o) => code.split(",").includes(tokenOf(o)));
        return bundle(inChunk);
      }
      return bundle([]);
    }
    if (type === "MedicationRequest") {
      if (opts.noInclude && url.searchParams.get("_include")) return json({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "not-supported" }] }, 400);
      const mr = { resourceType: "MedicationRequest", id: "mr1", medicationReference: { reference: "Medication/med1" } } as Resource;
      return bundle(opts.noInclude ? [mr] : [mr, { resourceType: "Medication", id: "med1" } as Resource]);
    }
    if (type === "Medication") return bundle([{ resourceType: "Medication", id: "med1" } as Resource]);
    return bundle([]);
  }) as typeof fetch & { urls: string[] };
  f.urls = urls;
  return f;
}

const evaluate: EvaluateFn = (resources, { asOf }) => ({ patientId: "p1", courses: [], flags: [], dataQuality: [{ resource: "x", issue: `n=${resources.length}`, detail: asOf }] });
const base = { serverUrl: "http://fhir.test/r4", accessToken: "tok", scope: "launch patient/Observation.rs", asOf: "2026-11-23", evaluate, rulesVersion: "test" };

describe("patient searches", () => {
  it("always restrict Observation searches by category or code (Epic requires one)", () => {
    const specs = patientSearches("p1");
    const obs = specs.filter((s) => s.path.startsWith("Observation?"));
    expect(obs.length).toBeGreaterThanOrEqual(4);
    for (const s of obs) expect(s.path).toMatch(/[?&](category|code)=/);
    for (const s of specs) {
      expect(s.path).toContain("patient=p1");
      expect(s.path).toContain("_count=1000");
      expect(s.label).not.toContain("p1");
    }
    expect(specs.map((s) => s.label)).toEqual(expect.arrayContaining(["MedicationStatement?_include=MedicationStatement:medication", "Condition", "Immunization", "Procedure"]));
  });
});

describe("fetchPatientRecord", () => {
  it("fetches in parallel, de-duplicates by type/id and keeps included Medications", async () => {
    const f = fakeServer();
    const rec = await fetchPatientRecord("http://fhir.test/r4", "tok", "p1", { fetch: f });
    expect(rec.fetch.partial).toBe(false);
    expect(rec.fetch.resourceCounts).toEqual({ Patient: 1, Observation: 3, MedicationRequest: 1, Medication: 1 });
    expect(rec.fetch.requests).toBe(f.urls.length);
    expect(f.urls.some((u) => u.startsWith("/r4/Medication?"))).toBe(false);
  });

  it("finds a score filed outside the searched categories by its code (generic pain under vital-signs)", async () => {
    const f = fakeServer();
    const rec = await fetchPatientRecord("http://fhir.test/r4", "tok", "p1", { fetch: f });
    expect(rec.resources.some((r) => r.id === "pain-vitals")).toBe(true);
  });

  it("adds the site's mapped score codes to the code search", () => {
    const specs = patientSearches("p1", { extraObservationCodes: ["urn:oid:1.2.840.114350|3040012345"] });
    const code = specs.find((s) => s.label.startsWith("Observation?code="))!;
    expect(decodeURIComponent(code.path)).toContain("http://loinc.org|72514-3,urn:oid:1.2.840.114350|3040012345");
  });

  it("retries without _include when the server refuses it, then reads the referenced Medications", async () => {
    const f = fakeServer({ noInclude: true });
    const rec = await fetchPatientRecord("http://fhir.test/r4", "tok", "p1", { fetch: f });
    expect(rec.fetch.partial).toBe(false);
    expect(rec.resources.some((r) => r.resourceType === "Medication" && r.id === "med1")).toBe(true);
    expect(f.urls).toContain("/r4/Medication?_id=med1&_count=1");
  });
});

describe("buildPatientView", () => {
  it("refuses another patient id than the session's launch patient", async () => {
    const f = fakeServer();
    const res = await buildPatientView({ ...base, requestedPatientId: "p2", sessionPatientId: "p1", fetchOptions: { fetch: f } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "patient-not-in-context" });
    expect(f.urls).toEqual([]);
  });

  it("refuses when the session has no patient in context", async () => {
    const res = await buildPatientView({ ...base, requestedPatientId: "p1", sessionPatientId: null, fetchOptions: { fetch: fakeServer() } });
    expect(res.status).toBe(403);
  });

  it("returns the header, the evaluation and fetch statistics", async () => {
    const res = await buildPatientView({ ...base, requestedPatientId: "p1", sessionPatientId: "p1", fetchOptions: { fetch: fakeServer() } });
    expect(res.status).toBe(200);
    if (res.status !== 200) return;
    expect(res.body.patient).toEqual({ id: "p1", name: "Ada Example", birthDate: "1990-06-15", age: 36, sex: "female" });
    expect(res.body.asOf).toBe("2026-11-23");
    expect(res.body.evaluation.dataQuality[0]?.issue).toBe("n=6");
    expect(res.body.fetch.partial).toBe(false);
    expect(res.body.access.canWriteObservations).toBe(false);
  });

  it("shows partial data when one search fails, naming the failed search without the patient id", async () => {
    const f = fakeServer({ fail: (u) => (u.searchParams.get("category") === "laboratory" ? 500 : null) });
    const res = await buildPatientView({ ...base, requestedPatientId: "p1", sessionPatientId: "p1", fetchOptions: { fetch: f } });
    expect(res.status).toBe(200);
    if (res.status !== 200) return;
    expect(res.body.fetch.partial).toBe(true);
    expect(res.body.fetch.failures).toEqual([{ search: "Observation?category=laboratory", status: 500, message: "HTTP 500" }]);
    expect(res.body.fetch.resourceCounts.Observation).toBe(2);
    expect(res.body.evaluation.dataQuality[0]?.issue).toBe("n=5");
  });

  it("answers 401 session-expired when the FHIR server rejects the token", async () => {
    const f = fakeServer({ fail: () => 401 });
    const res = await buildPatientView({ ...base, requestedPatientId: "p1", sessionPatientId: "p1", fetchOptions: { fetch: f } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: "session-expired" });
  });

  it("answers 502 when nothing could be fetched", async () => {
    const f = fakeServer({ fail: () => 500 });
    const res = await buildPatientView({ ...base, requestedPatientId: "p1", sessionPatientId: "p1", fetchOptions: { fetch: f } });
    expect(res.status).toBe(502);
  });
});

describe("helpers", () => {
  it("computes today in the clinic's time zone", () => {
    const t = new Date("2026-11-23T23:30:00Z");
    expect(todayIn("UTC", t)).toBe("2026-11-23");
    expect(todayIn("Europe/Berlin", t)).toBe("2026-11-24");
    expect(todayIn("America/Los_Angeles", t)).toBe("2026-11-23");
    expect(todayIn("Not/AZone", t)).toBe("2026-11-23");
  });
  it("computes age in whole years", () => {
    expect(ageAt("1990-06-15", "2026-06-14")).toBe(35);
    expect(ageAt("1990-06-15", "2026-06-15")).toBe(36);
    expect(ageAt(null, "2026-06-15")).toBeNull();
  });
  it("builds a display name", () => {
    expect(displayName({ resourceType: "Patient", name: [{ use: "usual", given: ["A"] }, { use: "official", given: ["Ada", "B"], family: "Ex" }] })).toBe("Ada B Ex");
    expect(displayName(null)).toBeNull();
  });
  it("knows which scopes allow writing Observations", () => {
    expect(canWriteObservations("patient/Observation.rs")).toBe(false);
    expect(canWriteObservations("patient/Observation.crs")).toBe(true);
    expect(canWriteObservations("patient/Observation.write")).toBe(true);
    expect(canWriteObservations("user/*.*")).toBe(true);
  });
});
