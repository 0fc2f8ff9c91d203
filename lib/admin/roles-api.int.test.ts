/**
 * GET/POST/DELETE /api/admin/roles through the route module against a real PostgreSQL with real session rows: only
 * an admin reads or changes assignments (no session 401, another role 403, another site 403 before anything), input
 * is validated, every change writes its audit row (who, role, what, from where; no PHI) in the same transaction and
 * ends the practitioner's open sessions, and the launch's override reader sees the result.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TestDatabase } from "@/lib/db/testing";
import type { SessionStore } from "@/lib/smart/session-store";
import type { GrantRoleResponse, RevokeRoleResponse, RoleAssignmentsResponse } from "./types";

// Route handlers import server-only modules; under vitest there is no React server condition to satisfy it.
vi.mock("server-only", () => ({}));

const APP = "http://127.0.0.1:3999";
const ISS = "https://ehr.example.org/fhir/r4";
const OTHER_ISS = "https://other-ehr.example.org/fhir";
const ADMIN = "Practitioner/adm-1";
const TARGET = "Practitioner/dr-9";

let db: TestDatabase;
let store: SessionStore;
const cookies = { admin: "", lead: "", dermatologist: "", expiredAdmin: "" };
type Handler = (request: Request) => Promise<Response>;
let route: { GET: Handler; POST: Handler; DELETE: Handler };

async function session(role: string, practitionerId: string, issuer: string, opts: { expired?: boolean } = {}): Promise<string> {
  const s = await store.create(3600, issuer);
  await store.setContext(s.id, { role, practitionerId, issuer, ...(opts.expired ? { expiresAt: new Date(Date.now() - 1000) } : {}) });
  return s.id;
}

beforeAll(async () => {
  const { startTestDatabase } = await import("@/lib/db/testing");
  db = await startTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.SESSION_SECRET = "admin-roles-integration-test-secret-0123456789";
  process.env.SMART_ALLOWED_ISSUERS = `${ISS},https://ehr.example.org`;
  const { SessionStore } = await import("@/lib/smart/session-store");
  const { sessionKey } = await import("@/lib/smart/crypto");
  store = new SessionStore(db.prisma, sessionKey());
  // The admin's session keeps the issuer with a trailing slash, as some EHRs send iss.
  cookies.admin = `ejm_session=${await session("admin", ADMIN, `${ISS}/`)}`;
  cookies.lead = `ejm_session=${await session("clinic-lead", "Practitioner/lead-1", ISS)}`;
  cookies.dermatologist = `ejm_session=${await session("dermatologist", "Practitioner/derm-1", ISS)}`;
  cookies.expiredAdmin = `ejm_session=${await session("admin", "Practitioner/adm-2", ISS, { expired: true })}`;
  route = (await import("@/app/api/admin/roles/route")) as unknown as typeof route;
});

afterAll(async () => {
  const { prisma } = await import("@/lib/db/client");
  await prisma().$disconnect();
  await db?.stop();
});

function call(method: "GET" | "POST" | "DELETE", opts: { cookie?: string; body?: unknown; raw?: string; headers?: Record<string, string>; query?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(method === "GET" ? {} : { "content-type": "application/json", origin: APP }), ...opts.headers };
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const request = new Request(`${APP}/api/admin/roles${opts.query ?? ""}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return route[method](request);
}

const roleAudits = () => db.prisma.auditEvent.findMany({ where: { action: { startsWith: "role." } }, orderBy: { id: "asc" } });

describe("who may use the roles API", () => {
  it("answers 401 without a session or with an expired one, 403 for every role but admin, and changes nothing", async () => {
    for (const method of ["GET", "POST", "DELETE"] as const) {
      const body = method === "GET" ? undefined : { practitioner: TARGET, role: "admin" };
      expect((await call(method, { body })).status).toBe(401);
      expect((await call(method, { cookie: cookies.expiredAdmin, body })).status).toBe(401);
      for (const cookie of [cookies.lead, cookies.dermatologist]) {
        const res = await call(method, { cookie, body });
        expect(res.status).toBe(403);
        expect(((await res.json()) as { error: string }).error).toBe("forbidden");
      }
    }
    expect(await db.prisma.roleAssignment.count()).toBe(0);
    expect(await roleAudits()).toEqual([]);
  });

  it("refuses a change from another site before it reads the session or the body", async () => {
    const fromElsewhere = await call("POST", { cookie: cookies.admin, body: { practitioner: TARGET, role: "admin" }, headers: { origin: "https://evil.example" } });
    expect(fromElsewhere.status).toBe(403);
    expect(((await fromElsewhere.json()) as { error: string }).error).toBe("cross-site");
    const crossSiteFetch = await call("DELETE", { cookie: cookies.admin, body: { practitioner: TARGET }, headers: { origin: "", "sec-fetch-site": "cross-site" } });
    expect(crossSiteFetch.status).toBe(403);
    expect(await db.prisma.roleAssignment.count()).toBe(0);
  });

  it("validates the input and names what is wrong", async () => {
    const cases: Array<[unknown, string]> = [
      [{ practitioner: "Patient/p1", role: "admin" }, "practitioner"],
      [{ practitioner: "Practitioner/../x", role: "admin" }, "practitioner"],
      [{ practitioner: TARGET, role: "superuser" }, "role"],
      [{ practitioner: TARGET, role: "admin", issuer: "javascript:alert(1)" }, "issuer"],
      [{ practitioner: TARGET, role: "admin", extra: true }, "(body)"],
      [{}, "practitioner"],
    ];
    for (const [body, path] of cases) {
      const res = await call("POST", { cookie: cookies.admin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const json = (await res.json()) as { issues: Array<{ path: string }> };
      expect(json.issues.map((i) => i.path)).toContain(path);
    }
    expect((await call("POST", { cookie: cookies.admin, raw: "{not json" })).status).toBe(400);
    expect((await call("POST", { cookie: cookies.admin, raw: "x", headers: { "content-type": "text/plain" } })).status).toBe(415);
    expect((await call("GET", { cookie: cookies.admin, query: "?issuer=not-a-url" })).status).toBe(400);
    expect(await db.prisma.roleAssignment.count()).toBe(0);
  });
});

describe("granting and revoking", () => {
  it("grants at the admin's issuer, audits who, role, what and from where, and ends the practitioner's open sessions", async () => {
    const targetSessions = [await session("dermatologist", TARGET, ISS), await session("dermatologist", TARGET, `${ISS}/`)];
    const elsewhere = await session("dermatologist", TARGET, OTHER_ISS);
    const res = await call("POST", { cookie: cookies.admin, body: { practitioner: TARGET, role: "clinic-lead" }, headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as GrantRoleResponse;
    expect(body).toMatchObject({ outcome: "granted", previousRole: null, sessionsEnded: 2, assignment: { issuer: ISS, practitioner: TARGET, role: "clinic-lead", grantedBy: ADMIN } });
    expect(body.message).toContain("from their next launch");
    for (const id of targetSessions) expect(await db.prisma.session.findUnique({ where: { id } })).toBeNull();
    expect(await db.prisma.session.findUnique({ where: { id: elsewhere } })).not.toBeNull();

    const [audit] = await roleAudits();
    expect(audit).toMatchObject({ actor: ADMIN, role: "admin", action: "role.assign", entity: TARGET, outcome: "success", origin: "203.0.113.7" });
    expect(audit!.detail).toEqual({ issuer: ISS, practitioner: TARGET, role: "clinic-lead", previousRole: null, change: "granted", sessionsEnded: 2 });

    const { roleAssignmentReader } = await import("./role-assignments");
    expect(await roleAssignmentReader(db.prisma)(`${ISS}/`, TARGET)).toBe("clinic-lead");
    expect(await roleAssignmentReader(db.prisma)(OTHER_ISS, TARGET)).toBeNull();
  });

  it("changes a role (200, the previous one said) and reports an unchanged one, each audited", async () => {
    const changed = await call("POST", { cookie: cookies.admin, body: { issuer: ISS, practitioner: TARGET, role: "quality" } });
    expect(changed.status).toBe(200);
    expect((await changed.json()) as GrantRoleResponse).toMatchObject({ outcome: "changed", previousRole: "clinic-lead", assignment: { role: "quality" } });
    const same = await call("POST", { cookie: cookies.admin, body: { issuer: ISS, practitioner: TARGET, role: "quality" } });
    expect(same.status).toBe(200);
    expect((await same.json()) as GrantRoleResponse).toMatchObject({ outcome: "unchanged", sessionsEnded: 0 });
    expect((await roleAudits()).map((a) => (a.detail as { change: string }).change)).toEqual(["granted", "changed", "unchanged"]);
  });

  it("lists the assignments with the issuers to offer (own, configured, seen) and who asks", async () => {
    await call("POST", { cookie: cookies.admin, body: { issuer: `${OTHER_ISS}/`, practitioner: "Practitioner/q-2", role: "admin" } });
    const res = await call("GET", { cookie: cookies.admin });
    expect(res.status).toBe(200);
    const body = (await res.json()) as RoleAssignmentsResponse;
    expect(body.assignments.map((a) => [a.issuer, a.practitioner, a.role])).toEqual([
      [ISS, TARGET, "quality"],
      [OTHER_ISS, "Practitioner/q-2", "admin"],
    ]);
    expect(body.issuers[0]).toBe(ISS);
    expect(body.issuers).toEqual(expect.arrayContaining([ISS, OTHER_ISS]));
    expect(body.issuers).not.toContain("https://ehr.example.org");
    expect(body.you).toEqual({ issuer: ISS, practitioner: ADMIN });
    expect(body.roles).toEqual(["dermatologist", "clinic-lead", "quality", "admin"]);
    const filtered = (await (await call("GET", { cookie: cookies.admin, query: `?issuer=${encodeURIComponent(OTHER_ISS)}` })).json()) as RoleAssignmentsResponse;
    expect(filtered.assignments.map((a) => a.practitioner)).toEqual(["Practitioner/q-2"]);
  });

  it("revokes (200, audited) and answers 404 for a practitioner with nothing assigned (audited as refused)", async () => {
    const revoked = await call("DELETE", { cookie: cookies.admin, body: { practitioner: TARGET } });
    expect(revoked.status).toBe(200);
    expect((await revoked.json()) as RevokeRoleResponse).toMatchObject({ revoked: { issuer: ISS, practitioner: TARGET, role: "quality" } });
    expect(await db.prisma.roleAssignment.findUnique({ where: { issuer_practitioner: { issuer: ISS, practitioner: TARGET } } })).toBeNull();
    const again = await call("DELETE", { cookie: cookies.admin, body: { practitioner: TARGET } });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: string }).error).toBe("not-assigned");
    const audits = (await roleAudits()).filter((a) => a.action === "role.revoke");
    expect(audits.map((a) => [a.outcome, (a.detail as { reason?: string }).reason ?? null])).toEqual([
      ["success", null],
      ["refused", "not-assigned"],
    ]);
  });

  it("refuses an admin's change to their own role (409, audited), so a clinic is never left without one by mistake", async () => {
    for (const [method, body] of [
      ["POST", { practitioner: ADMIN, role: "dermatologist" }],
      ["DELETE", { practitioner: ADMIN }],
    ] as const) {
      const res = await call(method, { cookie: cookies.admin, body });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: string }).error).toBe("self-change");
    }
    expect(await db.prisma.roleAssignment.count({ where: { practitioner: ADMIN } })).toBe(0);
    expect((await roleAudits()).filter((a) => (a.detail as { reason?: string }).reason === "self-change")).toHaveLength(2);
  });

  it("keeps the audit rows free of patient data and append-only", async () => {
    const audits = await roleAudits();
    expect(audits.length).toBeGreaterThan(0);
    for (const a of audits) expect(JSON.stringify(a.detail)).not.toMatch(/Patient\//);
    await expect(db.prisma.auditEvent.deleteMany({ where: { action: { startsWith: "role." } } })).rejects.toThrow(/append-only/);
  });
});
