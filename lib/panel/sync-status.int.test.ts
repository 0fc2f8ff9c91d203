import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../db/pool";
import { startTestDatabase, type TestDatabase } from "../db/testing";
import { handleSyncNowPost, handleSyncRunDelete, handleSyncStatusGet, NO_SOURCE_MESSAGE, type PanelHandlerDeps, type PanelQueue } from "./panel-handlers";
import { readSyncRun, readSyncStatus } from "./sync-status";
import type { SyncStatusResponse } from "./sync-types";

const APP = "http://127.0.0.1:3000";
const NOW = new Date("2026-11-01T10:00:00.000Z");

let db: TestDatabase;
let pool: pg.Pool;
const runs: Record<string, string> = {};

async function insertRun(name: string, values: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(values);
  const { rows } = await pool.query<{ id: string }>(
    `insert into sync_runs (${columns.join(", ")}) values (${columns.map((_, i) => `$${i + 1}`).join(", ")}) returning id::text as id`,
    Object.values(values),
  );
  runs[name] = rows[0]!.id;
}

function fakeQueue() {
  const calls: Array<[string, unknown]> = [];
  const queue: PanelQueue = {
    requestSync: async (input) => (calls.push(["sync", input]), { runId: runs.active!, alreadyQueued: true }),
    requestCancel: async (runId) => (calls.push(["cancel", runId]), true),
    requestEvaluation: async (input) => void calls.push(["evaluate", input]),
  };
  return { queue, calls };
}

function deps(queue: PanelQueue): PanelHandlerDeps {
  return { pool, queue, appOrigin: () => APP, authorize: async () => ({ practitionerId: "Practitioner/lead-1", role: "clinic-lead" }), now: () => NOW };
}

const post = (body: unknown) => new Request(`${APP}/api/panel/sync`, { method: "POST", headers: { "content-type": "application/json", origin: APP }, body: JSON.stringify(body) });

beforeAll(async () => {
  db = await startTestDatabase();
  pool = createPool(db.url, 3);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

describe("sync page before any source is configured", () => {
  it("shows no sources and refuses sync now with the configuration hint", async () => {
    const status = await readSyncStatus(pool, { now: NOW });
    expect(status).toMatchObject({ sources: [], runs: [], active: [] });
    const { queue, calls } = fakeQueue();
    const response = await handleSyncNowPost(post({}), deps(queue));
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: "no-source", message: NO_SOURCE_MESSAGE });
    expect(calls).toEqual([]);
  });
});

describe("sync runs and progress read back", () => {
  beforeAll(async () => {
    await pool.query(
      `insert into sources (id, name, fhir_base, client_id, group_id, export_level, last_success_at, last_transaction_time, updated_at)
       values ('sandbox', 'Sandbox EHR', 'http://127.0.0.1:4100/fhir', 'ejm-backend', 'jak-panel', 'group', '2026-11-01T08:05:00Z', '2026-11-01T08:00:00Z', now()),
              ('other', 'Other EHR', 'https://ehr.example/fhir', 'ejm', null, 'system', null, null, now())`,
    );
    await insertRun("succeeded", {
      source: "sandbox", kind: "full", trigger: "startup", status: "succeeded", requested_by: null,
      started_at: "2026-11-01T08:00:00Z", finished_at: "2026-11-01T08:01:30Z", transaction_time: "2026-11-01T08:00:00Z", progress: 1,
      counts: JSON.stringify({ filesTotal: 9, filesDone: 9, resources: { Patient: 60, Observation: 4000 }, inserted: 4060, updated: 0, unchanged: 0, deleted: 0, malformed: 1, patientsChanged: 60, evaluated: 60 }),
      timings: JSON.stringify({ kickoffMs: 40, exportMs: 2000, downloadMs: 30000, ingestMs: 50000, evaluateMs: 8000, totalMs: 90000 }),
    });
    await insertRun("failed", {
      source: "sandbox", kind: "incremental", trigger: "schedule", status: "failed", started_at: "2026-11-01T09:00:00Z", finished_at: "2026-11-01T09:00:05Z",
      error: "Token request refused (invalid_client)", error_hint: "Register the app's JWKS URL with the EHR for client ejm-backend.", counts: JSON.stringify({ inserted: "many" }),
    });
    await insertRun("active", {
      source: "sandbox", kind: "incremental", trigger: "manual", status: "downloading", requested_by: "Practitioner/lead-1",
      started_at: "2026-11-01T09:58:00Z", heartbeat_at: "2026-11-01T09:59:58Z", progress: 0.4, progress_text: "Observation-1.ndjson: 1,200 of 3,000 resources",
    });
    await insertRun("stalled", { source: "other", kind: "full", trigger: "manual", status: "exporting", started_at: "2026-11-01T09:00:00Z", heartbeat_at: "2026-11-01T09:30:00Z", progress: 0.1 });
    for (let line = 1; line <= 7; line++) {
      await pool.query(`insert into sync_issues (run_id, source, file, line, issue, detail, raw) values ($1, 'sandbox', 'Observation-2.ndjson', $2, 'malformed-json', 'Unexpected token', '{"secret')`, [runs.succeeded, line]);
    }
  });

  it("lists sources with their last success and transactionTime", async () => {
    const status = await readSyncStatus(pool, { now: NOW });
    expect(status.sources.map((s) => s.id)).toEqual(["other", "sandbox"]);
    expect(status.sources[1]).toMatchObject({
      name: "Sandbox EHR", fhirBase: "http://127.0.0.1:4100/fhir", exportLevel: "group", groupId: "jak-panel", enabled: true,
      lastSuccessAt: "2026-11-01T08:05:00.000Z", lastTransactionTime: "2026-11-01T08:00:00.000Z",
    });
  });

  it("returns the latest runs newest first with counts, timings, duration and the first issues", async () => {
    const status = await readSyncStatus(pool, { source: "sandbox", now: NOW, issuesPerRun: 5 });
    expect(status.runs.map((r) => r.id)).toEqual([runs.active, runs.failed, runs.succeeded]);
    const done = status.runs[2]!;
    expect(done).toMatchObject({ status: "succeeded", active: false, trigger: "startup", durationMs: 90_000, issueCount: 7, transactionTime: "2026-11-01T08:00:00.000Z" });
    expect(done.counts).toMatchObject({ resources: { Patient: 60, Observation: 4000 }, inserted: 4060, malformed: 1, patientsChanged: 60, evaluated: 60 });
    expect(done.timings).toMatchObject({ downloadMs: 30000, totalMs: 90000 });
    expect(done.issues).toHaveLength(5);
    expect(done.issues[0]).toEqual({ file: "Observation-2.ndjson", line: 1, issue: "malformed-json", detail: "Unexpected token" });
    expect(JSON.stringify(status)).not.toContain("secret");
  });

  it("shows a failed run's error and hint, and a count it could not read as unknown", async () => {
    const failed = (await readSyncStatus(pool, { now: NOW })).runs.find((r) => r.id === runs.failed)!;
    expect(failed).toMatchObject({ error: "Token request refused (invalid_client)", errorHint: "Register the app's JWKS URL with the EHR for client ejm-backend." });
    expect(failed.counts.inserted).toBeNull();
  });

  it("reports active runs with progress, and one that stopped reporting as stalled", async () => {
    const status = await readSyncStatus(pool, { now: NOW });
    expect(status.active.map((r) => r.id)).toEqual([runs.active, runs.stalled]);
    expect(status.active[0]).toMatchObject({ status: "downloading", progress: 0.4, progressText: "Observation-1.ndjson: 1,200 of 3,000 resources", durationMs: 120_000, stalledHint: null, requestedBy: "Practitioner/lead-1" });
    expect(status.active[1]?.stalledHint).toMatch(/No progress reported for 30 minutes/);
    const one = await readSyncRun(pool, runs.active!, { now: NOW });
    expect(one).toMatchObject({ id: runs.active, progress: 0.4, active: true });
    expect(await readSyncRun(pool, "999999")).toBeNull();
  });

  it("serves the status over the API, filtered by source", async () => {
    const { queue } = fakeQueue();
    const response = await handleSyncStatusGet(new Request(`${APP}/api/panel/sync?source=other`), deps(queue));
    expect(response.status).toBe(200);
    const body = (await response.json()) as SyncStatusResponse;
    expect(body.sources.map((s) => s.id)).toEqual(["other"]);
    expect(body.runs.map((r) => r.id)).toEqual([runs.stalled]);
  });

  it("queues a sync for the named source, says when one was already queued, and audits it without PHI", async () => {
    const { queue, calls } = fakeQueue();
    const chooseFirst = await handleSyncNowPost(post({}), deps(queue));
    expect(chooseFirst.status).toBe(400);
    const response = await handleSyncNowPost(post({ sourceId: "sandbox", full: true }), deps(queue));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ runId: runs.active, sourceId: "sandbox", full: true, alreadyQueued: true });
    expect(calls).toEqual([["sync", { sourceId: "sandbox", full: true, trigger: "manual", requestedBy: "Practitioner/lead-1" }]]);
    expect((await handleSyncNowPost(post({ sourceId: "nowhere" }), deps(queue))).status).toBe(404);
    const audit = await pool.query(`select actor, role, action, entity, outcome, detail from audit_events where action = 'sync-request' order by id`);
    expect(audit.rows).toEqual([
      { actor: "Practitioner/lead-1", role: "clinic-lead", action: "sync-request", entity: `sync-run:${runs.active}`, outcome: "success", detail: { source: "sandbox", full: true, runId: runs.active, alreadyQueued: true } },
    ]);
  });

  it("cancels an active run and refuses to cancel a finished one", async () => {
    const { queue, calls } = fakeQueue();
    const del = (id: string) => handleSyncRunDelete(new Request(`${APP}/api/panel/sync/${id}`, { method: "DELETE", headers: { origin: APP } }), id, deps(queue));
    const cancelled = await del(runs.active!);
    expect(cancelled.status).toBe(202);
    expect(await cancelled.json()).toEqual({ runId: runs.active, cancelRequested: true });
    expect((await del(runs.succeeded!)).status).toBe(409);
    expect((await del("999999")).status).toBe(404);
    expect(calls).toEqual([["cancel", runs.active]]);
    const audit = await pool.query<{ outcome: string }>(`select outcome from audit_events where action = 'sync-cancel' order by id`);
    expect(audit.rows.map((r) => r.outcome)).toEqual(["success", "refused"]);
  });
});
