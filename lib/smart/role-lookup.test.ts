import { describe, expect, it } from "vitest";
import { lookupRole } from "./role-lookup";

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
