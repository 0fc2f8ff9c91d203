import type pg from "pg";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../app/log";
import type { CodeCoverage } from "./code-coverage";
import {
  handleCodeCoverageGet,
  handleCodeCoverageRefreshPost,
  handleCodeMappingDelete,
  handleCodeMappingPost,
  handleCodeMappingsGet,
  handleSyncNowPost,
  handleSyncRunDelete,
  handleSyncRunGet,
  type CodeHandlerDeps,
  type CodeJobs,
} from "./panel-handlers";

const APP = "http://127.0.0.1:3000";

/** Dependencies whose database and queue fail the test if a refused request reaches them. */
function refusingDeps(options: { authorize?: CodeHandlerDeps["authorize"] } = {}) {
  const calls: string[] = [];
  const unreachable = (what: string) => () => {
    calls.push(what);
    throw new Error(`${what} must not be reached`);
  };
  const deps: CodeHandlerDeps = {
    pool: { query: unreachable("database") } as unknown as pg.Pool,
    authorize: options.authorize ?? (async () => ({ practitionerId: "Practitioner/lead-1", role: "clinic-lead" })),
    appOrigin: () => APP,
    queue: { requestSync: unreachable("requestSync"), requestCancel: unreachable("requestCancel"), requestEvaluation: unreachable("requestEvaluation") },
    codeJobs: {
      requestCodeCoverage: unreachable("requestCodeCoverage"),
      codeCoverageJob: unreachable("codeCoverageJob"),
      requestCodeReevaluation: unreachable("requestCodeReevaluation"),
      codeReevaluationJob: unreachable("codeReevaluationJob"),
    },
  };
  return { deps, calls };
}

function request(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`${APP}${path}`, { method, headers: { "content-type": "application/json", origin: APP, ...headers }, body: body === undefined ? null : JSON.stringify(body) });
}

describe("panel API refusals happen before any database or queue work", () => {
  it("refuses a cross-site sync request with 403 without asking for the session", async () => {
    let asked = false;
    const { deps, calls } = refusingDeps({ authorize: async () => ((asked = true), { practitionerId: "p", role: "clinic-lead" }) });
    const response = await handleSyncNowPost(request("POST", "/api/panel/sync", {}, { origin: "https://evil.example" }), deps);
    expect(response.status).toBe(403);
    expect(asked).toBe(false);
    expect(calls).toEqual([]);
  });

  it("returns the session check's response for a user without the clinic-lead role", async () => {
    const forbidden = new Response(JSON.stringify({ error: "forbidden" }), { status: 403 });
    const { deps, calls } = refusingDeps({ authorize: async () => forbidden });
    expect((await handleSyncNowPost(request("POST", "/api/panel/sync", {}), deps)).status).toBe(403);
    expect((await handleSyncRunGet(request("GET", "/api/panel/sync/1", undefined), "1", deps)).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("answers 400 for an invalid sync body and an invalid run id", async () => {
    const { deps, calls } = refusingDeps();
    const bad = await handleSyncNowPost(request("POST", "/api/panel/sync", { full: "please" }), deps);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid-request", issues: [{ path: "full" }] });
    expect((await handleSyncRunDelete(request("DELETE", "/api/panel/sync/x", undefined), "DROP TABLE", deps)).status).toBe(400);
    expect(calls).toEqual([]);
  });

  it("refuses a cross-site cancel, a cross-site mapping change and a cross-site coverage refresh", async () => {
    const { deps, calls } = refusingDeps();
    const evil = { origin: "https://evil.example" };
    expect((await handleSyncRunDelete(request("DELETE", "/api/panel/sync/3", undefined, evil), "3", deps)).status).toBe(403);
    expect((await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", {}, evil), deps)).status).toBe(403);
    expect((await handleCodeMappingPost(request("POST", "/api/panel/code-mappings", { system: "urn:x:1", code: "1", concept: "measure:itch" }, evil), deps)).status).toBe(403);
    expect((await handleCodeMappingDelete(request("DELETE", "/api/panel/code-mappings", { id: "1" }, evil), deps)).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("refuses a coverage refresh and coverage reads for a user without the clinic-lead role", async () => {
    const forbidden = () => new Response(JSON.stringify({ error: "forbidden" }), { status: 403 });
    const { deps, calls } = refusingDeps({ authorize: async () => forbidden() });
    expect((await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", {}), deps)).status).toBe(403);
    expect((await handleCodeCoverageGet(request("GET", "/api/panel/code-coverage", undefined), deps)).status).toBe(403);
    expect((await handleCodeMappingsGet(request("GET", `/api/panel/code-mappings?job=${JOB}`, undefined), deps)).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("answers 400 for a refresh body with unknown fields and a job id that is not one", async () => {
    const { deps, calls } = refusingDeps();
    expect((await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", { source: "a", everything: true }), deps)).status).toBe(400);
    expect((await handleCodeCoverageGet(request("GET", "/api/panel/code-coverage?job=1%3Bdrop", undefined), deps)).status).toBe(400);
    expect((await handleCodeMappingsGet(request("GET", "/api/panel/code-mappings?job=42", undefined), deps)).status).toBe(400);
    expect(calls).toEqual([]);
  });

  it("answers 400 for a mapping to a concept the engine does not know", async () => {
    const { deps, calls } = refusingDeps();
    const response = await handleCodeMappingPost(request("POST", "/api/panel/code-mappings", { system: "urn:x:1", code: "1", concept: "measure:mood" }), deps);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ issues: [{ path: "concept" }] });
    expect(calls).toEqual([]);
  });
});

describe("panel API failures", () => {
  it("turns a database failure into a JSON 503 a page can show", async () => {
    const { deps } = refusingDeps();
    const capture = captureLogs();
    try {
      const response = await handleSyncNowPost(request("POST", "/api/panel/sync", { sourceId: "sandbox" }), deps);
      expect(response.status).toBe(503);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.json()).toMatchObject({ error: "unavailable" });
    } finally {
      capture.restore();
    }
    expect(capture.lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: "warn", component: "panel", event: "sync-now-failed", error: "Error" }),
    ]);
  });
});

const JOB = "6f1c2b9e-0d4a-4e8b-9c3f-2a1b0c9d8e7f";
const COMPUTED_AT = new Date("2026-11-02T03:04:05.000Z");

/**
 * A database that knows the sources table, the stored views, the mappings and the audit log, and fails the test
 * on anything else: a handler that scanned synced resources would reach it.
 */
function fakeDatabase(options: { stored?: CodeCoverage | null } = {}) {
  const audits: Array<{ action: string; outcome: string; detail: Record<string, unknown> }> = [];
  const mappings: Array<Record<string, unknown>> = [];
  const query = async (sql: string, params: unknown[] = []) => {
    if (/from sources/.test(sql)) return { rows: [{ id: "clinic-a", name: "Clinic A", enabled: true, timezone: "UTC" }] };
    if (/from computed_views/.test(sql)) return { rows: options.stored ? [{ computed_at: COMPUTED_AT, body: options.stored }] : [] };
    if (/insert into audit_events/.test(sql)) {
      audits.push({ action: String(params[2]), outcome: String(params[4]), detail: JSON.parse(String(params[5])) as Record<string, unknown> });
      return { rows: [] };
    }
    if (/from code_mappings/.test(sql)) return { rows: mappings };
    if (/insert into code_mappings/.test(sql)) {
      const row = { id: "7", system: params[0], code: params[1], concept: params[2], display: params[3], created_by: params[4], created_at: COMPUTED_AT };
      mappings.push(row);
      return { rows: [row] };
    }
    throw new Error(`unexpected query: ${sql.slice(0, 60)}`);
  };
  return { pool: { query } as unknown as pg.Pool, audits };
}

function codeJobs(overrides: Partial<CodeJobs> = {}) {
  const requested: Array<Record<string, unknown>> = [];
  const jobs: CodeJobs = {
    requestCodeCoverage: async (input) => (requested.push({ coverage: input }), JOB),
    codeCoverageJob: async (jobId) => ({ jobId, state: "running" }),
    requestCodeReevaluation: async (input) => (requested.push({ reevaluation: input }), JOB),
    codeReevaluationJob: async () => null,
    ...overrides,
  };
  return { jobs, requested };
}

function codeDeps(db: ReturnType<typeof fakeDatabase>, jobs: CodeJobs): CodeHandlerDeps {
  return { ...refusingDeps().deps, pool: db.pool, codeJobs: jobs };
}

const storedCoverage = { generatedAt: COMPUTED_AT.toISOString(), source: null, totals: { entries: 3, matched: 2, ignored: 1 }, matched: [], ignored: [], mappings: [], dataQuality: [], syncIssues: [], scanMs: 5 } satisfies CodeCoverage;

describe("GET /api/panel/code-coverage reads the stored view", () => {
  it("answers the stored view with when it was computed, queueing nothing", async () => {
    const db = fakeDatabase({ stored: storedCoverage });
    const { jobs, requested } = codeJobs();
    const response = await handleCodeCoverageGet(request("GET", "/api/panel/code-coverage", undefined), codeDeps(db, jobs));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ source: null, computedAt: COMPUTED_AT.toISOString(), coverage: storedCoverage, job: null, problem: null });
    expect(requested).toEqual([]);
  });

  it("queues a computation when none is stored, and says it is queued", async () => {
    const db = fakeDatabase();
    const { jobs, requested } = codeJobs();
    const response = await handleCodeCoverageGet(request("GET", "/api/panel/code-coverage?source=clinic-a", undefined), codeDeps(db, jobs));
    expect(await response.json()).toEqual({ source: "clinic-a", computedAt: null, coverage: null, job: { jobId: JOB, state: "queued" }, problem: null });
    expect(requested).toEqual([{ coverage: { sourceId: "clinic-a", reason: "first-view" } }]);
  });

  it("reports on the computation it follows without queueing another while it runs", async () => {
    const db = fakeDatabase();
    const { jobs, requested } = codeJobs();
    const body = await (await handleCodeCoverageGet(request("GET", `/api/panel/code-coverage?job=${JOB}`, undefined), codeDeps(db, jobs))).json();
    expect(body).toMatchObject({ computedAt: null, job: { jobId: JOB, state: "running" } });
    expect(requested).toEqual([]);
  });

  it("says so when nothing is stored and the queue does not answer", async () => {
    const db = fakeDatabase();
    const { jobs } = codeJobs({ requestCodeCoverage: async () => Promise.reject(new Error("connection refused")) });
    const response = await handleCodeCoverageGet(request("GET", "/api/panel/code-coverage", undefined), codeDeps(db, jobs));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ computedAt: null, job: null, problem: expect.stringContaining("could not be queued") });
  });

  it("answers 404 for a source that is not configured", async () => {
    const db = fakeDatabase({ stored: storedCoverage });
    const { jobs, requested } = codeJobs();
    expect((await handleCodeCoverageGet(request("GET", "/api/panel/code-coverage?source=elsewhere", undefined), codeDeps(db, jobs))).status).toBe(404);
    expect(requested).toEqual([]);
  });
});

describe("POST /api/panel/code-coverage queues a recomputation", () => {
  it("answers 202 with the job, for one source or all, and audits it", async () => {
    const db = fakeDatabase();
    const { jobs, requested } = codeJobs();
    const all = await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", {}), codeDeps(db, jobs));
    expect(all.status).toBe(202);
    expect(await all.json()).toMatchObject({ jobId: JOB, source: null });
    const one = await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", { source: "clinic-a" }), codeDeps(db, jobs));
    expect(one.status).toBe(202);
    expect(requested).toEqual([{ coverage: { sourceId: null, reason: "on-demand" } }, { coverage: { sourceId: "clinic-a", reason: "on-demand" } }]);
    expect(db.audits).toEqual([
      { action: "code-coverage-refresh", outcome: "success", detail: { source: "*", jobId: JOB } },
      { action: "code-coverage-refresh", outcome: "success", detail: { source: "clinic-a", jobId: JOB } },
    ]);
  });

  it("answers 404 for an unknown source and 503 when the queue fails, audited as a failure", async () => {
    const db = fakeDatabase();
    const { jobs } = codeJobs({ requestCodeCoverage: async () => Promise.reject(new Error("down")) });
    expect((await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", { source: "elsewhere" }), codeDeps(db, jobs))).status).toBe(404);
    const failed = await handleCodeCoverageRefreshPost(request("POST", "/api/panel/code-coverage", {}), codeDeps(db, jobs));
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ error: "queue-unavailable" });
    expect(db.audits).toEqual([{ action: "code-coverage-refresh", outcome: "failure", detail: { source: "*", error: "Error" } }]);
  });
});

describe("code mapping changes leave the patient look-up to a job", () => {
  it("stores the mapping and answers with the queued re-evaluation, scanning nothing", async () => {
    const db = fakeDatabase();
    const { jobs, requested } = codeJobs();
    const response = await handleCodeMappingPost(
      request("POST", "/api/panel/code-mappings", { system: "urn:oid:1.2.3", code: "7702101", concept: "measure:itch" }),
      codeDeps(db, jobs),
    );
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      mapping: { id: "7", system: "urn:oid:1.2.3", code: "7702101" },
      reevaluationJobId: JOB,
      reevaluationQueued: true,
      message: "Mapping added. The re-evaluation of the patients with urn:oid:1.2.3|7702101 is queued.",
    });
    expect(requested).toEqual([{ reevaluation: { system: "urn:oid:1.2.3", code: "7702101", reason: "code-mapping-added:7" } }]);
    expect(db.audits).toEqual([
      { action: "code-mapping-add", outcome: "success", detail: { system: "urn:oid:1.2.3", code: "7702101", concept: "measure:itch", reevaluationQueued: true, jobId: JOB } },
    ]);
  });

  it("keeps the mapping and says the nightly run will apply it when the queue fails", async () => {
    const db = fakeDatabase();
    const { jobs } = codeJobs({ requestCodeReevaluation: async () => Promise.reject(new Error("down")) });
    const response = await handleCodeMappingPost(request("POST", "/api/panel/code-mappings", { system: "urn:oid:1.2.3", code: "1", concept: "measure:itch" }), codeDeps(db, jobs));
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ reevaluationJobId: null, reevaluationQueued: false, message: expect.stringContaining("nightly re-evaluation") });
  });

  it("reports a re-evaluation's progress and, once done, how many patients had the code", async () => {
    const db = fakeDatabase();
    const done = { patients: 3, evaluated: 3, sources: [{ source: "clinic-a", patients: 3, evaluated: 3, wholeSource: false }], coverageJobId: JOB };
    let state: "running" | "done" = "running";
    const { jobs } = codeJobs({ codeReevaluationJob: async (jobId) => (jobId === JOB ? { jobId, state, result: state === "done" ? done : null } : null) });
    const ask = (id: string) => handleCodeMappingsGet(request("GET", `/api/panel/code-mappings?job=${id}`, undefined), codeDeps(db, jobs));
    expect(await (await ask(JOB)).json()).toMatchObject({ state: "running", result: null });
    state = "done";
    expect(await (await ask(JOB)).json()).toEqual({ jobId: JOB, state: "done", result: done, message: "Re-evaluation done: 3 patients with this code re-evaluated." });
    expect((await ask("00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });
});
