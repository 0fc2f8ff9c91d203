import { describe, expect, it } from "vitest";
import { captureLogs } from "../app/log";
import type { ReportExportRow } from "../db/report-export-store";
import type { AppRole } from "../smart/roles";
import type { ExportActor, ExportInput } from "./export-service";
import { MEASURE_IDS, type MeasureId } from "./measures";
import {
  handleAuditGet,
  handleCasesGet,
  handleCatalogueGet,
  handleExportFileGet,
  handleExportGet,
  handleExportPost,
  handleExportStateGet,
  handleExportsListGet,
  handleNotesGet,
  handleReportGet,
  type ReportActor,
  type ReportBackend,
  type ReportHandlerDeps,
} from "./report-handlers";
import type { ReportRequest, ReportSummary } from "./report-queries";

const APP = "http://127.0.0.1:3000";
const TODAY = "2026-11-15";
const QUALITY: ReportActor = { practitionerId: "Practitioner/q-1", role: "quality" };
const LEAD: ReportActor = { practitionerId: "Practitioner/lead-1", role: "clinic-lead" };

function summaryFor(request: ReportRequest): ReportSummary {
  return {
    measureId: request.measureId,
    reportsVersion: "test",
    period: request.period,
    filters: request.filters,
    initialPopulation: 10,
    denominator: 8,
    numerator: 6,
    exclusions: [],
    rate: 0.75,
    strata: [],
    trend: [],
    dataNotes: 0,
    evaluations: { patients: 5, asOfFrom: TODAY, asOfTo: TODAY, rulesVersions: ["r1"], evaluatedAt: null },
  };
}

function exportRow(id: string, actor: string, status: ReportExportRow["status"]): ReportExportRow {
  return {
    id,
    createdAt: "2026-11-15T09:00:00.000Z",
    actor,
    role: "quality",
    measureId: "follow-up-labs",
    format: "csv",
    request: { request: { period: { from: "2026-01-01", to: "2026-06-30" } }, options: { shared: true }, baseUrl: APP },
    status,
    rowsTotal: 20_000,
    rowsWritten: 5_000,
    bytes: 0,
    fileName: "follow-up-labs_2026-01-01_2026-06-30_shared.csv",
    contentType: "text/csv; charset=utf-8",
    error: null,
    completedAt: null,
  };
}

/** A backend that records what it was asked; `mode` decides whether exports are planned direct or background. */
function fakeBackend(options: { mode?: "direct" | "background"; rows?: number; exports?: ReportExportRow[] } = {}) {
  const calls: Array<{ what: string; args: unknown[] }> = [];
  const record = (what: string, ...args: unknown[]) => calls.push({ what, args });
  const file = (text: string) => new Response(text).body!;
  const backend: ReportBackend = {
    summary: async (request) => (record("summary", request), summaryFor(request)),
    casePage: async (request, o) => (record("casePage", request, o), { rows: [], total: 0, page: o.page, pageSize: o.pageSize }),
    dataNotes: async (request, limit) => (record("dataNotes", request, limit), [{ source: "main", patientId: "p1", resource: null, issue: "no start date" }]),
    filterChoices: async () => (record("filterChoices"), { sources: [{ id: "main", name: "Main EHR" }], prescribers: ["Dr A"] }),
    catalogueCounts: async () => (record("catalogueCounts"), Object.fromEntries(MEASURE_IDS.map((id, i) => [id, i * 10])) as Record<MeasureId, number>),
    planExport: async (input) => (record("planExport", input), { mode: options.mode ?? "direct", rows: options.rows ?? 12 }),
    streamExport: (input, actor, ctx) => (record("streamExport", input, actor, ctx), { body: file("a,b\r\n"), fileName: "baseline-screening_2025-11-16_2026-11-15.csv", contentType: "text/csv; charset=utf-8" }),
    createBackgroundExport: async (input, actor, rows, ctx) => (record("createBackgroundExport", input, actor, rows, ctx), "41"),
    failExport: async (id, message) => void record("failExport", id, message),
    exportState: async (id, actor: ExportActor) => (record("exportState", id, actor), (options.exports ?? []).find((r) => r.id === id && r.actor === actor.actor) ?? null),
    exportDownload: async (id, actor) => {
      record("exportDownload", id, actor);
      const row = (options.exports ?? []).find((r) => r.id === id && r.actor === actor.actor && r.status === "done");
      return row ? { body: file("x"), fileName: row.fileName!, contentType: row.contentType!, bytes: 1 } : null;
    },
    listExports: async (actor, limit) => (record("listExports", actor, limit), (options.exports ?? []).filter((r) => r.actor === actor)),
    exportAudit: async (o) => (record("exportAudit", o), { rows: [], total: 0, page: o.page, pageSize: o.pageSize }),
  };
  return { backend, calls, names: () => calls.map((c) => c.what) };
}

function depsWith(actor: ReportActor | null, backend: ReportBackend, queue: ReportHandlerDeps["queue"] = { requestReportExport: async () => undefined }) {
  const asked: Array<readonly AppRole[]> = [];
  const deps: ReportHandlerDeps = {
    authorize: async (_request, roles) => {
      asked.push(roles);
      if (!actor) return new Response(JSON.stringify({ error: "no-session", message: "Launch again." }), { status: 401 });
      return roles.includes(actor.role) ? actor : new Response(JSON.stringify({ error: "forbidden", message: "Wrong role." }), { status: 403 });
    },
    appOrigin: () => APP,
    today: () => TODAY,
    backend,
    queue,
  };
  return { deps, asked };
}

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`${APP}${path}`, { headers });
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`${APP}${path}`, { method: "POST", headers: { "content-type": "application/json", origin: APP, ...headers }, body: JSON.stringify(body) });
}

const EXPORT_BODY = { from: "2026-01-01", to: "2026-06-30", format: "csv", bom: true };

describe("refusals happen before any report is read", () => {
  it("answers 401 without a session and 403 for a dermatologist, on every endpoint", async () => {
    for (const actor of [null, { practitionerId: "Practitioner/d-1", role: "dermatologist" as const }]) {
      const { backend, calls } = fakeBackend();
      const { deps } = depsWith(actor, backend);
      const expected = actor ? 403 : 401;
      const responses = await Promise.all([
        handleCatalogueGet(get("/api/reports"), deps),
        handleReportGet(get("/api/reports/baseline-screening"), "baseline-screening", deps),
        handleCasesGet(get("/api/reports/baseline-screening/patients"), "baseline-screening", deps),
        handleNotesGet(get("/api/reports/baseline-screening/notes"), "baseline-screening", deps),
        handleExportPost(post("/api/reports/baseline-screening/exports", EXPORT_BODY), "baseline-screening", deps),
        handleExportGet(get("/api/reports/baseline-screening/export?format=csv"), "baseline-screening", deps),
        handleExportsListGet(get("/api/reports/exports"), deps),
        handleExportStateGet(get("/api/reports/exports/1"), "1", deps),
        handleExportFileGet(get("/api/reports/exports/1/file"), "1", deps),
        handleAuditGet(get("/api/reports/audit"), deps),
      ]);
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => expected));
      expect(calls).toEqual([]);
    }
  });

  it("keeps the audit trail to quality analysts: a clinic lead gets 403", async () => {
    const { backend, calls } = fakeBackend();
    const { deps, asked } = depsWith(LEAD, backend);
    expect((await handleAuditGet(get("/api/reports/audit"), deps)).status).toBe(403);
    expect(asked).toEqual([["quality"]]);
    expect(calls).toEqual([]);
  });

  it("refuses a cross-site export, planned or streamed, without asking for the session", async () => {
    const { backend, calls } = fakeBackend();
    const { deps, asked } = depsWith(QUALITY, backend);
    expect((await handleExportPost(post("/api/reports/baseline-screening/exports", EXPORT_BODY, { origin: "https://evil.example" }), "baseline-screening", deps)).status).toBe(403);
    expect((await handleExportGet(get("/api/reports/baseline-screening/export?format=csv", { "sec-fetch-site": "cross-site" }), "baseline-screening", deps)).status).toBe(403);
    expect(asked).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("answers 404 for an unknown measure and 400 naming each bad parameter", async () => {
    const { backend, calls } = fakeBackend();
    const { deps } = depsWith(QUALITY, backend);
    const unknown = await handleReportGet(get("/api/reports/nope"), "nope", deps);
    expect(unknown.status).toBe(404);
    const bad = await handleCasesGet(get("/api/reports/baseline-screening/patients?from=2026-13-01&drug=x&outcome=met"), "baseline-screening", deps);
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; problems: Array<{ param: string }> };
    expect(body.error).toBe("bad-request");
    expect(body.problems.map((p) => p.param).sort()).toEqual(["drug", "from", "outcome"]);
    expect(bad.headers.get("cache-control")).toBe("no-store");
    expect(calls).toEqual([]);
  });
});

describe("reading reports", () => {
  it("lists the eight measures in order with their cases and the filter choices", async () => {
    const { backend } = fakeBackend();
    const { deps } = depsWith(QUALITY, backend);
    const body = (await (await handleCatalogueGet(get("/api/reports"), deps)).json()) as { measures: Array<{ definition: { id: string; number: number }; cases: number }>; filters: unknown };
    expect(body.measures.map((m) => m.definition.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(body.measures[1]).toMatchObject({ definition: { id: "follow-up-labs" }, cases: 10 });
    expect(body.filters).toEqual({ sources: [{ id: "main", name: "Main EHR" }], prescribers: ["Dr A"] });
  });

  it("computes the report for the default period and the filters given, with the definition beside it", async () => {
    const { backend, calls } = fakeBackend();
    const { deps } = depsWith(LEAD, backend);
    const response = await handleReportGet(get("/api/reports/easi-75-primary?drug=abrocitinib&prescriber=Dr%20A"), "easi-75-primary", deps);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { definition: { id: string; numerator: string }; summary: { period: unknown } };
    expect(body.definition.id).toBe("easi-75-primary");
    expect(body.definition.numerator).toMatch(/75%/);
    expect(calls[0]).toEqual({ what: "summary", args: [{ measureId: "easi-75-primary", period: { from: "2025-11-16", to: "2026-11-15" }, filters: { drug: "abrocitinib", prescriber: "Dr A" } }] });
  });

  it("pages the patient list by outcome and says whether the caller may open a patient", async () => {
    for (const [actor, canOpen] of [[LEAD, true], [QUALITY, false]] as const) {
      const { backend, calls } = fakeBackend();
      const { deps } = depsWith(actor, backend);
      const response = await handleCasesGet(get("/api/reports/zoster-vaccination/patients?from=2026-01-01&to=2026-03-31&outcome=not-met&page=2&size=50"), "zoster-vaccination", deps);
      expect(await response.json()).toEqual({ rows: [], total: 0, page: 2, pageSize: 50, canOpenPatient: canOpen });
      expect(calls[0]?.args[1]).toEqual({ page: 2, pageSize: 50, outcome: "not-met" });
    }
  });

  it("lists the data notes of the source filter, at most 200", async () => {
    const { backend, calls } = fakeBackend();
    const { deps } = depsWith(QUALITY, backend);
    const body = (await (await handleNotesGet(get("/api/reports/symptom-response/notes?source=main"), "symptom-response", deps)).json()) as { notes: unknown[]; limit: number };
    expect(body.notes).toHaveLength(1);
    expect(calls[0]).toEqual({ what: "dataNotes", args: [{ measureId: "symptom-response", filters: { source: "main" } }, 200] });
  });

  it("pages the audit trail for quality analysts", async () => {
    const { backend, calls } = fakeBackend();
    const { deps } = depsWith(QUALITY, backend);
    expect((await handleAuditGet(get("/api/reports/audit?page=3&size=20"), deps)).status).toBe(200);
    expect(calls[0]).toEqual({ what: "exportAudit", args: [{ page: 3, pageSize: 20 }] });
    expect((await handleAuditGet(get("/api/reports/audit?size=5000"), deps)).status).toBe(400);
  });

  it("turns an unexpected failure into a JSON 503 that names no patient", async () => {
    const { backend } = fakeBackend();
    backend.summary = async () => {
      throw Object.assign(new Error("relation report_cases does not exist for patient p-123"), { code: "42P01" });
    };
    const { deps } = depsWith(QUALITY, backend);
    const capture = captureLogs();
    try {
      const response = await handleReportGet(get("/api/reports/baseline-screening"), "baseline-screening", deps);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: "unavailable" });
    } finally {
      capture.restore();
    }
    expect(capture.text()).toContain('"sqlstate":"42P01"');
    expect(capture.text()).not.toContain("p-123");
  });
});

describe("exports", () => {
  it("plans a small export as a direct download URL carrying the same request", async () => {
    const { backend, names } = fakeBackend({ mode: "direct", rows: 12 });
    const { deps } = depsWith(QUALITY, backend);
    const response = await handleExportPost(post("/api/reports/follow-up-labs/exports", { ...EXPORT_BODY, shared: true, outcome: "excluded" }), "follow-up-labs", deps);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { mode: string; url: string; rows: number };
    expect(body).toMatchObject({ mode: "direct", rows: 12 });
    expect(body.url).toBe("/api/reports/follow-up-labs/export?from=2026-01-01&to=2026-06-30&format=csv&bom=1&shared=1&outcome=excluded");
    expect(names()).toEqual(["planExport"]);
  });

  it("records and queues a large export as a background job (202) for the actor", async () => {
    const queued: string[] = [];
    const { backend, calls } = fakeBackend({ mode: "background", rows: 50_000 });
    const { deps } = depsWith(QUALITY, backend, { requestReportExport: async (id) => void queued.push(id) });
    const response = await handleExportPost(post("/api/reports/follow-up-labs/exports", EXPORT_BODY), "follow-up-labs", deps);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ mode: "background", exportId: "41", rows: 50_000 });
    expect(queued).toEqual(["41"]);
    const created = calls.find((c) => c.what === "createBackgroundExport")!;
    expect(created.args.slice(1)).toEqual([{ actor: "Practitioner/q-1", role: "quality" }, 50_000, { baseUrl: APP }]);
  });

  it("refuses a background export to a session that names no practitioner (403), since nobody could own it", async () => {
    const { backend, names } = fakeBackend({ mode: "background", rows: 50_000 });
    const { deps } = depsWith({ practitionerId: null, role: "quality" }, backend);
    const response = await handleExportPost(post("/api/reports/follow-up-labs/exports", EXPORT_BODY), "follow-up-labs", deps);
    expect(response.status).toBe(403);
    expect(names()).toEqual(["planExport"]);
  });

  it("marks a background export failed and answers 503 when the queue does not take it", async () => {
    const { backend, names } = fakeBackend({ mode: "background", rows: 50_000 });
    const { deps } = depsWith(QUALITY, backend, {
      requestReportExport: async () => {
        throw new Error("queue down");
      },
    });
    const response = await handleExportPost(post("/api/reports/follow-up-labs/exports", EXPORT_BODY), "follow-up-labs", deps);
    expect(response.status).toBe(503);
    expect(names()).toEqual(["planExport", "createBackgroundExport", "failExport"]);
  });

  it("refuses a body that is not JSON, has unknown fields or a bad format", async () => {
    const { backend, calls } = fakeBackend();
    const { deps } = depsWith(QUALITY, backend);
    const text = new Request(`${APP}/api/reports/follow-up-labs/exports`, { method: "POST", headers: { origin: APP, "content-type": "text/plain" }, body: "format=csv" });
    expect((await handleExportPost(text, "follow-up-labs", deps)).status).toBe(415);
    expect((await handleExportPost(post("/api/reports/follow-up-labs/exports", { ...EXPORT_BODY, patientIds: ["p1"] }), "follow-up-labs", deps)).status).toBe(400);
    expect((await handleExportPost(post("/api/reports/follow-up-labs/exports", { ...EXPORT_BODY, format: "docx" }), "follow-up-labs", deps)).status).toBe(400);
    expect(calls).toEqual([]);
  });

  it("streams a direct export as an attachment, never cached, for the actor", async () => {
    const { backend, calls } = fakeBackend({ mode: "direct" });
    const { deps } = depsWith(QUALITY, backend);
    const response = await handleExportGet(get("/api/reports/baseline-screening/export?format=csv&bom=1", { "sec-fetch-site": "same-origin" }), "baseline-screening", deps);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="baseline-screening_2025-11-16_2026-11-15.csv"; filename*=UTF-8''baseline-screening_2025-11-16_2026-11-15.csv`);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await response.text()).toBe("a,b\r\n");
    const streamed = calls.find((c) => c.what === "streamExport")!;
    const input = streamed.args[0] as ExportInput;
    expect(input.options).toEqual({ format: "csv", bom: true });
    expect(streamed.args.slice(1)).toEqual([{ actor: "Practitioner/q-1", role: "quality" }, { baseUrl: APP, reporter: "Practitioner/q-1" }]);
  });

  it("refuses to stream an export above the background threshold (409) and one without a format (400)", async () => {
    const { backend, names } = fakeBackend({ mode: "background", rows: 250_000 });
    const { deps } = depsWith(QUALITY, backend);
    const large = await handleExportGet(get("/api/reports/baseline-screening/export?format=xlsx"), "baseline-screening", deps);
    expect(large.status).toBe(409);
    expect(await large.json()).toMatchObject({ error: "export-too-large", message: expect.stringContaining("250,000") });
    expect(names()).toEqual(["planExport"]);
    expect((await handleExportGet(get("/api/reports/baseline-screening/export"), "baseline-screening", deps)).status).toBe(400);
  });

  it("shows a background export and its file to its owner only, 404 to anyone else or before it is done", async () => {
    const exports = [exportRow("7", "Practitioner/q-1", "done"), exportRow("8", "Practitioner/q-1", "running"), exportRow("9", "Practitioner/other", "done")];
    const { backend } = fakeBackend({ exports });
    const { deps } = depsWith(QUALITY, backend);
    const state = await handleExportStateGet(get("/api/reports/exports/8"), "8", deps);
    expect(await state.json()).toMatchObject({ id: "8", status: "running", rowsWritten: 5_000, rowsTotal: 20_000, period: { from: "2026-01-01", to: "2026-06-30" }, shared: true, downloadUrl: "/api/reports/exports/8/file" });
    expect((await handleExportStateGet(get("/api/reports/exports/9"), "9", deps)).status).toBe(404);
    expect((await handleExportStateGet(get("/api/reports/exports/x"), "1 OR 1=1", deps)).status).toBe(404);
    const file = await handleExportFileGet(get("/api/reports/exports/7/file"), "7", deps);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-disposition")).toMatch(/^attachment; filename="follow-up-labs_2026-01-01_2026-06-30_shared\.csv"/);
    expect((await handleExportFileGet(get("/api/reports/exports/8/file"), "8", deps)).status).toBe(404);
    expect((await handleExportFileGet(get("/api/reports/exports/9/file"), "9", deps)).status).toBe(404);
  });

  it("lists the actor's own recent exports without their stored request", async () => {
    const exports = [exportRow("7", "Practitioner/q-1", "done"), exportRow("9", "Practitioner/other", "done")];
    const { backend, calls } = fakeBackend({ exports });
    const { deps } = depsWith(QUALITY, backend);
    const body = (await (await handleExportsListGet(get("/api/reports/exports"), deps)).json()) as { exports: Array<Record<string, unknown>> };
    expect(body.exports.map((e) => e.id)).toEqual(["7"]);
    expect(body.exports[0]).not.toHaveProperty("request");
    expect(calls[0]).toEqual({ what: "listExports", args: ["Practitioner/q-1", 20] });
  });
});
