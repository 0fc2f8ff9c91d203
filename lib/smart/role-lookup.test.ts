import { describe, expect, it } from "vitest";
import { decideLaunchRole, lookupRole } from "./role-lookup";
import { parseRoleMapping } from "./roles";

const BASE = "https://ehr.test/fhir";

/** A fetch that records the URLs and bearer tokens it was asked for and answers with `answer`. */
function stubFetch(answer: (url: string) => Response | Promise<Response>): { fetch: typeof fetch; calls: Array<{ url: string; auth: string | null }> } {
  const calls: Array<{ url: string; auth: string | null }> = [];
  const impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, auth: new Headers(init?.headers).get("authorization") });
    return answer(url);
  }) as typeof fetch;
  return { fetch: impl, calls };
}

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/fhir+json" } });
const role = (code: string, active = true): unknown => ({
  resourceType: "PractitionerRole",
  active,
  code: [{ coding: [{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role", code }] }],
});
const bundle = (...resources: unknown[]): unknown => ({ resourceType: "Bundle", type: "searchset", entry: resources.map((resource) => ({ resource })) });

describe("role from the fhirUser's PractitionerRole", () => {
  it("searches PractitionerRole by the practitioner with the user's token and maps its code", async () => {
    const stub = stubFetch(() => json(bundle(role("clinic-lead"))));
    expect(await lookupRole({ serverUrl: `${BASE}/`, accessToken: "tok", fhirUser: "Practitioner/dr-1", fetch: stub.fetch })).toEqual({ ok: true, role: "clinic-lead" });
    expect(stub.calls).toEqual([{ url: `${BASE}/PractitionerRole?practitioner=Practitioner%2Fdr-1&_count=100`, auth: "Bearer tok" }]);
  });

  it("reads the PractitionerRole itself when fhirUser names one", async () => {
    const stub = stubFetch(() => json(role("quality")));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "tok", fhirUser: "PractitionerRole/r1", fetch: stub.fetch })).toEqual({ ok: true, role: "quality" });
    expect(stub.calls[0]?.url).toBe(`${BASE}/PractitionerRole/r1`);
  });

  it("skips inactive roles and other resources, and answers null when no role names an app role", async () => {
    const stub = stubFetch(() => json(bundle({ resourceType: "OperationOutcome" }, role("clinic-lead", false), role("dermatologist"))));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: stub.fetch })).toEqual({ ok: true, role: "dermatologist" });
    const none = stubFetch(() => json(bundle({ resourceType: "PractitionerRole", code: [{ text: "Nurse" }] })));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: none.fetch })).toEqual({ ok: true, role: null });
    const empty = stubFetch(() => json({ resourceType: "Bundle", type: "searchset" }));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: empty.fetch })).toEqual({ ok: true, role: null });
  });

  it("reports a 403 or 401 as refused, with the status, never as a role", async () => {
    for (const status of [403, 401]) {
      const stub = stubFetch(() => json({ resourceType: "OperationOutcome" }, status));
      expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: stub.fetch })).toEqual({ ok: false, problem: "refused", status });
    }
  });

  it("reports other errors, bodies that are not FHIR and no answer at all", async () => {
    const s500 = stubFetch(() => json({}, 500));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: s500.fetch })).toEqual({ ok: false, problem: "failed", status: 500 });
    const html = stubFetch(() => new Response("<html>", { status: 200 }));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: html.fetch })).toEqual({ ok: false, problem: "failed", status: 200 });
    const patient = stubFetch(() => json({ resourceType: "Patient" }));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "PractitionerRole/r", fetch: patient.fetch })).toEqual({ ok: false, problem: "failed", status: 200 });
    const down = stubFetch(() => {
      throw new TypeError("fetch failed");
    });
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/x", fetch: down.fetch })).toEqual({ ok: false, problem: "unreachable" });
  });

  it("does not ask the server when fhirUser is missing, malformed or not a practitioner", async () => {
    const stub = stubFetch(() => json(bundle(role("dermatologist"))));
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: null, fetch: stub.fetch })).toEqual({ ok: false, problem: "no-fhir-user" });
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Practitioner/../../Patient", fetch: stub.fetch })).toEqual({ ok: false, problem: "no-fhir-user" });
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "Patient/p1", fetch: stub.fetch })).toEqual({ ok: false, problem: "not-a-practitioner" });
    expect(await lookupRole({ serverUrl: BASE, accessToken: "t", fhirUser: "RelatedPerson/r1", fetch: stub.fetch })).toEqual({ ok: false, problem: "not-a-practitioner" });
    expect(stub.calls).toEqual([]);
  });
});

describe("the launch's role: app assignment, else the EHR's through the mapping, else deny", () => {
  const SITE = "urn:site:roles";
  const siteRole = (code: string): unknown => ({ resourceType: "PractitionerRole", active: true, code: [{ coding: [{ system: SITE, code }], text: code }] });
  const base = { serverUrl: `${BASE}/`, accessToken: "tok", fhirUser: "Practitioner/dr-1", patientId: null };

  it("takes an app-side assignment over the EHR, keyed by the issuer without its slash, and does not ask the EHR", async () => {
    const stub = stubFetch(() => json(bundle(role("dermatologist"))));
    const asked: Array<[string, string]> = [];
    const decision = await decideLaunchRole({
      ...base,
      patientId: "p1",
      fetch: stub.fetch,
      assignedRole: async (issuer, practitioner) => {
        asked.push([issuer, practitioner]);
        return "quality";
      },
    });
    expect(decision).toEqual({ ok: true, role: "quality", source: "app-assignment" });
    expect(asked).toEqual([[BASE, "Practitioner/dr-1"]]);
    expect(stub.calls).toEqual([]);
  });

  it("applies an assignment even when the EHR would refuse the PractitionerRole read", async () => {
    const stub = stubFetch(() => json({ resourceType: "OperationOutcome" }, 403));
    expect(await decideLaunchRole({ ...base, fetch: stub.fetch, assignedRole: async () => "admin" })).toEqual({ ok: true, role: "admin", source: "app-assignment" });
  });

  it("falls back to the EHR's PractitionerRole when nothing is assigned", async () => {
    const stub = stubFetch(() => json(bundle(role("clinic-lead"))));
    expect(await decideLaunchRole({ ...base, fetch: stub.fetch, assignedRole: async () => null })).toEqual({ ok: true, role: "clinic-lead", source: "practitioner-role" });
    expect(stub.calls).toHaveLength(1);
  });

  it("maps a site's own codes through ROLE_MAPPING, and an exact mapping on any role beats words on an earlier one", async () => {
    const mapping = () => parseRoleMapping(JSON.stringify({ [`${SITE}|LEAD-7`]: "clinic-lead", AUDIT: "quality" }));
    const lead = stubFetch(() => json(bundle(siteRole("LEAD-7"))));
    expect(await decideLaunchRole({ ...base, fetch: lead.fetch, mapping })).toEqual({ ok: true, role: "clinic-lead", source: "practitioner-role" });
    const words = stubFetch(() => json(bundle({ resourceType: "PractitionerRole", code: [{ text: "Dermatologist" }] }, siteRole("AUDIT"))));
    expect(await decideLaunchRole({ ...base, fetch: words.fetch, mapping })).toEqual({ ok: true, role: "quality", source: "practitioner-role" });
    // Without the mapping the site code means nothing, and the words decide.
    expect(await decideLaunchRole({ ...base, fetch: words.fetch })).toEqual({ ok: true, role: "dermatologist", source: "practitioner-role" });
    const unmapped = stubFetch(() => json(bundle(siteRole("LEAD-7"))));
    expect(await decideLaunchRole({ ...base, fetch: unmapped.fetch })).toEqual({ ok: true, role: null, source: "none" });
  });

  it("gives the patient view's default only when the EHR answered with no app role and a patient is in context", async () => {
    const none = stubFetch(() => json(bundle(siteRole("NURSE"))));
    expect(await decideLaunchRole({ ...base, patientId: "p1", fetch: none.fetch })).toEqual({ ok: true, role: "dermatologist", source: "default-patient-context" });
    expect(await decideLaunchRole({ ...base, patientId: null, fetch: none.fetch })).toEqual({ ok: true, role: null, source: "none" });
  });

  it("denies rather than guesses: a refused or failed lookup, a malformed mapping, unreadable assignments", async () => {
    const refused = stubFetch(() => json({}, 403));
    expect(await decideLaunchRole({ ...base, patientId: "p1", fetch: refused.fetch, assignedRole: async () => null })).toEqual({ ok: false, problem: "refused", status: 403 });
    const fine = stubFetch(() => json(bundle(role("dermatologist"))));
    const badMapping = () => parseRoleMapping('{"MD": "doctor"}');
    expect(await decideLaunchRole({ ...base, patientId: "p1", fetch: fine.fetch, mapping: badMapping })).toEqual({ ok: false, problem: "role-mapping-invalid" });
    const dbDown = async (): Promise<never> => {
      throw new Error("connection refused");
    };
    expect(await decideLaunchRole({ ...base, patientId: "p1", fetch: fine.fetch, assignedRole: dbDown })).toEqual({ ok: false, problem: "role-assignments-unavailable" });
    expect(fine.calls).toEqual([]);
  });

  it("does not look up assignments for a fhirUser that is not a Practitioner", async () => {
    const stub = stubFetch(() => json(role("quality")));
    let asked = 0;
    const assignedRole = async () => {
      asked++;
      return "admin" as const;
    };
    expect(await decideLaunchRole({ ...base, fhirUser: "PractitionerRole/r1", fetch: stub.fetch, assignedRole })).toEqual({ ok: true, role: "quality", source: "practitioner-role" });
    expect(await decideLaunchRole({ ...base, fhirUser: "Patient/p1", fetch: stub.fetch, assignedRole })).toEqual({ ok: false, problem: "not-a-practitioner" });
    expect(await decideLaunchRole({ ...base, fhirUser: null, fetch: stub.fetch, assignedRole })).toEqual({ ok: false, problem: "no-fhir-user" });
    expect(asked).toBe(0);
  });
});
