import type { Observation } from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { smartConfig } from "../smart/config";
import type { LoadedSession, SessionStore, SmartStorageData } from "../smart/session-store";
import { handleRecordScoreRequest, type RecordScoreDeps } from "./record-score";
import type { RecordScoreErrorBody, RecordScoreResponse } from "./score-types";

const NOW = 1_800_000_000;
const SESSION_ID = "s".repeat(43);
const cookie = `ejm_session=${SESSION_ID}`;

function fakeStore(scope: string, patientId: string | null = "p1", refreshToken?: string): SessionStore {
  const data: SmartStorageData = {
    SMART_KEY: "k1",
    k1: { serverUrl: "http://ehr.test/fhir", tokenUri: "http://ehr.test/auth/token", expiresAt: NOW + 600, tokenResponse: { access_token: "tok", scope, ...(refreshToken ? { refresh_token: refreshToken } : {}) } },
  };
  const session: LoadedSession = { id: SESSION_ID, data, expiresAt: new Date(), expired: false, patientId, practitionerId: "Practitioner/d1", role: "dermatologist", issuer: "http://ehr.test/fhir" };
  const withRefreshLock = async <T>(_id: string, work: (current: LoadedSession | null) => Promise<{ result: T }>): Promise<T> => (await work(structuredClone(session))).result;
  return { load: async () => session, saveData: async () => undefined, withRefreshLock, delete: async () => undefined } as unknown as SessionStore;
}

interface Harness {
  deps: RecordScoreDeps;
  posted: Observation[];
  audits: { action: string; outcome: string; detail: Record<string, unknown>; actor: string }[];
  logs: string[];
}

function harness(scope = "launch patient/*.rs patient/Observation.c", fhir: () => Response = () => new Response(JSON.stringify({ resourceType: "Observation", id: "new-1" }), { status: 201 })): Harness {
  const posted: Observation[] = [];
  const audits: Harness["audits"] = [];
  const logs: string[] = [];
  const fhirFetch: typeof fetch = async (_url, init) => {
    posted.push(JSON.parse(String(init?.body)) as Observation);
    return fhir();
  };
  return {
    posted,
    audits,
    logs,
    deps: {
      store: fakeStore(scope),
      config: smartConfig({}),
      nowSeconds: () => NOW,
      fetch: async () => new Response("{}", { status: 400 }),
      today: () => "2026-11-01",
      now: () => new Date("2026-11-01T09:00:00Z"),
      audit: async (entry) => void audits.push(entry),
      log: (event, fields) => void logs.push(`${event} ${JSON.stringify(fields)}`),
      requesterOptions: { fetch: fhirFetch, sleep: async () => undefined },
    },
  };
}

/** A POST from the app's own page (the browser sends Origin), unless `origin` says otherwise (null: none). */
function post(h: Harness, body: unknown, opts: { id?: string; cookie?: string | null; contentType?: string; origin?: string | null; fetchSite?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": opts.contentType ?? "application/json" };
  if (opts.origin !== null) headers.origin = opts.origin ?? "http://app.test";
  if (opts.fetchSite) headers["sec-fetch-site"] = opts.fetchSite;
  if (opts.cookie !== null) headers.cookie = opts.cookie ?? cookie;
  const id = opts.id ?? "p1";
  return handleRecordScoreRequest(new Request(`http://app.test/api/patients/${id}/observations`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }), id, h.deps);
}

const itch = { measure: "itch-nrs", value: 6, effectiveDateTime: "2026-11-01" };

describe("handleRecordScoreRequest", () => {
  it("creates the Observation for the launch patient with the performer and issued, answers 201, audits without PHI", async () => {
    const h = harness();
    const res = await post(h, itch);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect((await res.json()) as RecordScoreResponse).toEqual({ id: "new-1", measure: "itch-nrs", value: 6, effectiveDateTime: "2026-11-01" });
    expect(h.posted).toHaveLength(1);
    expect(h.posted[0]).toMatchObject({ subject: { reference: "Patient/p1" }, performer: [{ reference: "Practitioner/d1" }], issued: "2026-11-01T09:00:00.000Z", valueQuantity: { value: 6 } });
    expect(h.audits).toEqual([{ actor: "Practitioner/d1", role: "dermatologist", action: "record-score", outcome: "success", detail: { measure: "itch-nrs", issuer: "http://ehr.test" } }]);
    expect(h.logs.join(" ")).not.toMatch(/p1|"value"/);
  });

  it("refuses a cross-site POST (another Origin, or no Origin and a cross-site Sec-Fetch-Site) with 403 before reading the session", async () => {
    for (const opts of [{ origin: "https://evil.example" }, { origin: null, fetchSite: "cross-site" }, { origin: null, fetchSite: "same-site" }, { origin: null }]) {
      const h = harness();
      const res = await post(h, itch, opts);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: "cross-site" });
      expect(h.posted).toHaveLength(0);
      expect(h.audits).toHaveLength(0);
    }
    // Without Origin, a same-origin Sec-Fetch-Site is the app's own page.
    const h = harness();
    expect((await post(h, itch, { origin: null, fetchSite: "same-origin" })).status).toBe(201);
  });

  it("answers 401 without a session cookie, and 400 for a malformed id", async () => {
    expect((await post(harness(), itch, { cookie: null })).status).toBe(401);
    expect((await post(harness(), itch, { id: "a/b" })).status).toBe(400);
  });

  it("answers 403 patient-not-in-context for another patient and posts nothing", async () => {
    const h = harness();
    const res = await post(h, itch, { id: "p2" });
    expect(res.status).toBe(403);
    expect(((await res.json()) as RecordScoreErrorBody).error).toBe("patient-not-in-context");
    expect(h.posted).toEqual([]);
    expect(h.audits[0]).toMatchObject({ outcome: "refused", detail: { reason: "patient-not-in-context" } });
  });

  it.each(["launch patient/*.rs", "launch patient/Observation.rs patient/Observation.r", "user/Patient.cruds"])("answers 403 no-write-scope with scope %s", async (scope) => {
    const h = harness(scope);
    const res = await post(h, itch);
    expect(res.status).toBe(403);
    expect(((await res.json()) as RecordScoreErrorBody).error).toBe("no-write-scope");
    expect(h.posted).toEqual([]);
  });

  it("refuses non-JSON content types (415), bodies that are not JSON (400), out-of-range and future scores (400)", async () => {
    const h = harness();
    expect((await post(h, itch, { contentType: "text/plain" })).status).toBe(415);
    expect((await post(h, "{not json")).status).toBe(400);
    const out = await post(h, { ...itch, value: 10.5 });
    expect(out.status).toBe(400);
    expect(((await out.json()) as RecordScoreErrorBody).issues?.[0]?.path).toBe("value");
    const extra = await post(h, { ...itch, patientId: "p2" });
    expect(extra.status).toBe(400);
    const future = await post(h, { ...itch, effectiveDateTime: "2026-11-02T00:30:00+01:00" });
    expect(future.status).toBe(400);
    expect(h.posted).toEqual([]);
  });

  it("maps the EHR's 403 to no-write-scope and other failures to 502 without repeating the create", async () => {
    const forbidden = harness(undefined, () => new Response(JSON.stringify({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "forbidden" }] }), { status: 403 }));
    const res403 = await post(forbidden, itch);
    expect(res403.status).toBe(403);
    expect(((await res403.json()) as RecordScoreErrorBody).error).toBe("no-write-scope");
    const failing = harness(undefined, () => new Response("", { status: 503 }));
    const res502 = await post(failing, itch);
    expect(res502.status).toBe(502);
    expect(((await res502.json()) as RecordScoreErrorBody).error).toBe("fhir-write-failed");
    expect(failing.posted).toHaveLength(1);
    expect(failing.audits[0]).toMatchObject({ outcome: "failure", detail: { measure: "itch-nrs", fhirStatus: 503 } });
  });

  it("answers 401 session-expired when the EHR rejects the token and it cannot be refreshed", async () => {
    const h = harness(undefined, () => new Response("", { status: 401 }));
    const res = await post(h, itch);
    expect(res.status).toBe(401);
    expect(((await res.json()) as RecordScoreErrorBody).relaunch).toBe("/relaunch?reason=session-expired");
    expect(h.posted).toHaveLength(1);
  });

  it("refreshes once after a 401 and creates with the new token", async () => {
    const h = harness();
    let call = 0;
    const tokens: string[] = [];
    h.deps.store = fakeStore("launch patient/*.rs patient/Observation.c", "p1", "r1");
    h.deps.fetch = async () => new Response(JSON.stringify({ access_token: "fresh", expires_in: 3600 }), { headers: { "content-type": "application/json" } });
    h.deps.requesterOptions = {
      fetch: async (_url, init) => {
        tokens.push(new Headers(init?.headers).get("authorization") ?? "");
        return call++ === 0 ? new Response("", { status: 401 }) : new Response(JSON.stringify({ resourceType: "Observation", id: "after-refresh" }), { status: 201 });
      },
    };
    const res = await post(h, itch);
    expect(res.status).toBe(201);
    expect(((await res.json()) as RecordScoreResponse).id).toBe("after-refresh");
    expect(tokens).toEqual(["Bearer tok", "Bearer fresh"]);
  });
});
