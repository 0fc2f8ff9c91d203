/**
 * Report exports end to end on a synced cohort: a direct CSV streams the report's header, figures and patient list
 * and is audited; a shared one carries no names or ids and suppresses small counts; a large one runs as a
 * background export into PostgreSQL chunks and downloads the same bytes for its owner only; XLSX, PDF and FHIR
 * exports come out as those formats. Every export leaves exactly one audit entry, without PHI.
 */
import { startSyncedCohort, type SyncedCohort } from "./synced-cohort.test-helper";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExportInput } from "./export-service";
import { DRUG_ORDER, MEASURE_IDS } from "./measures";

const COHORT = { patients: 60, seed: 13, asOf: "2026-11-01" };
const NOW = new Date("2026-11-02T09:30:00.000Z");
const ACTOR = { actor: "pr-quality-1", role: "quality" };

let cohort: SyncedCohort;
let pool: pg.Pool;
let dataDir: string;
let service: typeof import("./export-service");
let store: typeof import("../db/report-export-store");
let queries: typeof import("./report-queries");
let names: string[] = [];
let env: Record<string, string | undefined>;

beforeAll(async () => {
  cohort = await startSyncedCohort(COHORT);
  pool = cohort.pool;
  service = await import("./export-service");
  store = await import("../db/report-export-store");
  queries = await import("./report-queries");
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ejm-export-test-"));
  env = { REPORT_DEIDENTIFICATION_SECRET: "a-test-secret-that-is-at-least-32-bytes-long", REPORT_SUPPRESSION_K: "5", EJM_DATA_DIR: dataDir };
  names = (await pool.query<{ patient_name: string }>("SELECT patient_name FROM evaluations WHERE patient_name IS NOT NULL")).rows.map((r) => r.patient_name);
}, 180_000);

afterAll(async () => {
  await cohort?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function input(format: ExportInput["options"]["format"], extra: Partial<ExportInput["options"]> = {}, measureId: ExportInput["request"]["measureId"] = "follow-up-labs"): ExportInput {
  return { request: { measureId, period: { from: "2020-01-01", to: "2027-12-31" }, filters: {} }, options: { format, ...extra } };
}

async function bytesOf(body: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

async function auditCount(): Promise<number> {
  return (await store.readExportAudit(pool, { page: 1, pageSize: 1 })).total;
}

/** Waits for the direct export's audit entry (written when the stream has finished). */
async function lastAudit(after: number): Promise<import("../db/report-export-store").ExportAuditEntry> {
  for (let i = 0; i < 100; i++) {
    // The page's rows and its total come from one snapshot: a total that counts the entry comes with it.
    const page = await store.readExportAudit(pool, { page: 1, pageSize: 1 });
    if (page.total > after) return page.rows[0]!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("no audit entry written");
}

describe("report exports", () => {
  it("streams a CSV with the header block, the figures and every case, and audits it without PHI", async () => {
    const before = await auditCount();
    const request = input("csv", { bom: true });
    const rows = await queries.reportCaseCount(pool, request.request);
    expect(rows).toBeGreaterThan(20);
    const file = service.streamExport(pool, request, ACTOR, { baseUrl: "http://app.test", now: () => NOW, env });
    expect(file.fileName).toBe("follow-up-labs_2020-01-01_2027-12-31.csv");
    expect(file.contentType).toMatch(/^text\/csv/);
    const text = (await bytesOf(file.body)).toString("utf8");
    expect(text.startsWith("\uFEFF")).toBe(true);
    const summary = await queries.reportSummary(pool, request.request);
    expect(text).toContain("Report,2. Follow-up safety labs on time");
    expect(text).toContain("Period,2020-01-01 to 2027-12-31");
    expect(text).toContain("Generated at,2026-11-02T09:30:00.000Z");
    expect(text).toContain(`numerator ${summary.numerator} of denominator ${summary.denominator}`);
    const lines = text.trimEnd().split("\r\n");
    const headerAt = lines.findIndex((l) => l.startsWith("source,patient_id,patient_name"));
    expect(lines.length - headerAt - 1).toBe(rows);
    const audit = await lastAudit(before);
    expect(audit).toMatchObject({ actor: "pr-quality-1", role: "quality", outcome: "success" });
    expect(audit.detail).toMatchObject({ measureId: "follow-up-labs", format: "csv", rows, shared: false, bom: true, mode: "direct", period: { from: "2020-01-01", to: "2027-12-31" } });
    const auditText = JSON.stringify(audit);
    for (const name of names) expect(auditText).not.toContain(name);
    expect(auditText).not.toMatch(/pt-\d/);
  });

  it("shares a de-identified list, without names, ids or record references, when no count by stratum is hidden", async () => {
    const k3 = { ...env, REPORT_SUPPRESSION_K: "3" };
    // A measure whose counts by stratum are all 0 or at least 3, so nothing is hidden and the list is shared.
    let chosen: ExportInput | null = null;
    for (const measureId of MEASURE_IDS) {
      for (const drug of [undefined, ...DRUG_ORDER]) {
        const candidate = input("csv", { shared: true }, measureId);
        if (drug) candidate.request.filters.drug = drug;
        const summary = await queries.reportSummary(pool, candidate.request);
        const cells = summary.strata.flatMap((s) => [s.numerator, s.denominator - s.numerator, ...s.exclusions.map((e) => e.count)]);
        if (summary.initialPopulation >= 10 && cells.every((n) => n === 0 || n >= 3)) chosen = candidate;
      }
    }
    expect(chosen, "a measure with no small cell in this cohort").not.toBeNull();
    const before = await auditCount();
    const file = service.streamExport(pool, chosen!, ACTOR, { baseUrl: "http://app.test", now: () => NOW, env: k3 });
    expect(file.fileName).toMatch(/_shared\.csv$/);
    const text = (await bytesOf(file.body)).toString("utf8");
    for (const name of names) expect(text).not.toContain(name);
    expect(text).not.toMatch(/pt-\d/);
    expect(text).not.toMatch(/Observation\/|Practitioner/);
    expect(text).toContain("keyed pseudonym");
    const lines = text.trimEnd().split("\r\n");
    const listed = lines.slice(lines.findIndex((l) => l.startsWith("pseudonym,")) + 1);
    expect(listed.length).toBe(await queries.reportCaseCount(pool, chosen!.request));
    for (const line of listed) expect(line).toMatch(/^[A-Z2-7]{16},/);
    expect((await lastAudit(before)).detail).toMatchObject({ shared: true, rows: listed.length });
  });

  it("hides small counts in a shared export and then leaves the case list out, saying why", async () => {
    const before = await auditCount();
    const file = service.streamExport(pool, input("csv", { shared: true }, "abnormal-lab-no-repeat"), ACTOR, { baseUrl: "http://app.test", now: () => NOW, env: { ...env, REPORT_SUPPRESSION_K: "1000" } });
    const text = (await bytesOf(file.body)).toString("utf8");
    expect(text).toContain("Counts from 1 to 999");
    expect(text).toMatch(/<1000/);
    expect(text).toContain("The patient list is left out of this shared export");
    const lines = text.trimEnd().split("\r\n");
    expect(lines[lines.length - 1]).toMatch(/^pseudonym,/);
    const fhir = JSON.parse((await bytesOf(service.streamExport(pool, input("fhir", { shared: true }, "abnormal-lab-no-repeat"), ACTOR, { baseUrl: "http://app.test", now: () => NOW, env: { ...env, REPORT_SUPPRESSION_K: "1000" } }).body)).toString("utf8")) as {
      entry: Array<{ resource: { resourceType: string; type?: string } }>;
    };
    expect(fhir.entry.find((e) => e.resource.resourceType === "MeasureReport")?.resource.type).toBe("summary");
    expect(fhir.entry.some((e) => e.resource.resourceType === "List")).toBe(false);
    expect((await lastAudit(before)).detail).toMatchObject({ shared: true, rows: 0 });
  });

  it("runs a large export in the background and serves the same file to its owner only", async () => {
    const big = { ...env, REPORT_EXPORT_BACKGROUND_ROWS: "10" };
    const request = input("csv");
    const plan = await service.planExport(pool, request, big);
    expect(plan.mode).toBe("background");
    expect(await service.planExport(pool, input("pdf"), big)).toMatchObject({ mode: "direct" });
    const before = await auditCount();
    const id = await service.createBackgroundExport(pool, request, ACTOR, plan.rows, { baseUrl: "http://app.test" });
    expect((await service.exportState(pool, id, ACTOR))?.status).toBe("queued");
    const done = await service.runBackgroundExport(pool, id, { now: () => NOW, env: big });
    expect(done).toMatchObject({ status: "done", rowsWritten: plan.rows, rowsTotal: plan.rows });
    expect(await auditCount()).toBe(before + 1);
    expect((await store.readExportAudit(pool, { page: 1, pageSize: 1 })).rows[0]!.detail).toMatchObject({ mode: "background", exportId: id, rows: plan.rows });
    const beyond = await store.readExportAudit(pool, { page: 1000, pageSize: 50 });
    expect(beyond).toMatchObject({ rows: [], page: 1000, pageSize: 50, total: await auditCount() });

    const download = await service.exportDownload(pool, id, ACTOR);
    const direct = service.streamExport(pool, request, ACTOR, { baseUrl: "http://app.test", now: () => NOW, env });
    const [stored, streamed] = await Promise.all([bytesOf(download!.body), bytesOf(direct.body)]);
    expect(stored.equals(streamed)).toBe(true);
    expect(download!.bytes).toBe(stored.length);
    await lastAudit(before + 1);
    expect(await service.exportDownload(pool, id, { actor: "pr-lead-1", role: "clinic-lead" })).toBeNull();
    expect(await service.exportState(pool, id, { actor: "pr-lead-1", role: "clinic-lead" })).toBeNull();
    // Running it again (a retried job) does not write or audit twice.
    await service.runBackgroundExport(pool, id, { env: big });
    expect(await auditCount()).toBe(before + 2);
  });

  it("refuses a queued export whose requester an administrator has since given a role that may not export", async () => {
    const big = { ...env, REPORT_EXPORT_BACKGROUND_ROWS: "10" };
    const request = input("csv");
    const plan = await service.planExport(pool, request, big);
    const id = await service.createBackgroundExport(pool, request, ACTOR, plan.rows, { baseUrl: "http://app.test" });
    await pool.query("INSERT INTO role_assignments (issuer, practitioner, role, granted_by) VALUES ('http://ehr.test/fhir', $1, 'dermatologist', 'Practitioner/admin-1')", [ACTOR.actor]);
    try {
      const before = await auditCount();
      const result = await service.runBackgroundExport(pool, id, { now: () => NOW, env: big });
      expect(result).toMatchObject({ status: "failed", rowsWritten: 0 });
      expect(result?.error).toMatch(/role was changed/);
      expect(await service.exportDownload(pool, id, ACTOR)).toBeNull();
      expect(await auditCount()).toBe(before + 1);
      const { rows } = await pool.query<{ outcome: string }>("SELECT outcome FROM audit_events ORDER BY id DESC LIMIT 1");
      expect(rows[0]!.outcome).toBe("refused");
    } finally {
      await pool.query("DELETE FROM role_assignments WHERE practitioner = $1", [ACTOR.actor]);
    }
  });

  it("writes XLSX, PDF and FHIR MeasureReport files", async () => {
    const xlsx = await bytesOf(service.streamExport(pool, input("xlsx"), ACTOR, { baseUrl: "http://app.test", now: () => NOW, env }).body);
    expect(xlsx.subarray(0, 2).toString("latin1")).toBe("PK");
    const pdf = await bytesOf(service.streamExport(pool, input("pdf"), ACTOR, { baseUrl: "http://app.test", now: () => NOW, env }).body);
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const fhir = JSON.parse((await bytesOf(service.streamExport(pool, input("fhir", {}, "baseline-screening"), ACTOR, { baseUrl: "http://app.test", now: () => NOW, env }).body)).toString("utf8")) as {
      resourceType: string;
      entry: Array<{ resource: { resourceType: string } }>;
    };
    expect(fhir.resourceType).toBe("Bundle");
    expect(fhir.entry.map((e) => e.resource.resourceType).sort()).toEqual(expect.arrayContaining(["List", "Measure", "MeasureReport"]));
  });
});
