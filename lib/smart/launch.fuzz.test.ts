/**
 * Fuzz tests of what the SMART launch reads from the browser and the EHR: /launch and /callback query strings, the
 * Cookie header, id_tokens, role names, ROLE_MAPPING and the EHR's PractitionerRole answers. Any input gives a
 * redirect with a reason, a value or null, or the module's own error; never another exception. A callback whose
 * state this browser did not start changes nothing, whatever else it carries. Seeded (lib/testing/arbitraries.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anyFieldValue, anyJson, fuzzParameters, hostileString } from "../testing/arbitraries";
import { smartConfig } from "./config";
import { launchCookieName, parseCookieHeader, patientIdOfPath, readLaunchSessionId, readSessionId, SESSION_COOKIE } from "./cookies";
import { fhirUserFromIdToken, handleCallback, handleLaunch, SMART_KEY, type LaunchDeps } from "./launch";
import { lookupRole, roleOfResources } from "./role-lookup";
import { APP_ROLES, parseRole, parseRoleMapping, RoleMappingError } from "./roles";
import type { LoadedSession, SessionStore } from "./session-store";

const APP = "http://app.test";
const SESSION_ID = "L".repeat(43);
const STATE = "s".repeat(43);
const RELAUNCH_REASONS = new Set(["missing-iss", "issuer-not-allowed", "discovery-failed", "no-session", "session-expired", "auth-denied", "auth-failed", "no-patient", "role-unavailable", "code-replayed", "code-refused", "pkce-verifier-missing", "ehr-unavailable"]);

/** A session store that records every write; the one launch session in it started state STATE. */
function recordingStore(): { store: SessionStore; writes: string[] } {
  const writes: string[] = [];
  const session = (): LoadedSession => ({ id: SESSION_ID, data: { [SMART_KEY]: STATE }, expiresAt: new Date(Date.now() + 600_000), expired: false, patientId: null, practitionerId: null, role: null, issuer: "http://127.0.0.1:4100/fhir" });
  const write = (name: string) => async () => void writes.push(name);
  const store = {
    load: async (id: string) => (id === SESSION_ID ? session() : null),
    delete: write("delete"),
    deleteExpired: async () => 0,
    create: write("create"),
    saveData: write("saveData"),
    setContext: write("setContext"),
    rotate: write("rotate"),
  } as unknown as SessionStore;
  return { store, writes };
}

function deps(store: SessionStore): LaunchDeps {
  return { store, config: smartConfig({ APP_BASE_URL: APP }), fetch: async () => new Response("{}", { status: 404 }) };
}

/** The reason of a redirect to /relaunch, or null for any other redirect. */
function relaunchReason(response: Response): string | null {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get("location")!);
  if (location.pathname !== "/relaunch") return null;
  const reason = location.searchParams.get("reason");
  expect(RELAUNCH_REASONS.has(reason ?? "")).toBe(true);
  return reason;
}

/** Query values: hostile strings, plausible ones, and pieces that break URL parsers. */
const queryValue = fc.oneof(hostileString, fc.constantFrom("https://ehr.example/fhir", "http://127.0.0.1:4100/fhir", "http://user:pw@127.0.0.1/fhir", "javascript:alert(1)", "file:///etc/passwd", "x".repeat(5000), STATE, "access_denied"));

describe("SMART launch input under fuzzed input", () => {
  it("refuses any /launch whose iss is malformed or not allowed with a reason, touching no session", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom("iss", "launch", "aud", "state"), queryValue), { maxLength: 4 }), async (pairs) => {
        const params = new URLSearchParams(pairs);
        const iss = params.get("iss");
        // Loopback issuers are allowed by default and would start a real launch: only refusals are fuzzed here.
        fc.pre(!iss || !/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/i.test(iss.trim()));
        const { store, writes } = recordingStore();
        const response = await handleLaunch(new Request(`${APP}/launch?${params.toString()}`), deps(store));
        expect(["missing-iss", "issuer-not-allowed"]).toContain(relaunchReason(response));
        expect(writes).toEqual([]);
      }),
      fuzzParameters(300, { caseTimeoutMs: 5_000 }),
    );
  });

  it("changes nothing on a callback whose state this browser did not start, whatever it carries", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom("state", "code", "error", "error_description", "iss"), queryValue), { maxLength: 5 }),
        fc.oneof(fc.constant(`${launchCookieName(STATE)}=${SESSION_ID}`), fc.constant(`${SESSION_COOKIE}=${SESSION_ID}`), hostileString.map((v) => `ejm_launch_x=${v}`), fc.constant("")),
        async (pairs, cookie) => {
          const params = new URLSearchParams(pairs);
          fc.pre(params.get("state") !== STATE);
          const { store, writes } = recordingStore();
          const headers = new Headers();
          try {
            headers.set("cookie", cookie);
          } catch {
            fc.pre(false);
          }
          const response = await handleCallback(new Request(`${APP}/callback?${params.toString()}`, { headers }), deps(store));
          expect(["auth-failed", "no-session"]).toContain(relaunchReason(response));
          expect(writes).toEqual([]);
          expect(response.headers.getSetCookie()).toEqual([]);
        },
      ),
      fuzzParameters(300, { caseTimeoutMs: 5_000 }),
    );
  });

  it("ends only this launch on its own state's error, with the refusal page and a code of the RFC 6749 shape", async () => {
    await fc.assert(
      fc.asyncProperty(queryValue, async (error) => {
        const { store, writes } = recordingStore();
        const params = new URLSearchParams({ state: STATE, error });
        const response = await handleCallback(new Request(`${APP}/callback?${params.toString()}`, { headers: { cookie: `${launchCookieName(STATE)}=${SESSION_ID}` } }), deps(store));
        expect(relaunchReason(response)).toBe("auth-denied");
        expect(new URL(response.headers.get("location")!).searchParams.get("error")).toMatch(/^[a-z_]{1,64}$/);
        expect(writes).toEqual(["delete"]);
      }),
      fuzzParameters(200, { caseTimeoutMs: 5_000 }),
    );
  });

  it("reads any Cookie header and URL into a well-formed session id or none", () => {
    const cookiePart = fc.oneof(
      fc.tuple(fc.oneof(fc.constantFrom(SESSION_COOKIE, "ejm_sp_x", "ejm_launch_y", " ejm_session "), hostileString), fc.oneof(fc.constant(SESSION_ID), hostileString, fc.constantFrom("%E0%A4%A", "%", "a%00b"))).map(([n, v]) => `${n}=${v}`),
      hostileString,
    );
    fc.assert(
      fc.property(fc.array(cookiePart, { maxLength: 6 }), fc.oneof(fc.constantFrom("/patients/p1", "/api/patients/%E0%A4%A/x", "/callback?state=s", "/panel"), hostileString.map((s) => `/patients/${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ""))}`)), (parts, path) => {
        const header = parts.join("; ");
        expect(() => parseCookieHeader(header)).not.toThrow();
        const headers = new Headers();
        try {
          headers.set("cookie", header);
        } catch {
          fc.pre(false);
        }
        const request = new Request(`${APP}${path}`, { headers });
        for (const id of [readSessionId(request), readLaunchSessionId(request)]) if (id !== null) expect(id).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
        const patient = patientIdOfPath(new URL(request.url).pathname);
        if (patient !== null) expect(typeof patient).toBe("string");
      }),
      fuzzParameters(400),
    );
  });

  it("reads fhirUser from any id_token text as a reference or none, and role names as a role or none", () => {
    const segment = fc.oneof(hostileString, anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? "").toString("base64url")), fc.record({ fhirUser: fc.oneof(hostileString, anyFieldValue), profile: anyFieldValue }, { requiredKeys: [] }).map((c) => Buffer.from(JSON.stringify(c)).toString("base64url")));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 4 }).map((parts) => parts.join(".")), fc.oneof(hostileString, anyFieldValue), (idToken, roleName) => {
        const user = fhirUserFromIdToken(idToken);
        if (user !== null) expect(typeof user).toBe("string");
        const role = parseRole(roleName);
        if (role !== null) expect(APP_ROLES).toContain(role);
      }),
      fuzzParameters(400),
    );
  });

  it("parses any ROLE_MAPPING text into a mapping or a RoleMappingError that says what is wrong", () => {
    const mappingText = fc.oneof(hostileString, anyJson.map((v) => JSON.stringify(v) ?? ""), fc.dictionary(fc.oneof(fc.constantFrom("MD", "http://snomed.info/sct|309343006", "a|b|c", " x"), hostileString), fc.oneof(fc.constantFrom(...APP_ROLES), anyFieldValue)).map((o) => JSON.stringify(o)));
    fc.assert(
      fc.property(mappingText, (text) => {
        try {
          const mapping = parseRoleMapping(text);
          for (const role of [...mapping.byCode.values(), ...mapping.bySystemCode.values()]) expect(APP_ROLES).toContain(role);
        } catch (error) {
          expect(error).toBeInstanceOf(RoleMappingError);
          expect((error as Error).message).toMatch(/ROLE_MAPPING/);
        }
      }),
      fuzzParameters(300),
    );
  });

  /** PractitionerRole resources whose code is well typed, its values random. */
  const wellTypedRole = fc.record({
    resourceType: fc.constant("PractitionerRole"),
    active: fc.option(fc.boolean(), { nil: undefined }),
    code: fc.array(fc.record({ text: fc.option(hostileString, { nil: undefined }), coding: fc.array(fc.record({ system: fc.option(hostileString, { nil: undefined }), code: fc.option(fc.oneof(fc.constantFrom("clinic-lead", "quality", "dermatologist", "admin"), hostileString), { nil: undefined }), display: fc.option(hostileString, { nil: undefined }) }), { maxLength: 2 }) }), { maxLength: 2 }),
  });

  it("reads the EHR's PractitionerRole answers with well-typed codes as a role or none, and any other answer as a problem", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("Practitioner/dr-1", "PractitionerRole/pr-1"),
        fc.oneof(fc.array(wellTypedRole, { maxLength: 3 }).map((roles) => ({ resourceType: "Bundle", entry: roles.map((resource) => ({ resource })) })), wellTypedRole, anyJson.filter((v) => !(v !== null && typeof v === "object" && "resourceType" in v))),
        fc.constantFrom(200, 200, 200, 401, 403, 500),
        async (fhirUser, body, status) => {
          const result = await lookupRole({ serverUrl: "http://ehr.test/fhir", accessToken: "t", fhirUser, fetch: async () => new Response(JSON.stringify(body), { status }) });
          if (result.ok) {
            if (result.role !== null) expect(APP_ROLES).toContain(result.role);
          } else expect(["refused", "failed", "unreachable", "no-fhir-user", "not-a-practitioner"]).toContain(result.problem);
        },
      ),
      fuzzParameters(300, { caseTimeoutMs: 5_000 }),
    );
  });

  // A malformed EHR answer (wrong JSON types in PractitionerRole.code or the Bundle) reads as a role, none or a problem.
  it.each([
    ["a null CodeableConcept", { resourceType: "Bundle", entry: [{ resource: { resourceType: "PractitionerRole", code: [null] } }] }],
    ["a coding that is a number", { resourceType: "Bundle", entry: [{ resource: { resourceType: "PractitionerRole", code: [{ coding: 5 }] } }] }],
    ["a Bundle whose entry is an object", { resourceType: "Bundle", entry: { resource: {} } }],
  ])("reads an EHR answer with %s as a role, none or a problem", async (_label, body) => {
    const result = await lookupRole({ serverUrl: "http://ehr.test/fhir", accessToken: "t", fhirUser: "Practitioner/dr-1", fetch: async () => new Response(JSON.stringify(body), { status: 200 }) });
    expect(typeof result.ok).toBe("boolean");
  });

  it("finds roles only in active PractitionerRoles, from resources of any shape in well-typed answers", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(wellTypedRole, fc.record({ resourceType: fc.constantFrom("Practitioner", "Patient"), code: fc.constant([{ text: "clinic lead" }]) })), { maxLength: 4 }), (resources) => {
        const role = roleOfResources(resources);
        if (role === null) return;
        expect(APP_ROLES).toContain(role);
        expect(resources.some((r) => r.resourceType === "PractitionerRole" && (r as { active?: boolean }).active !== false)).toBe(true);
      }),
      fuzzParameters(300),
    );
  });
});
