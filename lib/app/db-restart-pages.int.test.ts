/**
 * Page views and API requests while the app's PostgreSQL is stopped and started again, against the production
 * server (`next start`): every request answers at once with a clean 503 (JSON routes: retryable, Retry-After; pages:
 * the notice that retries by itself), never "signed out", never a stack trace, and the server stays up; once
 * PostgreSQL is back the same requests answer 200 by themselves, with the same session.
 */
import { FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeTempDataDir, startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded";
import { SANDBOX_DEMO_SECRET } from "../smart/config";
import { ensureProductionBuild, nextDistDir, PROJECT_ROOT, startAppServer, type AppServer } from "./app-server";

const hasBuild = existsSync(path.join(PROJECT_ROOT, nextDistDir(), "BUILD_ID"));
if (!hasBuild) console.warn(`db-restart-pages: no production build (${nextDistDir()}/BUILD_ID), so these tests are skipped here; run \`npm run build\` first.`);

/** A request may wait for a database connection (DB_CONNECT_TIMEOUT_MS, 5 s) but no longer; the rest is margin for a busy machine. */
const ANSWER_WITHIN_MS = 15_000;
const RECOVERY_POLLS = 60;
const POLL_PAUSE_MS = 500;
const NOTICE = "database is not answering; this page will retry";

let sandbox: RunningSandbox | undefined;
let database: EmbeddedDatabase | undefined;
let dataFolder: string | undefined;
let app: AppServer | undefined;
const serverLog: string[] = [];
/** The browser's cookies after the EHR launch. */
let jar = "";

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

/** One request as the browser makes it (its cookies, no redirects followed, so a relaunch redirect would show). */
async function get(pathname: string, accept = "text/html"): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${app!.url}${pathname}`, { headers: { cookie: jar, accept }, redirect: "manual", signal: AbortSignal.timeout(ANSWER_WITHIN_MS + 10_000) });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
}

/** Later cookies replace earlier ones of the same name, as in a browser. */
function withCookies(current: string, setCookies: string[]): string {
  const jarMap = new Map(current ? current.split("; ").map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)] as const) : []);
  for (const header of setCookies) {
    const pair = header.split(";")[0]!;
    jarMap.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
  }
  return [...jarMap].map(([name, value]) => `${name}=${value}`).join("; ");
}

/** A clinic lead's EHR launch with patient A in context, through the sandbox's authorization server; returns the landing path. */
async function ehrLaunch(): Promise<string> {
  const params = new URLSearchParams({ iss: sandbox!.fhirBase, launch: sandbox!.createLaunch(FIXTURE_IDS.clinicLead, FIXTURE_IDS.patientA) });
  const start = await fetch(`${app!.url}/launch?${params}`, { redirect: "manual" });
  expect(start.status).toBe(302);
  jar = withCookies(jar, start.headers.getSetCookie());
  const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
  expect(authorize.status).toBe(302);
  const callback = await fetch(authorize.headers.get("location")!, { headers: { cookie: jar }, redirect: "manual" });
  expect(callback.status).toBe(302);
  jar = withCookies(jar, callback.headers.getSetCookie());
  return new URL(callback.headers.get("location")!).pathname;
}

const patientPage = `/patients/${FIXTURE_IDS.patientA}`;
const patientApi = `/api/patients/${FIXTURE_IDS.patientA}`;
const jsonRoutes = ["/api/panel/summary", "/api/panel/worklist", patientApi, "/api/reports"];
const pages = ["/panel", "/panel/worklist", patientPage, "/reports"];

/** Polls until `path` answers 200 (and, for pages, without the notice); bounded. */
async function recovered(pathname: string, accept: string): Promise<Answer> {
  let last: Answer | undefined;
  for (let poll = 0; poll < RECOVERY_POLLS; poll += 1) {
    last = await get(pathname, accept);
    if (last.status === 200 && !last.body.includes(NOTICE)) return last;
    await new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS));
  }
  throw new Error(`${pathname} did not answer 200 within ${RECOVERY_POLLS} polls after PostgreSQL came back (last: HTTP ${last?.status})`);
}

/** Fast shutdown (SIGINT: sessions cut, connections refused) of the app's PostgreSQL, then the same folder and port again. */
async function stopDatabase(): Promise<void> {
  await database!.stop();
}
async function startDatabaseAgain(): Promise<void> {
  database = await startEmbeddedPostgres({ dataDir: database!.dataDir, port: database!.port, supervise: false });
}

describe.skipIf(!hasBuild && !process.env.CI)("page views and API requests while PostgreSQL restarts (production server)", () => {
  beforeAll(async () => {
    // In CI the build runs before the integration tests: a missing one is a failure there, not a skip.
    await ensureProductionBuild(() => undefined, { ...process.env, EJM_REQUIRE_BUILD: "1" });
    sandbox = await startSandbox({ port: 0 });
    dataFolder = await makeTempDataDir("ejm-db-restart-");
    // Not supervised: the test decides when it is down and when it comes back.
    database = await startEmbeddedPostgres({ dataDir: path.join(dataFolder, "pg"), supervise: false });
    app = await startAppServer({
      port: await freePort(),
      worker: false,
      stdio: "pipe",
      log: () => undefined,
      env: {
        NODE_ENV: "production",
        DATABASE_URL: database.url,
        TEST_DATABASE_URL: undefined,
        SESSION_SECRET: randomBytes(32).toString("base64url"),
        SMART_CLIENT_SECRET: SANDBOX_DEMO_SECRET,
        WORKER_IN_APP: "0",
        SYNC_CRON: "off",
        EVALUATE_CRON: "off",
      },
    });
    for (const stream of [app.child.stdout, app.child.stderr]) stream?.on("data", (chunk: Buffer) => serverLog.push(chunk.toString("utf8")));
  });

  afterAll(async () => {
    await app?.stop();
    await database?.stop();
    if (dataFolder) await rm(dataFolder, { recursive: true, force: true });
    await sandbox?.stop();
  });

  it("answers 503 to retry while PostgreSQL is down, keeps running, and recovers with the same session once it is back", async () => {
    expect(await ehrLaunch()).toBe(patientPage);
    for (const route of jsonRoutes) expect((await get(route, "application/json")).status, route).toBe(200);
    // The JSON API's security headers come from next.config.mjs (proxy.ts leaves /api/ out); pages keep a nonce'd CSP.
    const api = await get("/api/panel/summary", "application/json");
    expect(api.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    expect(api.headers.get("x-content-type-options")).toBe("nosniff");
    expect(api.headers.get("permissions-policy")).toContain("camera=()");
    expect((await get("/panel")).headers.get("content-security-policy")).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    for (const page of pages) {
      const answer = await get(page);
      expect(answer.status, page).toBe(200);
      expect(answer.body, page).not.toContain(NOTICE);
    }

    await stopDatabase();

    for (const route of jsonRoutes) {
      const answer = await get(route, "application/json");
      expect(answer.status, route).toBe(503);
      expect(answer.ms, route).toBeLessThan(ANSWER_WITHIN_MS);
      expect(answer.headers.get("retry-after"), route).toMatch(/^\d+$/);
      expect(answer.headers.get("content-type"), route).toContain("application/json");
      const body = JSON.parse(answer.body) as { error?: string; retryable?: boolean; message?: string };
      expect(body, route).toMatchObject({ error: "database-unavailable", retryable: true });
      expect(answer.body, route).not.toMatch(/relaunch|ECONNREFUSED|\bat .+:\d+:\d+/);
    }
    // Next gives a page no way to set its status, so pages answer 200 with the notice (not Next's 500 error page).
    for (const page of pages) {
      const answer = await get(page);
      expect(answer.status, page).toBe(200);
      expect(answer.ms, page).toBeLessThan(ANSWER_WITHIN_MS);
      expect(answer.body, page).toContain(NOTICE);
      expect(answer.body, page).toMatch(/<meta http-equiv="refresh" content="\d+"/);
      expect(answer.body, page).not.toMatch(/session has ended|Relaunch from the EHR|ECONNREFUSED|Application error|\bat .+:\d+:\d+/);
    }
    const health = await get("/api/health", "application/json");
    expect(health.status).toBe(503);
    expect(health.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(app!.child.exitCode).toBeNull();
    expect(app!.child.signalCode).toBeNull();

    await startDatabaseAgain();

    // The same cookies: no relaunch needed, the session outlived the outage.
    for (const route of jsonRoutes) await recovered(route, "application/json");
    const patient = JSON.parse((await recovered(patientApi, "application/json")).body) as { patient?: { id?: string } };
    expect(patient.patient?.id).toBe(FIXTURE_IDS.patientA);
    for (const page of pages) await recovered(page, "text/html");
    expect((await recovered("/panel", "text/html")).body).toContain("Every synced patient on a JAK inhibitor");
    expect((await get("/api/health", "application/json")).status).toBe(200);

    // Nothing crashed or went unhandled, Next logged no error page, and no patient id reached the log.
    const log = serverLog.join("");
    expect(log).toContain('"event":"database-unavailable"');
    expect(log).not.toMatch(/unhandled|uncaught|⨯|\n\s+at .+:\d+:\d+/i);
    expect(log).not.toContain(FIXTURE_IDS.patientA);
    expect(app!.child.exitCode).toBeNull();
  });
});
