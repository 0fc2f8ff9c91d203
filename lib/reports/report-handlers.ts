/**
 * The quality reports' API routes, framework-free: each handler checks the origin of requests that change or
 * export something, then the role (through `authorize`, built from the session by the route), validates its input
 * (lib/reports/report-requests.ts) and delegates to the report queries and the export service, which the route
 * injects as `backend` (so these handlers are unit-tested with fakes). Route files only wire the real ones in.
 */
import { eventLogger } from "../app/log";
import { auditOrigin } from "../audit/audit";
import type { IsoDate } from "../clinical/types";
import { UNKNOWN_ACTOR, type ExportAuditEntry, type ReportExportRow } from "../db/report-export-store";
import type { FilterProblem } from "../panel/filters";
import { crossSiteRefusal, jsonResponse, queryObject } from "../panel/panel-requests";
import type { AppRole } from "../smart/roles";
import type { ExportActor, ExportInput } from "./export-service";
import type { ExportFormat } from "./export/report-export";
import { MEASURES, measureDefinition, type MeasureDefinition, type MeasureId } from "./measures";
import type { CaseOutcomeFilter, ReportCasePage, ReportDataNoteRow, ReportRequest, ReportSummary } from "./report-queries";
import {
  AUDIT_ROLES,
  canOpenPatient,
  directExportUrl,
  exportIdSchema,
  parseAuditQuery,
  parseCaseListQuery,
  parseExportBody,
  parseExportQuery,
  parseMeasureId,
  parseReportFilters,
  REPORT_ROLES,
  reportRequestFor,
  type Parsed,
} from "./report-requests";

const log = eventLogger("reports");

// ---------- response bodies (the browser imports these types) ----------

export interface ReportErrorBody {
  error: string;
  message: string;
  /** For bad-request: each rejected parameter and why. */
  problems?: FilterProblem[];
  relaunch?: string;
}

export interface ReportFilterChoices {
  sources: Array<{ id: string; name: string }>;
  prescribers: string[];
}

/** GET /api/reports */
export interface ReportCatalogueResponse {
  measures: Array<{ definition: MeasureDefinition; cases: number }>;
  filters: ReportFilterChoices;
}

/** GET /api/reports/[measureId] */
export interface ReportResponse {
  definition: MeasureDefinition;
  summary: ReportSummary;
}

/** GET /api/reports/[measureId]/patients */
export type ReportCasesResponse = ReportCasePage & { canOpenPatient: boolean };

/** GET /api/reports/[measureId]/notes */
export interface ReportNotesResponse {
  notes: ReportDataNoteRow[];
  /** At most this many are listed (the summary's dataNotes says how many there are). */
  limit: number;
}

/** POST /api/reports/[measureId]/exports */
export type ExportPlanResponse = { mode: "direct"; url: string; rows: number } | { mode: "background"; exportId: string; rows: number };

/** A background export as its owner sees it (the stored request reduced to what the page shows). */
export interface ReportExportView {
  id: string;
  createdAt: string;
  measureId: string;
  format: string;
  status: ReportExportRow["status"];
  rowsTotal: number | null;
  rowsWritten: number;
  bytes: number;
  fileName: string | null;
  error: string | null;
  completedAt: string | null;
  period: { from: string; to: string } | null;
  shared: boolean;
  /** GET this when status is "done". */
  downloadUrl: string;
}

/** GET /api/reports/exports */
export interface ReportExportsResponse {
  exports: ReportExportView[];
}

/** GET /api/reports/audit */
export interface ExportAuditPage {
  rows: ExportAuditEntry[];
  total: number;
  page: number;
  pageSize: number;
}

// ---------- dependencies ----------

export interface ReportActor {
  practitionerId: string | null;
  role: AppRole;
}

/** The report queries and the export service, bound to the database (app/api/reports/report-route-deps.ts). */
export interface ReportBackend {
  summary(request: ReportRequest): Promise<ReportSummary>;
  casePage(request: ReportRequest, options: { page: number; pageSize: number; outcome: CaseOutcomeFilter }): Promise<ReportCasePage>;
  dataNotes(request: Pick<ReportRequest, "measureId" | "filters">, limit: number): Promise<ReportDataNoteRow[]>;
  filterChoices(): Promise<ReportFilterChoices>;
  catalogueCounts(): Promise<Record<MeasureId, number>>;
  planExport(input: ExportInput): Promise<{ mode: "direct" | "background"; rows: number }>;
  streamExport(input: ExportInput, actor: ExportActor, ctx: { baseUrl: string; reporter?: string }): { body: ReadableStream<Uint8Array>; fileName: string; contentType: string };
  createBackgroundExport(input: ExportInput, actor: ExportActor, rows: number, ctx: { baseUrl: string }): Promise<string>;
  failExport(exportId: string, message: string): Promise<void>;
  exportState(exportId: string, actor: ExportActor): Promise<ReportExportRow | null>;
  exportDownload(exportId: string, actor: ExportActor): Promise<{ body: ReadableStream<Uint8Array>; fileName: string; contentType: string; bytes: number } | null>;
  listExports(actor: string, limit: number): Promise<ReportExportRow[]>;
  exportAudit(options: { page: number; pageSize: number }): Promise<ExportAuditPage>;
}

export interface ReportHandlerDeps {
  /** The session's role check: the actor, or the 401/403 response to return. */
  authorize(request: Request, roles: readonly AppRole[]): Promise<ReportActor | Response>;
  /** The app's own origin for this request (APP_BASE_URL, else the Host the browser used). */
  appOrigin(request: Request): string;
  /** The clinic's today (the default period ends on it). */
  today(): IsoDate;
  backend: ReportBackend;
  /** lib/jobs/queue.ts requestReportExport. */
  queue: { requestReportExport(exportId: string): Promise<void> };
}

/** How many recent exports "Your recent exports" lists, and how many data notes a report lists. */
export const RECENT_EXPORTS = 20;
export const NOTES_LIMIT = 200;

// ---------- helpers ----------

function reportError(status: number, error: string, message: string, problems?: FilterProblem[]): Response {
  return jsonResponse(status, { error, message, ...(problems ? { problems } : {}) } satisfies ReportErrorBody);
}

function badRequest(problems: FilterProblem[]): Response {
  return reportError(400, "bad-request", problems.map((p) => p.reason).join("; "), problems);
}

/** The export service's actor: who (the practitioner, "unknown" without one), their role and, for the audit, from where. */
function exportActor(actor: ReportActor, request?: Request): ExportActor {
  const origin = request ? auditOrigin(request) : null;
  return { actor: actor.practitionerId ?? UNKNOWN_ACTOR, role: actor.role, ...(origin ? { origin } : {}) };
}

/** A measure id from the path: the id, or 404. */
function measureOr404(raw: string): MeasureId | Response {
  const parsed = parseMeasureId(raw);
  return parsed.ok ? parsed.value : reportError(404, "not-found", `There is no report "${raw.slice(0, 60)}". The catalogue (/reports) lists them.`);
}

/**
 * The checks every report route starts with: same origin when asked, the role, then a known measure. The actor
 * and the measure, or the 403/401/404 to return.
 */
async function authorizedMeasure(
  request: Request, measureIdRaw: string, deps: ReportHandlerDeps, options: { sameOriginOnly?: boolean } = {},
): Promise<{ actor: ReportActor; measureId: MeasureId } | Response> {
  const refused = options.sameOriginOnly ? crossSiteRefusal(request, deps.appOrigin(request)) : null;
  const actor = refused ?? (await deps.authorize(request, REPORT_ROLES));
  if (actor instanceof Response) return actor;
  const measureId = measureOr404(measureIdRaw);
  return measureId instanceof Response ? measureId : { actor, measureId };
}

/** The report request in a GET's query (period defaults from today), or the 400. */
function requestFromQuery(request: Request, measureId: MeasureId, deps: ReportHandlerDeps): Parsed<ReportRequest> {
  const filters = parseReportFilters(new URL(request.url).searchParams);
  if (!filters.ok) return filters;
  return reportRequestFor(measureId, filters.value, deps.today());
}

/** A file download: attachment, never cached, never sniffed. */
function fileResponse(file: { body: ReadableStream<Uint8Array>; fileName: string; contentType: string; bytes?: number }): Response {
  const ascii = file.fileName.replace(/[^A-Za-z0-9._-]/g, "_");
  const headers: Record<string, string> = {
    "content-type": file.contentType,
    "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
  if (file.bytes !== undefined) headers["content-length"] = String(file.bytes);
  return new Response(file.body, { status: 200, headers });
}

function storedRequest(row: ReportExportRow): { period: { from: string; to: string } | null; shared: boolean } {
  const stored = row.request as { request?: { period?: { from?: unknown; to?: unknown } }; options?: { shared?: unknown } } | null;
  const period = stored?.request?.period;
  return {
    period: typeof period?.from === "string" && typeof period.to === "string" ? { from: period.from, to: period.to } : null,
    shared: stored?.options?.shared === true,
  };
}

export function exportView(row: ReportExportRow): ReportExportView {
  return {
    id: row.id,
    createdAt: row.createdAt,
    measureId: row.measureId,
    format: row.format,
    status: row.status,
    rowsTotal: row.rowsTotal,
    rowsWritten: row.rowsWritten,
    bytes: row.bytes,
    fileName: row.fileName,
    error: row.error,
    completedAt: row.completedAt,
    ...storedRequest(row),
    downloadUrl: `/api/reports/exports/${row.id}/file`,
  };
}

/** The catalogue: every measure in order with its cases on record, and the filters' choices. */
export function catalogueResponse(counts: Record<MeasureId, number>, filters: ReportFilterChoices): ReportCatalogueResponse {
  return { measures: MEASURES.map((definition) => ({ definition, cases: counts[definition.id] ?? 0 })), filters };
}

function exportFormatName(format: ExportFormat): string {
  return { csv: "CSV", xlsx: "XLSX", pdf: "PDF", fhir: "FHIR MeasureReport" }[format];
}

// ---------- handlers ----------

async function handleCatalogueGetUnguarded(request: Request, deps: ReportHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request, REPORT_ROLES);
  if (actor instanceof Response) return actor;
  const [counts, filters] = await Promise.all([deps.backend.catalogueCounts(), deps.backend.filterChoices()]);
  return jsonResponse(200, catalogueResponse(counts, filters));
}

async function handleReportGetUnguarded(request: Request, measureIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  const gate = await authorizedMeasure(request, measureIdRaw, deps);
  if (gate instanceof Response) return gate;
  const { measureId } = gate;
  const report = requestFromQuery(request, measureId, deps);
  if (!report.ok) return badRequest(report.problems);
  const summary = await deps.backend.summary(report.value);
  return jsonResponse(200, { definition: measureDefinition(measureId), summary } satisfies ReportResponse);
}

async function handleCasesGetUnguarded(request: Request, measureIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  const gate = await authorizedMeasure(request, measureIdRaw, deps);
  if (gate instanceof Response) return gate;
  const { actor, measureId } = gate;
  const report = requestFromQuery(request, measureId, deps);
  const list = parseCaseListQuery(new URL(request.url).searchParams);
  const problems = [...(report.ok ? [] : report.problems), ...(list.ok ? [] : list.problems)];
  if (!report.ok || !list.ok) return badRequest(problems);
  const page = await deps.backend.casePage(report.value, { page: list.value.page, pageSize: list.value.size, outcome: list.value.outcome });
  return jsonResponse(200, { ...page, canOpenPatient: canOpenPatient(actor.role) } satisfies ReportCasesResponse);
}

async function handleNotesGetUnguarded(request: Request, measureIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  const gate = await authorizedMeasure(request, measureIdRaw, deps);
  if (gate instanceof Response) return gate;
  const { measureId } = gate;
  const report = requestFromQuery(request, measureId, deps);
  if (!report.ok) return badRequest(report.problems);
  const notes = await deps.backend.dataNotes({ measureId, filters: report.value.filters }, NOTES_LIMIT);
  return jsonResponse(200, { notes, limit: NOTES_LIMIT } satisfies ReportNotesResponse);
}

/** Reads the JSON body: the value, or the 415/400 response to return. */
async function jsonBody(request: Request): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? "")) {
    return { ok: false, response: reportError(415, "unsupported-media-type", "Send the request body as application/json.") };
  }
  try {
    const text = await request.text();
    return { ok: true, value: text.trim() === "" ? {} : JSON.parse(text) };
  } catch {
    return { ok: false, response: reportError(400, "bad-request", "The request body is not valid JSON.") };
  }
}

/**
 * Plans an export: a small one is streamed by GET from the URL this answers with; one above the size threshold
 * is recorded and queued as a job (202), its progress at /api/reports/exports/[id].
 */
async function handleExportPostUnguarded(request: Request, measureIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  // An export is audited: another site must not be able to start one.
  const gate = await authorizedMeasure(request, measureIdRaw, deps, { sameOriginOnly: true });
  if (gate instanceof Response) return gate;
  const { actor, measureId } = gate;
  const body = await jsonBody(request);
  if (!body.ok) return body.response;
  const parsed = parseExportBody(measureId, body.value, deps.today());
  if (!parsed.ok) return badRequest(parsed.problems);
  const input: ExportInput = parsed.value;
  const plan = await deps.backend.planExport(input);
  if (plan.mode === "direct") return jsonResponse(200, { mode: "direct", url: directExportUrl(input.request, input.options), rows: plan.rows } satisfies ExportPlanResponse);
  // A background export belongs to the practitioner who asked: without one, nobody could safely be given it.
  if (!actor.practitionerId) {
    return reportError(403, "no-practitioner", "A background export needs to know who you are, and this launch did not say (no fhirUser). Narrow the filters for a direct export, or launch again from the EHR.");
  }
  const exportId = await deps.backend.createBackgroundExport(input, exportActor(actor, request), plan.rows, { baseUrl: deps.appOrigin(request) });
  try {
    await deps.queue.requestReportExport(exportId);
  } catch {
    await deps.backend.failExport(exportId, "The job queue did not take the export.").catch(() => undefined);
    return reportError(503, "queue-unavailable", "The export could not be queued (the job queue did not answer). Try again in a minute; if it persists, check the database and the worker.");
  }
  return jsonResponse(202, { mode: "background", exportId, rows: plan.rows } satisfies ExportPlanResponse);
}

/**
 * Streams a direct export (audited by the export service once written). Refused when the export is above the
 * background threshold, so a huge file is never built inside a request. Cross-site requests are refused too:
 * an export is audited, so another site must not be able to start one.
 */
async function handleExportGetUnguarded(request: Request, measureIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  // An export is audited: another site must not be able to start one.
  const gate = await authorizedMeasure(request, measureIdRaw, deps, { sameOriginOnly: true });
  if (gate instanceof Response) return gate;
  const { actor, measureId } = gate;
  const report = requestFromQuery(request, measureId, deps);
  const options = parseExportQuery(new URL(request.url).searchParams);
  if (!report.ok || !options.ok) return badRequest([...(report.ok ? [] : report.problems), ...(options.ok ? [] : options.problems)]);
  const input: ExportInput = { request: report.value, options: options.value };
  const plan = await deps.backend.planExport(input);
  if (plan.mode === "background") {
    return reportError(
      409,
      "export-too-large",
      `This ${exportFormatName(options.value.format)} export holds ${plan.rows.toLocaleString("en-US")} rows: too many to stream in one request. Start it from the report page (it runs in the background and is downloadable when ready).`,
    );
  }
  const ctx: { baseUrl: string; reporter?: string } = { baseUrl: deps.appOrigin(request) };
  if (actor.practitionerId) ctx.reporter = actor.practitionerId;
  return fileResponse(deps.backend.streamExport(input, exportActor(actor, request), ctx));
}

async function handleExportsListGetUnguarded(request: Request, deps: ReportHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request, REPORT_ROLES);
  if (actor instanceof Response) return actor;
  const rows = await deps.backend.listExports(exportActor(actor).actor, RECENT_EXPORTS);
  return jsonResponse(200, { exports: rows.map(exportView) } satisfies ReportExportsResponse);
}

const NO_SUCH_EXPORT = "There is no such export of yours (it may have been cleaned up).";

async function handleExportStateGetUnguarded(request: Request, exportIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request, REPORT_ROLES);
  if (actor instanceof Response) return actor;
  const id = exportIdSchema.safeParse(exportIdRaw);
  if (!id.success) return reportError(404, "not-found", NO_SUCH_EXPORT);
  const row = await deps.backend.exportState(id.data, exportActor(actor));
  return row ? jsonResponse(200, exportView(row)) : reportError(404, "not-found", NO_SUCH_EXPORT);
}

async function handleExportFileGetUnguarded(request: Request, exportIdRaw: string, deps: ReportHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request, REPORT_ROLES);
  if (actor instanceof Response) return actor;
  const id = exportIdSchema.safeParse(exportIdRaw);
  if (!id.success) return reportError(404, "not-found", NO_SUCH_EXPORT);
  const file = await deps.backend.exportDownload(id.data, exportActor(actor));
  return file ? fileResponse(file) : reportError(404, "not-found", "This export is not ready, has failed, or is not yours.");
}

async function handleAuditGetUnguarded(request: Request, deps: ReportHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request, AUDIT_ROLES);
  if (actor instanceof Response) return actor;
  const query = parseAuditQuery(queryObject(request));
  if (!query.ok) return badRequest(query.problems);
  return jsonResponse(200, await deps.backend.exportAudit({ page: query.value.page, pageSize: query.value.size }));
}

/**
 * An unexpected failure (database unreachable, a bug) becomes a JSON 503 the page can show, never an HTML 500;
 * the log line names the error class and SQLSTATE only (no PHI, no SQL parameters).
 */
function guarded<A extends unknown[]>(name: string, handler: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null;
      log(`${name}-failed`, { error: error instanceof Error ? error.name : "unknown", sqlstate: code });
      return reportError(503, "unavailable", "The report could not be read just now (is the database reachable? GET /api/health). Try again in a moment.");
    }
  };
}

export const handleCatalogueGet = guarded("catalogue", handleCatalogueGetUnguarded);
export const handleReportGet = guarded("report", handleReportGetUnguarded);
export const handleCasesGet = guarded("patients", handleCasesGetUnguarded);
export const handleNotesGet = guarded("notes", handleNotesGetUnguarded);
export const handleExportPost = guarded("export-plan", handleExportPostUnguarded);
export const handleExportGet = guarded("export", handleExportGetUnguarded);
export const handleExportsListGet = guarded("exports", handleExportsListGetUnguarded);
export const handleExportStateGet = guarded("export-state", handleExportStateGetUnguarded);
export const handleExportFileGet = guarded("export-file", handleExportFileGetUnguarded);
export const handleAuditGet = guarded("audit", handleAuditGetUnguarded);
