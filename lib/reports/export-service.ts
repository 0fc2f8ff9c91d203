/**
 * Report exports as the route handlers and the worker run them: small ones stream straight to the browser,
 * ones above REPORT_EXPORT_BACKGROUND_ROWS patient-list rows run as a job (the job queue) into report_exports,
 * with progress, and are downloaded when ready. Every export, direct or background, successful or not, writes one
 * audit entry (who, role, report, filters, format, rows, when; no PHI).
 */
import { PassThrough, Readable } from "node:stream";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { z } from "zod";
import { logger } from "../app/log";
import {
  assignedRolesOf,
  auditExport,
  beginExport,
  createExport,
  exportChunks,
  exportChunkWriter,
  failExport,
  finishExport,
  readExport,
  updateExportProgress,
  UNKNOWN_ACTOR,
  type ExportAuditDetail,
  type ReportExportRow,
} from "../db/report-export-store";
import { reportCaseCount, CASE_OUTCOME_FILTERS, type ReportRequest } from "./report-queries";
import { EXPORT_CONTENT_TYPES, EXPORT_FORMATS, exportFileName, writeExport, type ExportContext, type ExportOptions } from "./export/report-export";
import { MIN_SECRET_BYTES } from "./export/deidentify";
import { DEFAULT_SUPPRESSION_K } from "./export/suppression";
import { isMeasureId } from "./measures";
import { REPORT_ROLES } from "./report-requests";

type Env = Record<string, string | undefined>;

export interface ExportActor {
  actor: string;
  role: string;
  /** From where the export was asked (lib/audit auditOrigin), for its audit row; kept with a background export. */
  origin?: string | null;
}

export interface ExportInput {
  request: ReportRequest;
  options: ExportOptions;
}

export const DEFAULT_BACKGROUND_ROWS = 10_000;

/** Patient-list rows above which an export runs as a background job (REPORT_EXPORT_BACKGROUND_ROWS). */
export function backgroundThreshold(env: Env = process.env): number {
  const n = Number(env.REPORT_EXPORT_BACKGROUND_ROWS);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : DEFAULT_BACKGROUND_ROWS;
}

/** The small-cell threshold k for shared exports (REPORT_SUPPRESSION_K, at least 3; default 11). */
export function suppressionK(env: Env = process.env): number {
  const n = Number(env.REPORT_SUPPRESSION_K);
  return Number.isInteger(n) && n >= 3 ? n : DEFAULT_SUPPRESSION_K;
}

const secretHolder = globalThis as unknown as { ejmDeidentificationSecret?: string };

/**
 * The de-identification secret: REPORT_DEIDENTIFICATION_SECRET (32+ bytes), else a development secret generated
 * once into .data/ (git-ignored), with a warning, as for SESSION_SECRET.
 */
export function deidentificationSecret(env: Env = process.env): string {
  if (secretHolder.ejmDeidentificationSecret) return secretHolder.ejmDeidentificationSecret;
  let secret = env.REPORT_DEIDENTIFICATION_SECRET;
  if (secret !== undefined && Buffer.byteLength(secret, "utf8") < MIN_SECRET_BYTES) {
    throw new Error(`REPORT_DEIDENTIFICATION_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (!secret) {
    const dir = env.EJM_DATA_DIR ? path.resolve(env.EJM_DATA_DIR) : path.resolve(process.cwd(), ".data");
    const file = path.join(dir, "report-deidentification-secret");
    if (existsSync(file)) secret = readFileSync(file, "utf8").trim();
    else {
      mkdirSync(dir, { recursive: true });
      secret = randomBytes(32).toString("base64url");
      writeFileSync(file, secret + "\n", { mode: 0o600 });
      logger().warn(
        { component: "reports", event: "deidentification-secret-generated", file },
        "REPORT_DEIDENTIFICATION_SECRET is not set: generated a development secret. Set it (32+ bytes) in production, the same on every instance.",
      );
    }
  }
  secretHolder.ejmDeidentificationSecret = secret;
  return secret;
}

function context(ctx: { baseUrl: string; reporter?: string; now?: () => Date; env?: Env }, shared: boolean): ExportContext {
  const env = ctx.env ?? process.env;
  const out: ExportContext = { generatedAt: (ctx.now ?? (() => new Date()))(), baseUrl: ctx.baseUrl, suppressionK: suppressionK(env) };
  if (ctx.reporter) out.reporter = ctx.reporter;
  if (shared) out.secret = deidentificationSecret(env);
  return out;
}

function auditDetail(input: ExportInput, rows: number, mode: "direct" | "background", extra: Partial<ExportAuditDetail> = {}): ExportAuditDetail {
  const filters: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.request.filters)) if (typeof value === "string") filters[key] = value;
  const detail: ExportAuditDetail = {
    measureId: input.request.measureId,
    format: input.options.format,
    period: { ...input.request.period },
    filters,
    shared: input.options.shared ?? false,
    rows,
    mode,
    ...extra,
  };
  if (input.options.format === "csv") detail.bom = input.options.bom ?? false;
  if (input.options.outcome && input.options.outcome !== "all") detail.outcome = input.options.outcome;
  return detail;
}

/** Direct or background, by the size of the patient list (the PDF lists no patients: always direct). */
export async function planExport(pool: pg.Pool, input: ExportInput, env: Env = process.env): Promise<{ mode: "direct" | "background"; rows: number }> {
  const rows = await reportCaseCount(pool, input.request, input.options.outcome);
  const mode = input.options.format !== "pdf" && rows > backgroundThreshold(env) ? "background" : "direct";
  return { mode, rows };
}

/** A direct export: the file as a web stream, audited when it has been written (or has failed). */
export function streamExport(
  pool: pg.Pool, input: ExportInput, actor: ExportActor, ctx: { baseUrl: string; reporter?: string; now?: () => Date; env?: Env },
): { body: ReadableStream<Uint8Array>; fileName: string; contentType: string } {
  const shared = input.options.shared ?? false;
  const out = new PassThrough();
  const exportCtx = context(ctx, shared);
  writeExport(pool, input.request, input.options, exportCtx, out)
    .then((result) => auditExport(pool, { ...actor, outcome: "success", detail: auditDetail(input, result.rows, "direct") }))
    .catch(async (error: unknown) => {
      out.destroy(error instanceof Error ? error : new Error(String(error)));
      await auditExport(pool, { ...actor, outcome: "failure", detail: auditDetail(input, 0, "direct", { error: errorText(error) }) }).catch(() => undefined);
    });
  return {
    body: Readable.toWeb(out) as ReadableStream<Uint8Array>,
    fileName: exportFileName(input.request, input.options.format, shared),
    contentType: EXPORT_CONTENT_TYPES[input.options.format],
  };
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}

/** Records a background export; the caller queues its job (lib/jobs/queue.ts requestReportExport). */
export async function createBackgroundExport(pool: pg.Pool, input: ExportInput, actor: ExportActor, rows: number, ctx: { baseUrl: string }): Promise<string> {
  if (actor.actor === UNKNOWN_ACTOR) throw new Error("A background export needs a known practitioner.");
  const shared = input.options.shared ?? false;
  return createExport(pool, {
    ...actor,
    measureId: input.request.measureId,
    format: input.options.format,
    request: { ...input, baseUrl: ctx.baseUrl, ...(actor.origin ? { origin: actor.origin } : {}) },
    rowsTotal: rows,
    fileName: exportFileName(input.request, input.options.format, shared),
    contentType: EXPORT_CONTENT_TYPES[input.options.format],
  });
}

const storedInputSchema = z.object({
  baseUrl: z.string(),
  origin: z.string().max(300).optional(),
  request: z.object({
    measureId: z.string().refine(isMeasureId),
    period: z.object({ from: z.string(), to: z.string() }),
    filters: z.object({ source: z.string().optional(), drug: z.string().optional(), route: z.string().optional(), prescriber: z.string().optional() }),
  }),
  options: z.object({
    format: z.enum(EXPORT_FORMATS),
    bom: z.boolean().optional(),
    shared: z.boolean().optional(),
    outcome: z.enum(CASE_OUTCOME_FILTERS as [string, ...string[]]).optional(),
  }),
});

/**
 * Why a queued export may no longer run (null when it may): the requester's role must be one that exports reports,
 * and no role an administrator assigned in the app since (at any issuer, to fail closed) may take that away.
 */
export function backgroundExportRefusal(role: string, assignedRoles: readonly string[]): string | null {
  const allowed = (r: string) => (REPORT_ROLES as readonly string[]).includes(r);
  if (!allowed(role)) return "The role that asked for this export may not export reports.";
  if (assignedRoles.length > 0 && !assignedRoles.some(allowed)) {
    return "The requester's role was changed since this export was asked for; ask for it again with a role that may export reports.";
  }
  return null;
}

/** The worker's side: writes a queued export's file into its chunks, with progress; audited either way. */
export async function runBackgroundExport(pool: pg.Pool, exportId: string, ctx: { now?: () => Date; env?: Env } = {}): Promise<ReportExportRow | null> {
  const row = await readExport(pool, exportId);
  if (!row || row.status === "done" || row.status === "failed") return row;
  const stored = storedInputSchema.safeParse(row.request);
  if (!stored.success) {
    await failExport(pool, exportId, "The stored export request is not valid.");
    return readExport(pool, exportId);
  }
  const { baseUrl, origin, ...rest } = stored.data;
  const input = rest as unknown as ExportInput;
  const actor: ExportActor = { actor: row.actor, role: row.role, origin: origin ?? null };
  // The job checks the role again: it may run long after the request, and an administrator may have changed it since.
  const refusal = backgroundExportRefusal(row.role, await assignedRolesOf(pool, row.actor));
  if (refusal !== null) {
    await failExport(pool, exportId, refusal);
    await auditExport(pool, { ...actor, outcome: "refused", detail: auditDetail(input, 0, "background", { exportId, error: refusal }) });
    return readExport(pool, exportId);
  }
  await beginExport(pool, exportId);
  const writer = exportChunkWriter(pool, exportId);
  let lastProgress = 0;
  let progressWrite: Promise<void> = Promise.resolve();
  const exportCtx = context({ ...ctx, baseUrl, reporter: row.actor }, input.options.shared ?? false);
  exportCtx.onProgress = (rows) => {
    if (rows - lastProgress < 1000) return;
    lastProgress = rows;
    progressWrite = progressWrite.then(() => updateExportProgress(pool, exportId, rows)).catch(() => undefined);
  };
  try {
    const result = await writeExport(pool, input.request, input.options, exportCtx, writer);
    await progressWrite;
    await finishExport(pool, exportId, { rowsWritten: result.rows, bytes: writer.bytes() });
    await auditExport(pool, { ...actor, outcome: "success", detail: auditDetail(input, result.rows, "background", { exportId }) });
  } catch (error) {
    await progressWrite;
    await failExport(pool, exportId, errorText(error));
    await auditExport(pool, { ...actor, outcome: "failure", detail: auditDetail(input, 0, "background", { exportId, error: errorText(error) }) });
  }
  return readExport(pool, exportId);
}

/** A finished background export's file as a web stream (chunk by chunk), for its owner. */
export async function exportDownload(pool: pg.Pool, exportId: string, actor: ExportActor): Promise<{ body: ReadableStream<Uint8Array>; fileName: string; contentType: string; bytes: number } | null> {
  if (actor.actor === UNKNOWN_ACTOR) return null;
  const row = await readExport(pool, exportId);
  if (!row || row.actor !== actor.actor || row.status !== "done") return null;
  return {
    body: Readable.toWeb(Readable.from(exportChunks(pool, exportId))) as ReadableStream<Uint8Array>,
    fileName: row.fileName ?? `export-${exportId}`,
    contentType: row.contentType ?? "application/octet-stream",
    bytes: row.bytes,
  };
}

/** A background export's state for its owner (null for anyone else). */
export async function exportState(pool: pg.Pool, exportId: string, actor: ExportActor): Promise<ReportExportRow | null> {
  if (actor.actor === UNKNOWN_ACTOR) return null;
  const row = await readExport(pool, exportId);
  return row && row.actor === actor.actor ? row : null;
}
