/**
 * The panel's route handlers against a real PostgreSQL with real session rows: only a clinic lead gets data
 * (no session 401, a dermatologist 403), bad parameters are a 400 naming each one, and a synced patient's
 * view is the engine's evaluation of the stored copy, read-only, with where and when it was synced.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TestDatabase } from "@/lib/db/testing";
import type { PanelErrorBody, PanelSummary, SyncedPatientViewResponse, WorklistPage, PanelCharts } from "@/lib/panel/types";

// Route handlers import server-only modules; under vitest there is no React server condition to satisfy it.
vi.mock("server-only", () => ({}));

const APP = "http://127.0.0.1:3999";
const FIXTURE = path.resolve(import.meta.dirname, "../../../lib/clinical/fixtures/upadacitinib-easi75-week16-responded.json");
const bundle = JSON.parse(readFileSync(FIXTURE, "utf8")) as Bundle;
const AS_OF = bundle.timestamp!.slice(0, 10);
const resources = (bundle.entry ?? []).map((e) => e.resource as Resource);
const patientId = resources.find((r) => r.resourceType === "Patient")!.id!;

let db: TestDatabase;
const cookies: Record<"lead" | "dermatologist" | "expired", string> = { lead: "", dermatologist: "", expired: "" };

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;
let routes: { summary: Handler; worklist: Handler; charts: Handler; patient: Handler };

beforeAll(async () => {
  const { startTestDatabase } = await import("@/lib/db/testing");
  db = await startTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.SESSION_SECRET = "panel-api-integration-test-secret-0123456789";
  process.env.CLINIC_AS_OF = AS_OF;
  const { SessionStore } = await import("@/lib/smart/session-store");
  const { sessionKey } = await import("@/lib/smart/crypto");
  const store = new SessionStore(db.prisma, sessionKey());
  for (const [who, role] of [["lead", "clinic-lead"], ["dermatologist", "dermatologist"], ["expired", "clinic-lead"]] as const) {
    const session = await store.create(3600);
    await store.setContext(session.id, { role, practitionerId: `Practitioner/${who}`, ...(who === "expired" ? { expiresAt: new Date(Date.now() - 1000) } : {}) });
    cookies[who] = `ejm_session=${session.id}`;
  }

  const { pgPool } = await import("@/lib/db/pool");
  const pool = pgPool();
  await pool.query(`INSERT INTO sources (id, name, fhir_base, client_id, last_success_at, updated_at) VALUES ('ehr-a', 'Sandbox EHR', 'http://ehr.example/fhir', 'app', '2026-11-01T02:00:00Z', now())`);
  for (const r of resources) {
    const owner = r.resourceType === "Patient" ? r.id! : patientId;
    await pool.query(`INSERT INTO fhir_resources (source, patient_id, resource_type, id, content_hash, resource) VALUES ('ehr-a', $1, $2, $3, 'test', $4)`, [owner, r.resourceType, r.id, JSON.stringify(r)]);
  }
  const { insertTestPatient } = await import("@/lib/panel/rows.test-helper");
  await insertTestPatient(pool, { source: "ehr-a", id: patientId, name: "Pat Synced", drug: "upadacitinib", route: "oral", courseStart: "2026-01-01", latestVerdict: "responded", latestCheckpointWeek: 16 });

  routes = {
    summary: (await import("./summary/route")).GET as Handler,
    worklist: (await import("./worklist/route")).GET as Handler,
    charts: (await import("./charts/route")).GET as Handler,
    patient: (await import("./patients/[source]/[id]/route")).GET as Handler,
  };
});

afterAll(async () => {
  const { pgPool } = await import("@/lib/db/pool");
  const { prisma } = await import("@/lib/db/client");
  await pgPool().end();
  await prisma().$disconnect();
  await db?.stop();
});

function call(route: keyof typeof routes, query: string, cookie: string | null, params: Record<string, string> = {}): Promise<Response> {
  const url = route === "patient" ? `${APP}/api/panel/patients/${params.source}/${params.id}` : `${APP}/api/panel/${route}${query}`;
  return routes[route](new Request(url, { headers: cookie ? { cookie } : {} }), { params: Promise.resolve(params) });
}

const ALL: Array<[keyof typeof routes, string, Record<string, string>]> = [
  ["summary", "", {}],
  ["worklist", "?preset=not-responded", {}],
  ["charts", "", {}],
  ["patient", "", { source: "ehr-a", id: "p1" }],
];

describe("panel API access", () => {
  it("answers 401 without a session, with where to relaunch", async () => {
    for (const [route, query, params] of ALL) {
      const res = await call(route, query, null, params);
      expect(res.status, route).toBe(401);
      expect(await res.json()).toMatchObject({ error: "no-session", relaunch: "/relaunch?reason=no-session" });
    }
  });

  it("answers 401 when the session has expired", async () => {
    const res = await call("summary", "", cookies.expired);
    expect(res.status).toBe(401);
    expect(((await res.json()) as PanelErrorBody).error).toBe("session-expired");
  });

  it("refuses a dermatologist with 403 on every panel endpoint", async () => {
    for (const [route, query, params] of ALL) {
      const res = await call(route, query, cookies.dermatologist, params);
      expect(res.status, route).toBe(403);
      expect(await res.json()).toMatchObject({ error: "forbidden", message: "This needs the clinic-lead role." });
    }
  });

  it("gives a clinic lead the summary, the worklist and the charts, never cached", async () => {
    const summary = await call("summary", "?source=ehr-a", cookies.lead);
    expect(summary.status).toBe(200);
    expect(summary.headers.get("cache-control")).toBe("no-store");
    const s = (await summary.json()) as PanelSummary;
    expect(s).toMatchObject({ today: AS_OF, source: "ehr-a", onJak: { count: 1 } });
    const worklist = await call("worklist", "?drug=upadacitinib&sort=name", cookies.lead);
    expect(worklist.status).toBe(200);
    const w = (await worklist.json()) as WorklistPage;
    expect(w.rows.map((r) => r.href)).toEqual([`/panel/patients/ehr-a/${patientId}`]);
    expect(w.query).toBe("drug=upadacitinib&sort=name");
    const charts = await call("charts", "", cookies.lead);
    expect(charts.status).toBe(200);
    expect(((await charts.json()) as PanelCharts).labCompleteness.definition).toMatch(/done \/ \(done \+ missing \+ overdue\)/);
  });

  it("answers 400 naming each bad parameter and why", async () => {
    const res = await call("worklist", "?drug=aspirin&page=0", cookies.lead);
    expect(res.status).toBe(400);
    const body = (await res.json()) as PanelErrorBody;
    expect(body.error).toBe("bad-request");
    expect(body.problems?.map((p) => p.param)).toEqual(["drug", "page"]);
    expect(body.message).toContain('drug "aspirin" must be one of');
    expect((await call("summary", "?source=..%2F", cookies.lead)).status).toBe(400);
    expect((await call("patient", "", cookies.lead, { source: "ehr-a", id: "p1;drop" })).status).toBe(400);
  });
});

describe("synced patient view", () => {
  it("evaluates the stored copy with the engine the EHR launch uses, read-only, saying where and when it was synced", async () => {
    const res = await call("patient", "", cookies.lead, { source: "ehr-a", id: patientId });
    expect(res.status).toBe(200);
    const view = (await res.json()) as SyncedPatientViewResponse;
    const { evaluatePatient } = await import("@/lib/clinical");
    const direct = evaluatePatient(resources, { asOf: AS_OF, patientId, details: true });
    expect(view.evaluation).toEqual(JSON.parse(JSON.stringify(direct)));
    expect(view.evaluation.courses[0]!.checkpoints.find((c) => c.week === 16)?.verdict).toBe("responded");
    expect(view.evaluation.trends?.easi?.points.length).toBeGreaterThan(0);
    expect(view.asOf).toBe(AS_OF);
    expect(view.patient).toMatchObject({ id: patientId, birthDate: expect.any(String) });
    expect(view.access).toEqual({ scope: "", canWriteObservations: false, fhirServer: "http://ehr.example/fhir" });
    expect(view.synced).toEqual({ source: "ehr-a", sourceName: "Sandbox EHR", syncedAt: "2026-11-01T02:00:00.000Z" });
    expect(view.fetch).toMatchObject({ partial: false, failures: [], requests: 0 });
    expect(view.fetch.resourceCounts.Observation).toBeGreaterThan(0);
  });

  it("answers 404 for a patient the source has no data for", async () => {
    const res = await call("patient", "", cookies.lead, { source: "ehr-a", id: "nobody" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as PanelErrorBody).error).toBe("not-found");
    expect((await call("patient", "", cookies.lead, { source: "ehr-b", id: patientId })).status).toBe(404);
  });
});
