import { describe, expect, it } from "vitest";
import {
  allSessionCookies,
  cookieHeaderFrom,
  launchCookie,
  launchCookieName,
  patientSessionCookieName,
  readLaunchSessionId,
  readSessionId,
  sessionCookie,
  sessionCookieMode,
} from "./cookies";

const A = "a".repeat(43);
const B = "b".repeat(43);
const LATEST = "l".repeat(43);

describe("session cookie per launch", () => {
  const jar = `ejm_session=${LATEST}; ${patientSessionCookieName("pat-a")}=${A}; ${patientSessionCookieName("pat-b")}=${B}`;
  const req = (path: string, cookie = jar): Request => new Request(`http://app${path}`, { headers: { cookie } });

  it("reads the session of the patient the path names, for the page and its API", () => {
    expect(readSessionId(req("/patients/pat-a"))).toBe(A);
    expect(readSessionId(req("/api/patients/pat-b"))).toBe(B);
    expect(readSessionId(req("/api/patients/pat-b/observations"))).toBe(B);
  });

  it("falls back to the latest launch elsewhere and for a patient without a launch of its own", () => {
    expect(readSessionId(req("/panel"))).toBe(LATEST);
    expect(readSessionId(req("/patients/pat-c"))).toBe(LATEST);
    expect(readSessionId(req("/panel/patients/main/pat-a"))).toBe(LATEST);
  });

  it("never puts the patient id or the state in a cookie name", () => {
    expect(patientSessionCookieName("pat-a")).toMatch(/^ejm_sp_[A-Za-z0-9_-]{22}$/);
    expect(patientSessionCookieName("pat-a")).not.toContain("pat-a");
    expect(launchCookieName("s".repeat(43))).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}$/);
  });

  it("finds the launch in progress by the callback's state, else any launch cookie (the state check refuses it)", () => {
    const state = "s".repeat(43);
    const other = "t".repeat(43);
    const cookie = `${launchCookieName(other)}=${B}; ${launchCookieName(state)}=${A}`;
    expect(readLaunchSessionId(new Request(`http://app/callback?code=x&state=${state}`, { headers: { cookie } }))).toBe(A);
    expect(readLaunchSessionId(new Request(`http://app/callback?state=forged`, { headers: { cookie } }))).toBe(B);
    expect(readLaunchSessionId(new Request(`http://app/callback?state=${state}`, { headers: { cookie: `ejm_session=${LATEST}` } }))).toBeNull();
    expect(launchCookie(state, A, false)).toBe(`${launchCookieName(state)}=${A}; Path=/callback; HttpOnly; SameSite=Lax; Max-Age=600`);
  });

  it("lists every session the browser holds for sign-out, ignoring malformed values", () => {
    const all = allSessionCookies(req("/", `${jar}; other=1; ejm_sp_x=../../etc`));
    expect(all.map((c) => c.id).sort()).toEqual([A, B, LATEST].sort());
  });

  it("builds a cookie header from Set-Cookie lines, dropping cleared cookies", () => {
    const res = new Response(null, { headers: [["set-cookie", `ejm_session=${A}; Path=/`], ["set-cookie", "ejm_launch_x=; Path=/callback; Max-Age=0"]] });
    expect(cookieHeaderFrom(new Response(null, { headers: [["set-cookie", "ejm_launch_x=y; Path=/callback"]] }), res)).toBe(`ejm_session=${A}`);
  });
});

describe("iframe cookie mode", () => {
  it("is SameSite=None; Secure; Partitioned with SESSION_COOKIE_MODE=embedded over https", () => {
    expect(sessionCookieMode({ SESSION_COOKIE_MODE: "embedded" })).toBe("embedded");
    expect(sessionCookieMode({})).toBe("lax");
    expect(sessionCookie("abc", { maxAgeSeconds: 60, secure: true, mode: "embedded" })).toBe("ejm_session=abc; Path=/; HttpOnly; SameSite=None; Max-Age=60; Secure; Partitioned");
  });

  it("stays SameSite=Lax over plain http, where SameSite=None cookies are rejected", () => {
    expect(sessionCookie("abc", { maxAgeSeconds: 60, secure: false, mode: "embedded" })).toBe("ejm_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
  });
});
