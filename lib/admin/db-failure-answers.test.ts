/**
 * The admin APIs (roles, audit trail) answer a database that does not answer with 503 (try again) and any other
 * failure with 500: a retry promise only where a retry can help.
 */
import { describe, expect, it } from "vitest";
import { handleAdminAuditGet } from "../audit/audit-handlers";
import { handleRolesGet, type RolesApiDeps } from "./roles-api";

const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const bug = new TypeError("Cannot read properties of undefined");

/** A Prisma client (or pg pool) every call of which fails with `error`. */
function failingDb(error: Error): never {
  const fail = (): Promise<never> => Promise.reject(error);
  const member = new Proxy(fail, { get: () => fail, apply: fail });
  return new Proxy({}, { get: () => member }) as never;
}

const admin = { practitionerId: "pr-admin", issuer: "https://ehr.example/fhir", role: "admin" as const };

describe("admin APIs when the database fails", () => {
  it("roles: 503 with a retry message for an outage, 500 for anything else", async () => {
    const call = (error: Error) =>
      handleRolesGet(new Request("http://app.test/api/admin/roles"), { db: failingDb(error), authorize: async () => admin, appOrigin: () => "http://app.test" } satisfies RolesApiDeps);
    const down = await call(outage);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: "database-unavailable" });
    const broken = await call(bug);
    expect(broken.status).toBe(500);
    expect(await broken.json()).toMatchObject({ error: "server-error" });
  });

  it("audit trail: 503 for an outage, 500 for anything else", async () => {
    const call = (error: Error) => handleAdminAuditGet(new Request("http://app.test/api/admin/audit"), { db: failingDb(error), authorize: async () => admin });
    expect((await call(outage)).status).toBe(503);
    const broken = await call(bug);
    expect(broken.status).toBe(500);
    expect(await broken.json()).toMatchObject({ error: "server-error" });
  });
});
