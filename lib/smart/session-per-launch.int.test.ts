/**
 * One session per launch against the real sandbox EHR and PostgreSQL: two patients launched in one browser
 * each keep their own session; the session id rotates at the callback; an idle session ends; sign-out ends
 * every session of the browser and is refused cross-origin.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { handlePatientViewRequest } from "../fhir/patient-api";
import type { PatientViewResponse } from "../fhir/patient-record-types";
import { FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { smartConfig } from "./config";
import { cookieHeaderFrom, parseCookieHeader, patientSessionCookieName, SESSION_COOKIE } from "./cookies";
import { deriveKey } from "./crypto";
import { handleCallback, handleLaunch, type LaunchDeps } from "./launch";
import { handleLogout } from "./session-logout";
import { SessionStore } from "./session-store";

const APP = "http://127.0.0.1:3998";
const KEY = deriveKey("integration-test-secret-0123456789abcdef");
const { dermatologist, patientA, patientB } = FIXTURE_IDS;

let sandbox: RunningSandbox;
let db: TestDatabase;
let deps: LaunchDeps;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
  deps = { store: new SessionStore(db.prisma, KEY), config: smartConfig({}) };
});

afterAll(async () => {
  await sandbox?.stop();
  await db?.stop();
});

/** One browser: a cookie jar carried across launches. Returns the jar after the callback and the launch cookie. */
async function launchIn(jar: string, patient: string): Promise<{ jar: string; launchCookie: string; location: string }> {
  const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patient) });
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`, { headers: jar ? { cookie: jar } : {} }), deps);
  const launchCookie = cookieHeaderFrom(start);
  const afterLaunch = [jar, launchCookie].filter(Boolean).join("; ");
  const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
  const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie: afterLaunch } }), deps);
  expect(done.status).toBe(302);
  return { jar: merge(jar, cookieHeaderFrom(done)), launchCookie, location: done.headers.get("location")! };
}

/** Later cookies replace earlier ones of the same name, like a browser. */
function merge(...headers: string[]): string {
  const out = new Map<string, string>();
  for (const h of headers) for (const [n, v] of parseCookieHeader(h)) out.set(n, v);
  return [...out].map(([n, v]) => `${n}=${v}`).join("; ");
}

function view(id: string, cookie: string): Promise<Response> {
  return handlePatientViewRequest(new Request(`${APP}/api/patients/${id}`, { headers: { cookie } }), id, { store: deps.store, config: deps.config, asOf: () => "2026-11-23" });
}

describe("one session per launch", () => {
  it("shows each tab its own patient when two patients are launched in one browser", async () => {
    const first = await launchIn("", patientA);
    const second = await launchIn(first.jar, patientB);
    expect(second.location).toBe(`${APP}/patients/${patientB}`);
    const a = await view(patientA, second.jar);
    expect(a.status).toBe(200);
    expect(((await a.json()) as PatientViewResponse).patient.id).toBe(patientA);
    const b = await view(patientB, second.jar);
    expect(b.status).toBe(200);
    expect(((await b.json()) as PatientViewResponse).patient.id).toBe(patientB);
    // A patient no launch of this browser opened is refused against the latest launch's context.
    const other = await view("not-launched", second.jar);
    expect(other.status).toBe(403);
  });

  it("gives the session a new id at the callback: the launch cookie's id is worth nothing afterwards", async () => {
    const { jar, launchCookie } = await launchIn("", patientA);
    const launchId = [...parseCookieHeader(launchCookie).values()][0]!;
    const sessionId = parseCookieHeader(jar).get(SESSION_COOKIE)!;
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionId).not.toBe(launchId);
    expect(parseCookieHeader(jar).get(patientSessionCookieName(patientA))).toBe(sessionId);
    expect(await db.prisma.session.findUnique({ where: { id: launchId } })).toBeNull();
    expect((await view(patientA, `${SESSION_COOKIE}=${launchId}`)).status).toBe(401);
  });

  it("deletes the older session when the same patient is launched again", async () => {
    const first = await launchIn("", patientA);
    const firstId = parseCookieHeader(first.jar).get(SESSION_COOKIE)!;
    const second = await launchIn(first.jar, patientA);
    expect(parseCookieHeader(second.jar).get(SESSION_COOKIE)).not.toBe(firstId);
    expect(await db.prisma.session.findUnique({ where: { id: firstId } })).toBeNull();
  });

  it("ends a session left idle longer than SESSION_IDLE_SECONDS, before its absolute lifetime", async () => {
    const { jar } = await launchIn("", patientA);
    const id = parseCookieHeader(jar).get(SESSION_COOKIE)!;
    await db.prisma.session.update({ where: { id }, data: { updatedAt: new Date(Date.now() - 31 * 60_000) } });
    const res = await view(patientA, jar);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("session-expired");
  });
});

describe("sign-out", () => {
  it("deletes every session of the browser and clears their cookies", async () => {
    const first = await launchIn("", patientA);
    const { jar } = await launchIn(first.jar, patientB);
    const ids = [...new Set(parseCookieHeader(jar).values())];
    expect(ids).toHaveLength(2);
    const res = await handleLogout(new Request(`${APP}/api/session/logout`, { method: "POST", headers: { cookie: jar, origin: APP } }), deps);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${APP}/`);
    expect(await db.prisma.session.count({ where: { id: { in: ids } } })).toBe(0);
    expect(cookieHeaderFrom(res)).toBe("");
    expect(res.headers.getSetCookie().length).toBe(3);
    expect((await view(patientA, jar)).status).toBe(401);
  });

  it("refuses a cross-site sign-out (or one without Origin and Sec-Fetch-Site) and changes nothing", async () => {
    const { jar } = await launchIn("", patientA);
    const id = parseCookieHeader(jar).get(SESSION_COOKIE)!;
    const attempts: Array<Record<string, string>> = [{ cookie: jar, origin: "https://evil.example" }, { cookie: jar }, { cookie: jar, "sec-fetch-site": "cross-site" }];
    for (const headers of attempts) {
      const res = await handleLogout(new Request(`${APP}/api/session/logout`, { method: "POST", headers }), deps);
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(await db.prisma.session.findUnique({ where: { id } })).not.toBeNull();
    const sameOrigin = await handleLogout(new Request(`${APP}/api/session/logout`, { method: "POST", headers: { cookie: jar, "sec-fetch-site": "same-origin" } }), deps);
    expect(sameOrigin.status).toBe(303);
  });
});
