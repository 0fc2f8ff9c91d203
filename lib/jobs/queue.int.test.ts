// Two workers (`tsx lib/cli/worker.ts`) and two app instances (lib/jobs/testing/app-instance.ts) share one
// PostgreSQL: many sync and evaluation requests, each job done once; the syncs leave stored code-coverage views,
// and a code mapping added through the API re-evaluates its patient in a worker; then both workers stop on SIGTERM.
// The sandbox package first: Prisma's generated client (imported by the test database helper) must load after it.
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type RunningSandbox } from "../sandbox/index";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import type { CodeCoverageResponse } from "../panel/code-coverage";
import { handleCodeCoverageGet, handleCodeMappingPost, handleCodeMappingsGet, type CodeHandlerDeps, type CodeMappingChangeResponse, type CodeReevaluationStatusResponse } from "../panel/panel-handlers";
import { generateCohort } from "../sandbox/cohort/index";
import { patientIdOf } from "../sync/ndjson-ingest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const AS_OF = "2026-11-01";
const EVAL_SOURCE = "eval-only";
const SYNC_SOURCES = ["sandbox-a", "sandbox-b"];
const TIMEZONES = ["UTC", "Europe/Berlin"];
const NEW_YEAR = "0 0 1 1 *";
const evalCohort = [...generateCohort({ patients: 20, seed: 11, asOf: AS_OF })];
const evalIds = evalCohort.map((p) => p.patientId);

interface Proc {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  /** Signals the process group: tsx runs the script in a child process of its own. */
  signal(signal: NodeJS.Signals): void;
}

let sandbox: RunningSandbox;
let db: TestDatabase;
let pool: pg.Pool;
let workerEnv: Record<string, string>;
const workers: Proc[] = [];

function run(script: string, env: Record<string, string>): Proc {
  const child = spawn(TSX, [script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // the group is gone already
    }
  };
  return { child, output, exited, signal };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Test-only instrumentation: every write of an evaluation row and every end of a sync run, logged by triggers. */
async function instrument(): Promise<void> {
  await pool.query(`
    CREATE TABLE test_evaluation_writes (source text, patient_id text, as_of text);
    CREATE FUNCTION test_log_evaluation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_evaluation_writes VALUES (NEW.source, NEW.patient_id, NEW.as_of); RETURN NEW; END $$;
    CREATE TRIGGER test_log_evaluation AFTER INSERT OR UPDATE ON evaluations FOR EACH ROW EXECUTE FUNCTION test_log_evaluation();
    CREATE TABLE test_run_endings (run_id bigint, source text, status text);
    CREATE FUNCTION test_log_run_end() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_run_endings VALUES (NEW.id, NEW.source, NEW.status); RETURN NEW; END $$;
    CREATE TRIGGER test_log_run_end AFTER UPDATE ON sync_runs FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('succeeded', 'failed', 'cancelled')) EXECUTE FUNCTION test_log_run_end();
  `);
}

/** Patients of a source that is never synced, stored directly: only evaluation jobs write their rows. */
async function storeEvaluationOnlyPatients(): Promise<void> {
  const rows = evalCohort.flatMap((p) =>
    p.resources.map((r) => ({
      patientId: r.resourceType === "Medication" ? "" : patientIdOf(r as unknown as Record<string, unknown>),
      resourceType: r.resourceType,
      id: r.id,
      hash: createHash("sha1").update(JSON.stringify(r)).digest("hex"),
      resource: r,
    })),
  );
  await pool.query(
    `INSERT INTO fhir_resources (source, patient_id, resource_type, id, content_hash, resource)
     SELECT $1, r."patientId", r."resourceType", r.id, r.hash, r.resource
     FROM jsonb_to_recordset($2::jsonb) AS r("patientId" text, "resourceType" text, id text, hash text, resource jsonb)
     ON CONFLICT DO NOTHING`,
    [EVAL_SOURCE, JSON.stringify(rows)],
  );
  await pool.query("INSERT INTO patients (source, id, dirty, updated_at) SELECT $1, unnest($2::text[]), false, now()", [EVAL_SOURCE, evalIds]);
}

beforeAll(async () => {
  const keys = await createBackendClientKeys("ES384");
  sandbox = await startSandbox({ port: 0, cohort: { patients: 8, seed: 42, asOf: AS_OF }, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }], bulkMinJobMs: 200 });
  // Only now: the test database helper loads Prisma's generated client, which must come after the sandbox.
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  // An idle connection closed by the database's shutdown at the end is not a test failure.
  pool.on("error", () => undefined);
  await instrument();
  await storeEvaluationOnlyPatients();
  const sources = SYNC_SOURCES.map((id, i) => ({ id, fhirBase: sandbox.fhirBase, clientId: BULK_CLIENT_ID, groupId: "jak-panel", privateJwk: keys.privateJwk, timezone: TIMEZONES[i] }));
  workerEnv = {
    DATABASE_URL: db.url,
    SYNC_SOURCES: JSON.stringify(sources),
    // Only the requests below make jobs: no scheduled sync, and the "nightly" run only on New Year's midnight.
    SYNC_CRON: "off",
    EVALUATE_CRON: NEW_YEAR,
    CLINIC_AS_OF: AS_OF,
    EJM_DB_POOL_MAX: "4",
  };
  for (let i = 0; i < 2; i++) workers.push(run("lib/cli/worker.ts", workerEnv));
  await until("both workers to start", async () => workers.every((w) => w.output.some((line) => line.includes("started:"))), 120_000);
}, 180_000);

afterAll(async () => {
  for (const w of workers) w.signal("SIGKILL");
  await pool?.end();
  await db?.stop();
  await sandbox?.stop();
});

describe("the job queue shared by two app instances and two workers", () => {
  it("does every requested sync and evaluation exactly once", async () => {
    // Each evaluation request names its own two patients; each app instance asks for every source's sync three times.
    const evaluationRequests = Array.from({ length: evalIds.length / 2 }, (_, i) => ({ sourceId: EVAL_SOURCE, patientIds: evalIds.slice(2 * i, 2 * i + 2), reason: `test-${i}` }));
    const syncRequests = SYNC_SOURCES.flatMap((sourceId) => [0, 1, 2].map(() => ({ sourceId, trigger: "manual" as const })));
    // Two waves: the second asks again once the first wave's runs have ended, so every source gets new runs.
    const runIds = new Set<string>();
    const waveRuns: Array<Set<string>> = [];
    for (const wave of [0, 1]) {
      const apps = [0, 1].map((k) =>
        run("lib/jobs/testing/app-instance.ts", {
          DATABASE_URL: db.url,
          EJM_REQUESTS: JSON.stringify({ syncs: syncRequests, evaluations: evaluationRequests.filter((_, i) => i % 4 === 2 * wave + k) }),
        }),
      );
      const codes = await Promise.all(apps.map((a) => a.exited));
      expect(codes, apps.map((a) => a.output.join("\n")).join("\n---\n")).toEqual([0, 0]);
      const ids = new Set<string>();
      for (const app of apps) {
        const result = JSON.parse(app.output.find((line) => line.startsWith("{"))!) as { syncs: Array<{ runId: string; alreadyQueued: boolean }> };
        expect(result.syncs).toHaveLength(syncRequests.length);
        for (const s of result.syncs) ids.add(s.runId);
      }
      // Repeated requests while a source's run is queued or running join that run instead of starting another.
      expect(ids.size).toBeLessThan(2 * syncRequests.length);
      expect(ids.size).toBeGreaterThanOrEqual(SYNC_SOURCES.length);
      waveRuns.push(ids);
      for (const id of ids) runIds.add(id);
      await until(`wave ${wave + 1}'s runs to end`, async () => {
        const { rows } = await pool.query<{ n: string }>("SELECT count(DISTINCT run_id) AS n FROM test_run_endings WHERE run_id = ANY($1::bigint[])", [[...ids]]);
        return Number(rows[0]!.n) === ids.size;
      });
    }
    expect([...waveRuns[1]!].some((id) => !waveRuns[0]!.has(id))).toBe(true);

    const endings = await until("every run to end", async () => {
      const { rows } = await pool.query<{ run_id: string; source: string; status: string }>("SELECT run_id::text, source, status FROM test_run_endings ORDER BY run_id");
      return rows.length >= runIds.size && rows;
    });
    await until("every evaluation to be written", async () => {
      const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM test_evaluation_writes WHERE source = $1", [EVAL_SOURCE]);
      return Number(rows[0]!.n) >= evalIds.length;
    });
    await until("every job to settle", async () => {
      const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name IN ('sync', 'evaluate') AND state IN ('created', 'retry', 'active')");
      return rows[0]!.n === "0";
    });

    // Every run finished once, and successfully.
    expect(endings.map((e) => e.run_id).sort()).toEqual([...runIds].sort());
    expect(endings.every((e) => e.status === "succeeded")).toBe(true);
    const runs = await pool.query<{ id: string; source: string; status: string }>("SELECT id::text, source, status FROM sync_runs ORDER BY id");
    expect(runs.rows.map((r) => r.id).sort()).toEqual([...runIds].sort());
    expect(new Set(runs.rows.map((r) => r.source))).toEqual(new Set(SYNC_SOURCES));

    // Every evaluation request's patients were written exactly once.
    const writes = await pool.query<{ patient_id: string; n: string }>(
      "SELECT patient_id, count(*) AS n FROM test_evaluation_writes WHERE source = $1 GROUP BY patient_id ORDER BY patient_id",
      [EVAL_SOURCE],
    );
    expect(writes.rows).toEqual(evalIds.map((id) => ({ patient_id: id, n: "1" })));

    // The synced sources' patients were evaluated after ingest, and none is left dirty.
    const synced = await pool.query<{ source: string; patients: string; evaluated: string; dirty: string }>(
      `SELECT p.source, count(*) AS patients, count(e.patient_id) AS evaluated, count(*) FILTER (WHERE p.dirty) AS dirty
       FROM patients p LEFT JOIN evaluations e ON e.source = p.source AND e.patient_id = p.id
       WHERE p.source = ANY($1::text[]) GROUP BY p.source ORDER BY p.source`,
      [SYNC_SOURCES],
    );
    expect(synced.rows.map((r) => r.source)).toEqual(SYNC_SOURCES);
    for (const row of synced.rows) {
      expect(Number(row.patients)).toBeGreaterThan(0);
      expect(row.evaluated).toBe(row.patients);
      expect(row.dirty).toBe("0");
    }

    // The queue's own record: every job completed on its first attempt, one evaluation job per request.
    const jobs = await pool.query<{ name: string; state: string; retry_count: number; n: string }>(
      "SELECT name, state, retry_count, count(*) AS n FROM pgboss.job WHERE name IN ('sync', 'evaluate') GROUP BY name, state, retry_count ORDER BY name",
    );
    expect(jobs.rows).toEqual([
      { name: "evaluate", state: "completed", retry_count: 0, n: String(evaluationRequests.length) },
      { name: "sync", state: "completed", retry_count: 0, n: String(runIds.size) },
    ]);
    // And as the workers saw it: each evaluation job handled by one of them, once.
    const handled = workers.flatMap((w) => w.output.filter((line) => line.includes(`evaluation (test-`)));
    expect(handled).toHaveLength(evaluationRequests.length);
  });

  it("stores the code-coverage views after the successful syncs", async () => {
    const { rows: runs } = await pool.query<{ finished: Date }>("SELECT max(finished_at) AS finished FROM sync_runs WHERE status = 'succeeded'");
    await until("the code-coverage jobs to settle", async () => {
      const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = 'code-coverage' AND state IN ('created', 'retry', 'active')");
      return rows[0]!.n === "0";
    });
    const views = await pool.query<{ source: string; computed_at: Date; entries: number }>(
      "SELECT source, computed_at, (body->'totals'->>'entries')::int AS entries FROM computed_views WHERE view = 'code-coverage'",
    );
    // One view per configured source and one of everything (the evaluation-only rows count there).
    expect(views.rows.map((v) => v.source).sort()).toEqual(["*", ...SYNC_SOURCES].sort());
    for (const view of views.rows) expect(view.entries, view.source).toBeGreaterThan(0);
    // Each view was computed from data read after the last sync run ended: the jobs ran after the runs, not before.
    for (const view of views.rows) expect(view.computed_at.getTime(), view.source).toBeGreaterThanOrEqual(runs[0]!.finished.getTime());
    const jobs = await pool.query<{ reason: string; state: string }>("SELECT data->>'reason' AS reason, state FROM pgboss.job WHERE name = 'code-coverage'");
    expect(jobs.rows.length).toBeGreaterThan(0);
    expect(jobs.rows.every((j) => j.reason.startsWith("sync:") && j.state === "completed")).toBe(true);
  });

  it("re-evaluates, through a worker, the patient whose resource carries a newly mapped code, then recomputes the views", async () => {
    // A site code no generated patient has: the observation below is its only carrier.
    const SITE_SYSTEM = "urn:oid:1.2.3.4.5.6789";
    const SITE_CODE = "itch-row-42";
    const patientId = evalIds[0]!;
    const observation = {
      resourceType: "Observation",
      id: "local-itch-1",
      status: "final",
      subject: { reference: `Patient/${patientId}` },
      code: { coding: [{ system: SITE_SYSTEM, code: SITE_CODE, display: "Peak itch (site flowsheet)" }] },
      effectiveDateTime: "2026-10-20",
      valueQuantity: { value: 6 },
    };
    await pool.query("INSERT INTO fhir_resources (source, patient_id, resource_type, id, content_hash, resource) VALUES ($1, $2, 'Observation', $3, $4, $5::jsonb)", [
      EVAL_SOURCE,
      patientId,
      observation.id,
      createHash("sha1").update(JSON.stringify(observation)).digest("hex"),
      JSON.stringify(observation),
    ]);
    const writesOf = async () =>
      new Map(
        (await pool.query<{ patient_id: string; n: string }>("SELECT patient_id, count(*) AS n FROM test_evaluation_writes WHERE source = $1 GROUP BY patient_id", [EVAL_SOURCE])).rows.map((r) => [
          r.patient_id,
          Number(r.n),
        ]),
      );
    const writesBefore = await writesOf();

    const jobs = await import("./queue");
    await jobs.useJobDatabase(db.url);
    try {
      const app = "http://127.0.0.1:3000";
      const deps: CodeHandlerDeps = {
        pool,
        appOrigin: () => app,
        authorize: async () => ({ practitionerId: "Practitioner/lead-1", role: "clinic-lead" }),
        queue: { requestSync: jobs.requestSync, requestCancel: jobs.requestCancel, requestEvaluation: jobs.requestEvaluation },
        codeJobs: jobs.codeJobs,
      };
      const added = await handleCodeMappingPost(
        new Request(`${app}/api/panel/code-mappings`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: app },
          body: JSON.stringify({ system: SITE_SYSTEM, code: SITE_CODE, concept: "measure:itch" }),
        }),
        deps,
      );
      expect(added.status).toBe(201);
      const change = (await added.json()) as CodeMappingChangeResponse;
      expect(change.reevaluationJobId).toBeTruthy();

      const status = await until("the re-evaluation to finish", async () => {
        const response = await handleCodeMappingsGet(new Request(`${app}/api/panel/code-mappings?job=${change.reevaluationJobId}`), deps);
        const body = (await response.json()) as CodeReevaluationStatusResponse;
        return (body.state === "done" || body.state === "failed") && body;
      });
      expect(status).toMatchObject({ state: "done", result: { patients: 1, evaluated: 1, sources: [{ source: EVAL_SOURCE, patients: 1, evaluated: 1, wholeSource: false }] } });
      expect(status.message).toBe("Re-evaluation done: 1 patient with this code re-evaluated.");

      // That patient's evaluation was written again, and nobody else's.
      const writesAfter = await writesOf();
      for (const id of evalIds) expect(writesAfter.get(id) ?? 0, id).toBe((writesBefore.get(id) ?? 0) + (id === patientId ? 1 : 0));

      // Then the views were recomputed with the mapping: the local code now matches through it.
      const coverageJobId = status.result!.coverageJobId!;
      const view = await until("the recomputed view", async () => {
        const response = await handleCodeCoverageGet(new Request(`${app}/api/panel/code-coverage?job=${coverageJobId}`), deps);
        const body = (await response.json()) as CodeCoverageResponse;
        return body.job?.state === "done" && body;
      });
      expect(view.coverage?.matched.find((r) => r.code === SITE_CODE)).toMatchObject({ concept: "measure:itch", how: "site-mapping", resources: 1 });
      expect(view.coverage?.mappings).toMatchObject([{ id: change.mapping.id, resources: 1 }]);
    } finally {
      await jobs.closeJobs();
    }
  });

  it("schedules each source's re-evaluation at its clinic's time zone, and no sync when SYNC_CRON is off", async () => {
    const { rows } = await pool.query<{ name: string; key: string; cron: string; timezone: string }>("SELECT name, key, cron, timezone FROM pgboss.schedule ORDER BY name, key");
    expect(rows).toEqual([
      { name: "evaluate", key: "nightly/sandbox-a", cron: NEW_YEAR, timezone: "UTC" },
      { name: "evaluate", key: "nightly/sandbox-b", cron: NEW_YEAR, timezone: "Europe/Berlin" },
    ]);
  });

  it("refuses a sync of a source that is not configured, and records no run for it", async () => {
    const jobs = await import("./queue");
    await jobs.useJobDatabase(db.url);
    try {
      await expect(jobs.requestSync({ sourceId: "not-configured", trigger: "manual" })).rejects.toMatchObject({ name: "SyncSourceError", reason: "unknown" });
    } finally {
      await jobs.closeJobs();
    }
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM sync_runs WHERE source = 'not-configured'");
    expect(rows[0]!.n).toBe("0");
  });

  it("stops both workers cleanly on SIGTERM", async () => {
    for (const w of workers) w.child.kill("SIGTERM");
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    workers.length = 0;
    for (const w of workers) expect(w.output.some((line) => line.includes("stopped"))).toBe(true);
  });
});

describe("a worker that dies mid-sync", () => {
  it("has its job retried by the other worker, which resumes the run to success", async () => {
    // Heartbeats every 10 s and a supervisor looking every 2 s, so a silent worker is noticed soon.
    const env = { ...workerEnv, EJM_JOB_HEARTBEAT_SECONDS: "10", EJM_JOB_SUPERVISE_SECONDS: "2" };
    const pair = [run("lib/cli/worker.ts", env), run("lib/cli/worker.ts", env)];
    workers.push(...pair);
    await until("both workers to start", async () => pair.every((w) => w.output.some((line) => line.includes("started:"))), 120_000);
    // Slow FHIR responses keep the run in progress long enough to stop its worker in the middle.
    sandbox.setFaults({ latencyMs: 600 });
    const jobs = await import("./queue");
    await jobs.useJobDatabase(db.url);
    let runId: string;
    try {
      ({ runId } = await jobs.requestSync({ sourceId: SYNC_SOURCES[0]!, trigger: "manual", full: true }));
    } finally {
      await jobs.closeJobs();
    }
    const marker = `"runId":"${runId}"`;
    const victim = await until("a worker to be in the middle of the run", async () => {
      const { rows } = await pool.query<{ status: string }>("SELECT status FROM sync_runs WHERE id = $1", [runId]);
      return ["exporting", "downloading"].includes(rows[0]?.status ?? "") && pair.find((w) => w.output.some((line) => line.includes(marker)));
    });
    victim.signal("SIGKILL");
    const survivor = pair.find((w) => w !== victim)!;

    const ending = await until(
      "the run to end",
      async () => {
        const { rows } = await pool.query<{ status: string }>("SELECT status FROM test_run_endings WHERE run_id = $1", [runId]);
        return rows.length > 0 && rows;
      },
      180_000,
    );
    sandbox.setFaults({});
    expect(ending).toEqual([{ status: "succeeded" }]);
    // The survivor logs the run's end just after its commit: wait for the line rather than race it.
    const logged = await until("the survivor to log the run's success", async () => survivor.output.some((line) => line.includes(`sync run ${runId} of ${SYNC_SOURCES[0]}: succeeded`)), 30_000);
    expect(logged).toBe(true);
    const job = await pool.query<{ state: string; retry_count: number }>("SELECT state, retry_count FROM pgboss.job WHERE name = 'sync' AND data->>'runId' = $1", [runId]);
    expect(job.rows).toHaveLength(1);
    expect(job.rows[0]!.state).toBe("completed");
    expect(job.rows[0]!.retry_count).toBeGreaterThanOrEqual(1);

    survivor.child.kill("SIGTERM");
    expect(await survivor.exited).toBe(0);
  }, 300_000);
});
