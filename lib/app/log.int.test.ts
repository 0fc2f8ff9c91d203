/**
 * No patient data in the logs, proven on a realistic flow with the process logger's destination captured: a Bulk
 * Data sync of a synthetic cohort from the sandbox EHR (with the evaluation of every synced patient), EHR launches
 * and patient views for a few patients, and CDS Hooks patient-view calls for a few more, each wired with the logger
 * and the audit trail as the app wires them. The captured lines (and the audit rows) are then searched for every
 * cohort patient's names and identifiers, and hold none.
 */
// The sandbox first: it must load Medplum's definitions before anything imports Prisma's generated client.
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type RunningSandbox } from "../sandbox/index";
import { randomUUID } from "node:crypto";
import type { Patient } from "@medplum/fhirtypes";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { captureLogs, eventLogger } from "./log";

const APP = "http://127.0.0.1:3999";
const AS_OF = "2026-11-01";
const COHORT = { patients: 12, seed: 11, asOf: AS_OF };
const EHR_ISS = "https://ehr.sandbox.test";
const CLIENT_ADDRESS = "203.0.113.44";

let sandbox: RunningSandbox;
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  const keys = await createBackendClientKeys("ES384");
  sandbox = await startSandbox({ port: 0, cohort: COHORT, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }] });
  const { startTestDatabase } = await import("../db/testing");
  const { createPool } = await import("../db/pool");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
  privateJwk = keys.privateJwk;
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
  await sandbox?.stop();
});

let privateJwk: Awaited<ReturnType<typeof createBackendClientKeys>>["privateJwk"];

/** Every name part, full name, identifier value and id of the cohort's patients (what must never be logged). */
function cohortPhi(): { patients: Patient[]; needles: string[] } {
  const patients = [...sandbox.repository.iterateType("Patient")] as Patient[];
  const needles = new Set<string>();
  for (const patient of patients) {
    needles.add(patient.id!);
    for (const identifier of patient.identifier ?? []) if (identifier.value) needles.add(identifier.value);
    for (const name of patient.name ?? []) {
      for (const part of [...(name.given ?? []), name.family ?? "", name.text ?? ""]) if (part.trim().length >= 2) needles.add(part.trim());
      const full = [...(name.given ?? []), name.family ?? ""].filter(Boolean).join(" ");
      if (full) needles.add(full);
    }
  }
  return { patients, needles: [...needles] };
}

/** Needles found in the text, matched as whole words (a family name inside another word is not a leak). */
function leaks(text: string, needles: readonly string[]): string[] {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return needles.filter((needle) => new RegExp(`(^|[^A-Za-z0-9])${escape(needle)}($|[^A-Za-z0-9])`).test(text));
}

describe("the logs of a sync, patient views and CDS calls", () => {
  it("name no cohort patient and give no patient's identifier, while recording the flow", async () => {
    const { patients, needles } = cohortPhi();
    expect(patients.length).toBeGreaterThanOrEqual(COHORT.patients);
    expect(needles.length).toBeGreaterThan(COHORT.patients * 3);

    const { createSyncRun, runSync } = await import("../sync/run-sync");
    const { sandboxSourceConfig } = await import("../sync/sources");
    const { auditTo } = await import("../audit/audit");
    const { smartConfig } = await import("../smart/config");
    const { auditSink } = await import("../smart/audit");
    const { deriveKey } = await import("../smart/crypto");
    const { cookieHeaderFrom } = await import("../smart/cookies");
    const { handleCallback, handleLaunch } = await import("../smart/launch");
    const { SessionStore } = await import("../smart/session-store");
    const { handlePatientViewRequest } = await import("../fhir/patient-api");
    const { handleCdsHookRequest } = await import("../cds/service");
    const { patientViewCards } = await import("../cds/cards");
    const { orderSignCards } = await import("../cds/order-sign");
    const { fhirAuthorizationFor, sandboxSystemToken, signCdsClientJwt, signingKey } = await import("../cds/service.test-helper");

    const store = new SessionStore(db.prisma, deriveKey("integration-test-secret-0123456789abcdef"));
    const launchDeps = { store, config: smartConfig({}), log: eventLogger("smart"), audit: auditSink(db.prisma) };
    const ehrKey = await signingKey();
    const viewed = patients.slice(0, 3).map((p) => p.id!);
    const cdsPatients = patients.slice(3, 6).map((p) => p.id!);

    const capture = captureLogs("trace");
    try {
      // 1. A Bulk Data sync of the whole cohort, evaluated (the worker's wiring: structured sync events).
      const source = sandboxSourceConfig({ id: "main", fhirBase: sandbox.fhirBase, clientId: BULK_CLIENT_ID, privateJwk });
      const runId = await createSyncRun(pool, { sourceId: "main", kind: "full", trigger: "manual" });
      const summary = await runSync(runId, { pool, sources: [source], log: eventLogger("sync"), asOf: () => AS_OF, retryBaseMs: 20 });
      expect(summary.error ?? summary.status).toBe("succeeded");
      expect(Number(summary.counts.evaluated)).toBeGreaterThan(COHORT.patients / 2);

      // 2. EHR launches and the patient view for a few patients (the route's wiring: logger and audit).
      for (const patientId of viewed) {
        const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch("pr-derm-1", patientId) });
        const start = await handleLaunch(new Request(`${APP}/launch?${params}`, { headers: { "x-forwarded-for": CLIENT_ADDRESS } }), launchDeps);
        const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
        const done = await handleCallback(new Request(authorize.headers.get("location")!, { headers: { cookie: cookieHeaderFrom(start), "x-forwarded-for": CLIENT_ADDRESS } }), launchDeps);
        expect(done.status).toBe(302);
        const view = await handlePatientViewRequest(new Request(`${APP}/api/patients/${patientId}`, { headers: { cookie: cookieHeaderFrom(start, done), "x-forwarded-for": CLIENT_ADDRESS } }), patientId, {
          store,
          config: smartConfig({}),
          asOf: () => AS_OF,
          log: eventLogger("patient-view"),
          audit: auditTo(pool),
        });
        expect(view.status).toBe(200);
      }

      // 3. CDS Hooks patient-view calls that fetch from the EHR (no prefetch). The EHR's token comes from a client it
      // registers anew (replacing the sync's key), so it is asked for after the sync.
      const fhirToken = await sandboxSystemToken(sandbox);
      for (const patientId of cdsPatients) {
        const serviceUrl = `${APP}/cds-services/jak-monitor-patient-view`;
        const token = await signCdsClientJwt({ key: ehrKey, iss: EHR_ISS, aud: serviceUrl });
        const body = { hook: "patient-view", hookInstance: randomUUID(), context: { userId: "Practitioner/pr-derm-1", patientId }, ...fhirAuthorizationFor(sandbox, fhirToken) };
        const response = await handleCdsHookRequest(
          new Request(serviceUrl, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-forwarded-for": CLIENT_ADDRESS }, body: JSON.stringify(body) }),
          "jak-monitor-patient-view",
          {
            pool,
            clients: () => [{ iss: EHR_ISS, jwks: { keys: [ehrKey.publicJwk] }, fhirServerAllow: [sandbox.fhirBase] }],
            serviceBase: () => APP,
            asOf: () => AS_OF,
            appLaunchUrl: () => `${APP}/launch`,
            patientViewCards,
            orderSignCards,
            log: eventLogger("cds"),
          },
        );
        expect(response.status).toBe(200);
      }
    } finally {
      capture.restore();
    }

    // The flow was logged: JSON lines with the events of each part.
    const lines = capture.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const events = new Set(lines.map((line) => String(line.event ?? line.msg)));
    for (const event of ["sync.run", "sync.succeeded", "launch-complete", "patient-view", "cds-hook"]) expect(events).toContain(event);
    expect(lines.filter((line) => line.event === "patient-view")).toHaveLength(viewed.length);
    expect(lines.filter((line) => line.event === "cds-hook")).toHaveLength(cdsPatients.length);

    // ... and names no patient, by name, MRN or id.
    expect(leaks(capture.text(), needles)).toEqual([]);

    // The audit rows of the same flow carry who and from where, the patients only hashed.
    const { rows } = await pool.query<{ action: string; origin: string | null }>("select action, origin, actor, role, entity, outcome, detail from audit_events order by id");
    const actions = rows.map((r) => r.action);
    for (const action of ["sync.start", "sync.finish", "launch", "patient.view", "cds.patient-view"]) expect(actions).toContain(action);
    expect(rows.filter((r) => r.action === "patient.view").map((r) => r.origin)).toEqual(viewed.map(() => CLIENT_ADDRESS));
    expect(rows.filter((r) => r.action === "cds.patient-view").map((r) => r.origin)).toEqual(cdsPatients.map(() => CLIENT_ADDRESS));
    expect(leaks(JSON.stringify(rows), needles)).toEqual([]);
  });
});
