/**
 * The audit trail on a real PostgreSQL: append-only in the database (UPDATE, DELETE and TRUNCATE refused by the
 * triggers, whoever asks), every committed row readable, the filters and paging of readAudit, the keyset export, and
 * the admin API (JSON page and FHIR AuditEvent Bundle, validated) with its own reads audited.
 */
import { validateResource } from "@medplum/core";
import type { AuditEvent, Bundle } from "@medplum/fhirtypes";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFhirDefinitions } from "../sandbox/definitions";
import type { TestDatabase } from "../db/testing";
import { hashId } from "../app/log";
import type { AuditEntry, AuditRow } from "./audit";
import type { AuditHandlerDeps } from "./audit-handlers";

// Medplum's definitions load before Prisma's generated client is imported (it sets globalThis.__dirname).
loadFhirDefinitions();

let db: TestDatabase;
let pool: pg.Pool;
let audit: typeof import("./audit");
let handlers: typeof import("./audit-handlers");

beforeAll(async () => {
  const { startTestDatabase } = await import("../db/testing");
  const { createPool } = await import("../db/pool");
  audit = await import("./audit");
  handlers = await import("./audit-handlers");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return { actor: "Practitioner/d1", role: "dermatologist", action: "t.view", outcome: "success", detail: {}, ...over };
}

async function insertAt(at: string, over: Partial<AuditEntry>): Promise<void> {
  const e = entry(over);
  await pool.query("insert into audit_events (at, actor, role, action, entity, outcome, detail, origin) values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)", [
    at,
    e.actor,
    e.role,
    e.action,
    e.entity ?? null,
    e.outcome,
    JSON.stringify(e.detail),
    e.origin ?? null,
  ]);
}

async function sqlstate(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? "no-code";
  }
}

describe("audit_events is append-only in the database", () => {
  it("refuses UPDATE, DELETE and TRUNCATE (in a transaction too) and leaves every row as it was", async () => {
    await audit.recordAudit(pool, entry({ action: "append.one", detail: { n: 1 } }));
    await audit.recordAudit(db.prisma, entry({ action: "append.two", detail: { n: 2 } }));
    const before = await pool.query("select id, at, actor, role, action, entity, outcome, detail, origin from audit_events order by id");
    expect(before.rows.length).toBeGreaterThanOrEqual(2);

    expect(await sqlstate(pool.query("update audit_events set outcome = 'failure' where action = 'append.one'"))).toBe("42501");
    expect(await sqlstate(pool.query("update audit_events set detail = '{}'::jsonb"))).toBe("42501");
    expect(await sqlstate(pool.query("delete from audit_events where action = 'append.two'"))).toBe("42501");
    expect(await sqlstate(pool.query("delete from audit_events"))).toBe("42501");
    expect(await sqlstate(pool.query("truncate audit_events"))).toBe("42501");
    expect(await sqlstate(db.prisma.auditEvent.deleteMany({}))).not.toBeNull();
    expect(await sqlstate(db.prisma.auditEvent.updateMany({ data: { outcome: "failure" } }))).not.toBeNull();
    const client = await pool.connect();
    try {
      await client.query("begin");
      expect(await sqlstate(client.query("delete from audit_events"))).toBe("42501");
      await client.query("rollback");
    } finally {
      client.release();
    }

    const after = await pool.query("select id, at, actor, role, action, entity, outcome, detail, origin from audit_events order by id");
    expect(after.rows).toEqual(before.rows);
  });

  it("makes every committed row readable, written through pg or Prisma, concurrently, and none of a rolled-back transaction", async () => {
    const writes = Array.from({ length: 30 }, (_, i) => audit.recordAudit(i % 3 === 0 ? db.prisma : pool, entry({ action: "committed.row", detail: { i } })));
    await Promise.all(writes);
    const client = await pool.connect();
    try {
      await client.query("begin");
      await audit.recordAudit(client, entry({ action: "committed.row", detail: { i: -1 } }));
      await client.query("rollback");
    } finally {
      client.release();
    }
    const page = await audit.readAudit(pool, { action: "committed.row", pageSize: 200 });
    expect(page.total).toBe(30);
    expect(page.rows.map((r) => r.detail.i).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});

describe("readAudit and auditRows", () => {
  beforeAll(async () => {
    await insertAt("2026-10-31T23:59:59.999Z", { action: "f.cds.patient-view", actor: "https://ehr.example", role: "cds-client", outcome: "refused", detail: { reason: "bad-signature" } });
    await insertAt("2026-11-01T00:00:00.000Z", { action: "f.cds.order-sign", actor: "https://ehr.example", role: "cds-client" });
    await insertAt("2026-11-15T12:00:00.000Z", { action: "f.report.export", actor: "Practitioner/q1", role: "quality", entity: "Measure/easi-75" });
    await insertAt("2026-11-30T23:59:59.999Z", { action: "f.patient.view", actor: "Practitioner/d1", role: "dermatologist", outcome: "failure", origin: "203.0.113.7" });
    await insertAt("2026-12-01T00:00:00.000Z", { action: "f.patient.view", actor: "Practitioner/d2", role: "dermatologist" });
    await insertAt("2026-11-20T00:00:00.000Z", { action: "f_x", actor: "Practitioner/d1", role: "admin" });
  });

  const actions = async (filters: Parameters<typeof audit.readAudit>[1]) => (await audit.readAudit(pool, filters)).rows.map((r) => `${r.action}@${r.at}`);

  it("filters by action prefix (LIKE wildcards taken literally), actor, role and outcome, newest first", async () => {
    expect(await actions({ action: "f.cds." })).toEqual(["f.cds.order-sign@2026-11-01T00:00:00.000Z", "f.cds.patient-view@2026-10-31T23:59:59.999Z"]);
    expect(await actions({ action: "f_" })).toEqual(["f_x@2026-11-20T00:00:00.000Z"]);
    expect(await actions({ action: "f.", actor: "Practitioner/d1" })).toEqual(["f.patient.view@2026-11-30T23:59:59.999Z"]);
    expect(await actions({ action: "f", role: "quality" })).toEqual(["f.report.export@2026-11-15T12:00:00.000Z"]);
    expect(await actions({ action: "f", outcome: "refused" })).toEqual(["f.cds.patient-view@2026-10-31T23:59:59.999Z"]);
  });

  it("takes from and to as whole UTC days, both inclusive", async () => {
    expect(await actions({ action: "f.", from: "2026-11-01", to: "2026-11-30" })).toEqual([
      "f.patient.view@2026-11-30T23:59:59.999Z",
      "f.report.export@2026-11-15T12:00:00.000Z",
      "f.cds.order-sign@2026-11-01T00:00:00.000Z",
    ]);
    expect(await actions({ action: "f.", from: "2026-12-01" })).toEqual(["f.patient.view@2026-12-01T00:00:00.000Z"]);
    expect(await actions({ action: "f.", to: "2026-10-31" })).toEqual(["f.cds.patient-view@2026-10-31T23:59:59.999Z"]);
  });

  it("pages with a total, and the keyset export yields every filtered row in the same order across batches", async () => {
    const first = await audit.readAudit(pool, { action: "f", page: 1, pageSize: 4 });
    const second = await audit.readAudit(pool, { action: "f", page: 2, pageSize: 4 });
    expect(first.total).toBe(6);
    expect([first.rows.length, second.rows.length]).toEqual([4, 2]);
    const streamed: AuditRow[] = [];
    for await (const row of audit.auditRows(pool, { action: "f" }, { batchSize: 2 })) streamed.push(row);
    expect(streamed).toEqual([...first.rows, ...second.rows]);
    expect(streamed[1]).toMatchObject({ actor: "Practitioner/d1", role: "dermatologist", origin: "203.0.113.7", outcome: "failure", entity: null, detail: {} });
  });
});

describe("the admin audit API", () => {
  const ADMIN = { practitionerId: "Practitioner/admin1", role: "admin" };
  const deps = (who: typeof ADMIN | Response = ADMIN): AuditHandlerDeps => ({
    authorize: async () => (who instanceof Response ? who.clone() : who),
    db: pool,
    appUrl: () => "https://jak.example.org",
    now: () => new Date("2026-12-02T10:00:00Z"),
  });
  const get = (path: string) => new Request(`https://jak.example.org${path}`, { headers: { "x-forwarded-for": "198.51.100.9" } });

  beforeAll(async () => {
    await audit.recordAudit(pool, entry({ action: "api.patient.view", entity: audit.patientEntity("pt-000001"), detail: { patient: hashId("pt-000001") }, origin: "203.0.113.5" }));
    await audit.recordAudit(pool, entry({ action: "api.report.export", actor: "Practitioner/q1", role: "quality", entity: "Measure/easi-75", detail: { rows: 12, period: { from: "2026-01-01", to: "2026-06-30" } } }));
    await audit.recordAudit(pool, entry({ action: "api.cds.patient-view", actor: "unauthenticated", role: "cds-client", outcome: "refused", detail: { reason: "expired" } }));
  });

  it("answers the session check's 401/403 as is, and 400 naming each bad filter", async () => {
    const forbidden = new Response(JSON.stringify({ error: "forbidden" }), { status: 403 });
    expect((await handlers.handleAdminAuditGet(get("/api/admin/audit"), deps(forbidden))).status).toBe(403);
    expect((await handlers.handleAdminAuditFhirGet(get("/api/admin/audit/fhir"), deps(forbidden))).status).toBe(403);
    const bad = await handlers.handleAdminAuditGet(get("/api/admin/audit?outcome=maybe&size=9999"), deps());
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: { param: string }[] }).problems.map((p) => p.param).sort()).toEqual(["outcome", "size"]);
  });

  it("pages the filtered trail as JSON and audits the read (who, filters, from where)", async () => {
    const response = await handlers.handleAdminAuditGet(get("/api/admin/audit?action=api.&size=2"), deps());
    expect(response.status).toBe(200);
    const body = (await response.json()) as { rows: AuditRow[]; total: number; page: number; pageSize: number; filters: Record<string, string> };
    expect(body).toMatchObject({ total: 3, page: 1, pageSize: 2, filters: { action: "api." } });
    expect(body.rows.map((r) => r.action)).toEqual(["api.cds.patient-view", "api.report.export"]);
    const reads = await audit.readAudit(pool, { action: "audit.read", actor: "Practitioner/admin1" });
    expect(reads.rows[0]).toMatchObject({ role: "admin", outcome: "success", origin: "198.51.100.9", detail: { action: "api.", page: 1, rows: 2, via: "api" } });
  });

  it("exports the filtered trail as a valid FHIR Bundle of AuditEvents without PHI, and audits the export", async () => {
    const response = await handlers.handleAdminAuditFhirGet(get("/api/admin/audit/fhir?action=api.&page=2"), deps());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/fhir\+json/);
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="audit-events-20261202.json"');
    const text = await response.text();
    expect(text).not.toContain("pt-000001");
    const bundle = JSON.parse(text) as Bundle<AuditEvent>;
    expect(() => validateResource(bundle)).not.toThrow();
    expect(bundle.entry?.map((e) => e.resource!.subtype?.at(-1)?.code)).toEqual(["api.cds.patient-view", "api.report.export", "api.patient.view"]);
    for (const e of bundle.entry ?? []) expect(() => validateResource(e.resource!)).not.toThrow();
    expect(bundle.entry?.[2]?.resource).toMatchObject({ agent: [{ network: { address: "203.0.113.5" } }], source: { observer: { identifier: { value: "https://jak.example.org" } } } });
    await expect.poll(async () => (await audit.readAudit(pool, { action: "audit.export" })).rows[0]?.detail).toMatchObject({ action: "api.", format: "fhir", rows: 3 });
  });

  it("exports an empty trail as a valid Bundle without entries", async () => {
    const response = await handlers.handleAdminAuditFhirGet(get("/api/admin/audit/fhir?action=nothing.matches"), deps());
    const bundle = JSON.parse(await response.text()) as Bundle;
    expect(bundle.entry).toBeUndefined();
    expect(() => validateResource(bundle)).not.toThrow();
  });
});
