import type { JWK } from "jose";
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox } from "../sandbox/index";
import { startAppServer, type AppServer } from "./app-server";

export interface DemoStackOptions {
  appPort: number;
  /** 0: a free port. */
  sandboxPort: number;
  /** Folder for the app's embedded PostgreSQL (EJM_DATA_DIR); the project's .data/ when omitted. */
  dataDir?: string;
  patients?: number;
  seed?: number;
  /** The cohort's "today", also pinned as the app's (CLINIC_AS_OF) so its verdicts match the data's day. */
  asOf?: string;
  dev?: boolean;
  quiet?: boolean;
  /** How long to wait for the first sync (default 10 minutes). */
  firstSyncTimeoutMs?: number;
}

/** The first sync's outcome, as recorded in sync_runs. */
export interface FirstSync {
  runId: string;
  /** sync_runs.counts: { resources: { <type>: n }, inserted, updated, ..., patientsChanged, evaluated } */
  counts: Record<string, unknown>;
  seconds: number;
}

export interface DemoStack {
  appUrl: string;
  app: AppServer;
  sandbox: Awaited<ReturnType<typeof startSandbox>>;
  firstSync: FirstSync;
  stop(): Promise<void>;
}

/** The sandbox source the demo syncs (SYNC_SOURCES entry). */
export const DEMO_SOURCE_ID = "sandbox";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Waits until the run has ended; a run that did not succeed is an error naming what went wrong. */
export async function waitForSyncRun(databaseUrl: string, runId: string, timeoutMs: number): Promise<FirstSync> {
  const { createPool } = await import("../db/pool");
  const pool = createPool(databaseUrl, 1);
  const started = Date.now();
  try {
    for (;;) {
      const { rows } = await pool.query<{ status: string; counts: Record<string, unknown>; error: string | null; error_hint: string | null }>(
        "SELECT status, counts, error, error_hint FROM sync_runs WHERE id = $1",
        [runId],
      );
      const run = rows[0];
      if (!run) throw new Error(`The first sync (run ${runId}) is missing from sync_runs.`);
      if (run.status === "succeeded") return { runId, counts: run.counts, seconds: (Date.now() - started) / 1000 };
      if (TERMINAL.has(run.status)) {
        throw new Error(`The first sync of the sandbox ${run.status}: ${run.error ?? "no error recorded"}${run.error_hint ? ` (${run.error_hint})` : ""}`);
      }
      if (Date.now() - started > timeoutMs) throw new Error(`The first sync did not finish within ${timeoutMs / 1000} s (status ${run.status}).`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await pool.end();
  }
}

/** SYNC_SOURCES for the demo: the sandbox's JAK panel Group, with the Backend Services key made for this run. */
export function demoSyncSources(fhirBase: string, privateJwk: JWK): string {
  return JSON.stringify([{ id: DEMO_SOURCE_ID, name: "Sandbox EHR", fhirBase, clientId: BULK_CLIENT_ID, groupId: "jak-panel", exportLevel: "group", privateJwk }]);
}

/** CDS_CLIENTS for the demo: the sandbox EHR, trusted by its origin (the JWT iss) and its CDS client JWKS. */
export function demoCdsClients(sandboxOrigin: string, jwksUrl: string): string {
  return JSON.stringify([{ iss: sandboxOrigin, jwksUrl }]);
}

/** One line for the console: resources by type and patients evaluated. */
export function describeFirstSync(sync: FirstSync): string {
  const counts = sync.counts;
  const byType = counts.resources && typeof counts.resources === "object" ? Object.entries(counts.resources as Record<string, number>) : [];
  const total = byType.reduce((sum, [, n]) => sum + (typeof n === "number" ? n : 0), 0);
  const types = byType.map(([type, n]) => `${type} ${n}`).join(", ");
  const evaluated = typeof counts.evaluated === "number" ? `, ${counts.evaluated} patients evaluated` : "";
  return `First sync (run ${sync.runId}): ${total} resources${types ? ` (${types})` : ""}${evaluated}, in ${sync.seconds.toFixed(1)} s.`;
}

/**
 * The sandbox EHR with a seeded cohort, and the app registered with it as its SMART client and as its Backend
 * Services client (a key pair made now; the sandbox gets the public JWKS, the app the private key). The job
 * worker runs in this process; the first sync of the sandbox has succeeded when this resolves, so the panel is
 * populated.
 */
export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const log = options.quiet ? () => {} : console.log;
  const appUrl = `http://127.0.0.1:${options.appPort}`;
  const keys = await createBackendClientKeys("ES384");
  const sandbox = await startSandbox({
    port: options.sandboxPort,
    cohort: { patients: options.patients ?? 60, seed: options.seed ?? 42, ...(options.asOf ? { asOf: options.asOf } : {}) },
    appLaunchUrl: `${appUrl}/launch`,
    // The sandbox calls the app's CDS Hooks service as an EHR would, signing with its own key pair.
    cdsServiceBase: `${appUrl}/cds-services`,
    clients: [{ clientId: BULK_CLIENT_ID, name: "Eczema JAK Monitor (bulk sync)", jwks: keys.publicJwks, redirectUriPrefixes: [] }],
  });
  let app: AppServer | undefined;
  try {
    app = await startAppServer({
      port: options.appPort,
      dev: options.dev,
      stdio: options.quiet ? "ignore" : "inherit",
      log,
      env: {
        APP_BASE_URL: appUrl,
        SMART_ALLOWED_ISSUERS: sandbox.fhirBase,
        SYNC_SOURCES: demoSyncSources(sandbox.fhirBase, keys.privateJwk),
        CDS_CLIENTS: demoCdsClients(sandbox.origin, sandbox.cdsClient.jwksUrl),
        CDS_SERVICE_BASE_URL: appUrl,
        // The demo may generate its secrets and pin the date without the production refusals and warnings.
        EJM_DEMO: "1",
        ...(options.dataDir ? { EJM_DATA_DIR: options.dataDir } : {}),
        ...(options.asOf ? { CLINIC_AS_OF: options.asOf } : {}),
      },
    });
    const jobs = await import("../jobs/queue");
    // Without a worker in this process (WORKER_IN_APP=0), a separate `npm run worker` on this database does the sync.
    if (!app.worker) await jobs.useJobDatabase(app.database.url);
    const { runId } = await jobs.requestSync({ sourceId: DEMO_SOURCE_ID, trigger: "startup" });
    log(app.worker ? "Syncing the sandbox's JAK panel..." : `Waiting for a worker (DATABASE_URL=${app.database.url} npm run worker) to sync the sandbox...`);
    const firstSync = await waitForSyncRun(app.database.url, runId, options.firstSyncTimeoutMs ?? 600_000);
    log(describeFirstSync(firstSync));
    const running = app;
    return {
      appUrl,
      app: running,
      sandbox,
      firstSync,
      async stop() {
        await jobs.closeJobs();
        await running.stop();
        await sandbox.stop();
      },
    };
  } catch (error) {
    await import("../jobs/queue").then((jobs) => jobs.closeJobs()).catch(() => undefined);
    await app?.stop().catch(() => undefined);
    await sandbox.stop();
    throw error;
  }
}
