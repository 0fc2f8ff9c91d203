/**
 * The events this issue added to the audit trail, against the sandbox EHR and a real PostgreSQL: a patient view
 * (allowed, another patient than the launch's, no session) and a sync run's start and finish (succeeded, and failed
 * on a source that is not configured). Each row says who, role, what, when, from where and the outcome; patients
 * appear only hashed.
 */
// The sandbox first: it must load Medplum's definitions before anything imports Prisma's generated client.
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type RunningSandbox } from "../sandbox/index";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashId } from "../app/log";
import type { TestDatabase } from "../db/testing";
import type { AuditRow } from "./audit";

const APP = "http://127.0.0.1:3999";
const AS_OF = "2026-11-01";
const ADDRESS = "198.51.100.23";

let sandbox: RunningSandbox;
let db: TestDatabase;
let pool: pg.Pool;
let keys: Awaited<ReturnType<typeof createBackendClientKeys>>;

beforeAll(async () => {
  keys = await createBackendClientKeys("ES384");
  sandbox = await startSandbox({ port: 0, cohort: { patients: 6, seed: 5, asOf: AS_OF }, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }] });
  const { startTestDatabase } = await import("../db/testing");
  const { createPool } = await import("../db/pool");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
  await sandbox?.stop();
});

async function rowsOf(action: string): Promise<AuditRow[]> {
  const { readAudit } = await import("./audit");
  return (await readAudit(pool, { action, pageSize: 200 })).rows.reverse();
}

describe("patient views", () => {
  it("are audited allowed, refused for another patient and refused without a session, the patient hashed and the address kept", async () => {
    const { auditTo } = await import("./audit");
    const { smartConfig } = await import("../smart/config");
    const { deriveKey } = await import("../smart/crypto");
    const { cookieHeaderFrom } = await import("../smart/cookies");
    const { handleCallback, handleLaunch } = await import("../smart/launch");
    const { SessionStore } = await import("../smart/session-store");
    const { handlePatientViewRequest } = await import("../fhir/patient-api");
    const store = new SessionStore(db.prisma, deriveKey("integration-test-secret-0123456789abcdef"));
    const launchDeps = { store, config: smartConfig({}) };
    const [launched, other] = ["pt-000001", "pt-000002"];

    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch("pr-derm-1", launched) });
    const start = await handleLaunch(new Request(`${APP}/launch?${params}`), launchDeps);
    const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const done = await handleCallback(new Request(authorize.headers.get("location")!, { headers: { cookie: cookieHeaderFrom(start) } }), launchDeps);
    const cookie = cookieHeaderFrom(start, done);
    const deps = { store, config: smartConfig({}), asOf: () => AS_OF, audit: auditTo(pool) };
    const view = (id: string, headers: Record<string, string>) => handlePatientViewRequest(new Request(`${APP}/api/patients/${id}`, { headers: { ...headers, "x-forwarded-for": ADDRESS } }), id, deps);

    expect((await view(launched, { cookie })).status).toBe(200);
    expect((await view(other, { cookie })).status).toBe(403);
    expect((await view(launched, {})).status).toBe(401);
    expect((await view("bad id!", { cookie })).status).toBe(400);

    const rows = await rowsOf("patient.view");
    expect(rows.map((r) => [r.actor, r.role, r.entity, r.outcome, r.detail, r.origin])).toEqual([
      ["Practitioner/pr-derm-1", "dermatologist", `patient:${hashId(launched)}`, "success", { status: 200 }, ADDRESS],
      ["Practitioner/pr-derm-1", "dermatologist", `patient:${hashId(other)}`, "refused", { status: 403, reason: "patient-not-in-context" }, ADDRESS],
      ["unknown", null, `patient:${hashId(launched)}`, "refused", { status: 401, reason: "no-session" }, ADDRESS],
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/pt-00000[12]/);
  });
});

describe("sync runs", () => {
  it("are audited when they start and when they end, outside the run's transactions, with counts or the error's kind", async () => {
    const { createSyncRun, runSync } = await import("../sync/run-sync");
    const { sandboxSourceConfig } = await import("../sync/sources");
    const sources = [sandboxSourceConfig({ id: "main", fhirBase: sandbox.fhirBase, clientId: BULK_CLIENT_ID, privateJwk: keys.privateJwk })];
    const ok = await createSyncRun(pool, { sourceId: "main", kind: "full", trigger: "manual", requestedBy: "Practitioner/lead1" });
    expect((await runSync(ok, { pool, sources, asOf: () => AS_OF, retryBaseMs: 20 })).status).toBe("succeeded");
    const missing = await createSyncRun(pool, { sourceId: "gone", trigger: "schedule" });
    expect((await runSync(missing, { pool, sources, asOf: () => AS_OF })).status).toBe("failed");

    const starts = await rowsOf("sync.start");
    expect(starts.map((r) => [r.actor, r.role, r.entity, r.outcome, r.origin])).toEqual([
      ["system:sync", "system", `sync-run:${ok}`, "success", null],
      ["system:sync", "system", `sync-run:${missing}`, "success", null],
    ]);
    expect(starts[0]!.detail).toEqual({ source: "main", runId: String(ok), kind: "full", trigger: "manual", requestedBy: "Practitioner/lead1", resumed: false });
    const finishes = await rowsOf("sync.finish");
    expect(finishes.map((r) => [r.entity, r.outcome, r.detail.status])).toEqual([
      [`sync-run:${ok}`, "success", "succeeded"],
      [`sync-run:${missing}`, "failure", "failed"],
    ]);
    expect(Number(finishes[0]!.detail.inserted)).toBeGreaterThan(0);
    expect(finishes[1]!.detail).toMatchObject({ source: "gone", error: "SyncFailure" });
  });
});
