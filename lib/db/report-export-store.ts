/**
 * Background report exports (report_exports, report_export_chunks) and the export audit trail (audit_events with
 * action "report.export"). A file is written and read in chunks of about 1 MiB, so neither side holds it whole;
 * the chunks live in PostgreSQL so any app instance can serve a file any worker wrote.
 */
import { Writable } from "node:stream";
import type pg from "pg";
import { recordAudit } from "../audit/audit";

export const EXPORT_AUDIT_ACTION = "report.export";
/** The actor of a session without a practitioner (no fhirUser): it owns no background export. */
export const UNKNOWN_ACTOR = "unknown";
const CHUNK_BYTES = 1024 * 1024;

export type ExportStatus = "queued" | "running" | "done" | "failed";

export interface ReportExportRow {
  id: string;
  createdAt: string;
  actor: string;
  role: string;
  measureId: string;
  format: string;
  request: unknown;
  status: ExportStatus;
  rowsTotal: number | null;
  rowsWritten: number;
  bytes: number;
  fileName: string | null;
  contentType: string | null;
  error: string | null;
  completedAt: string | null;
}

interface ExportRecord {
  id: string;
  created_at: Date;
  actor: string;
  role: string;
  measure_id: string;
  format: string;
  request: unknown;
  status: ExportStatus;
  rows_total: number | null;
  rows_written: number;
  bytes: string;
  file_name: string | null;
  content_type: string | null;
  error: string | null;
  completed_at: Date | null;
}

function exportRow(r: ExportRecord): ReportExportRow {
  return {
    id: String(r.id),
    createdAt: r.created_at.toISOString(),
    actor: r.actor,
    role: r.role,
    measureId: r.measure_id,
    format: r.format,
    request: r.request,
    status: r.status,
    rowsTotal: r.rows_total,
    rowsWritten: r.rows_written,
    bytes: Number(r.bytes),
    fileName: r.file_name,
    contentType: r.content_type,
    error: r.error,
    completedAt: r.completed_at ? r.completed_at.toISOString() : null,
  };
}

export async function createExport(
  pool: pg.Pool,
  input: { actor: string; role: string; measureId: string; format: string; request: unknown; rowsTotal: number; fileName: string; contentType: string },
): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO report_exports (actor, role, measure_id, format, request, rows_total, file_name, content_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [input.actor, input.role, input.measureId, input.format, JSON.stringify(input.request), input.rowsTotal, input.fileName, input.contentType],
  );
  return String(rows[0]!.id);
}

export async function readExport(pool: pg.Pool, id: string): Promise<ReportExportRow | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await pool.query<ExportRecord>("SELECT * FROM report_exports WHERE id = $1", [id]);
  return rows[0] ? exportRow(rows[0]) : null;
}

export async function listExports(pool: pg.Pool, actor: string, limit = 20): Promise<ReportExportRow[]> {
  const { rows } = await pool.query<ExportRecord>("SELECT * FROM report_exports WHERE actor = $1 ORDER BY created_at DESC, id DESC LIMIT $2", [actor, limit]);
  return rows.map(exportRow);
}

/** Starts (or restarts, after a worker died) writing an export: earlier chunks are dropped. */
export async function beginExport(pool: pg.Pool, id: string): Promise<void> {
  await pool.query("DELETE FROM report_export_chunks WHERE export_id = $1", [id]);
  await pool.query("UPDATE report_exports SET status = 'running', rows_written = 0, bytes = 0, error = NULL, completed_at = NULL WHERE id = $1", [id]);
}

export async function updateExportProgress(pool: pg.Pool, id: string, rowsWritten: number): Promise<void> {
  await pool.query("UPDATE report_exports SET rows_written = $2 WHERE id = $1", [id, rowsWritten]);
}

export async function finishExport(pool: pg.Pool, id: string, result: { rowsWritten: number; bytes: number }): Promise<void> {
  await pool.query("UPDATE report_exports SET status = 'done', rows_written = $2, bytes = $3, completed_at = now() WHERE id = $1", [id, result.rowsWritten, result.bytes]);
}

export async function failExport(pool: pg.Pool, id: string, error: string): Promise<void> {
  await pool.query("DELETE FROM report_export_chunks WHERE export_id = $1", [id]);
  await pool.query("UPDATE report_exports SET status = 'failed', error = $2, completed_at = now() WHERE id = $1", [id, error.slice(0, 500)]);
}

/** A Writable that stores what is written as the export's chunks, in order; `bytes()` tells the size so far. */
export function exportChunkWriter(pool: pg.Pool, id: string): Writable & { bytes(): number } {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let chunkNo = 0;
  let total = 0;
  const flush = async () => {
    if (bufferedBytes === 0) return;
    const data = Buffer.concat(buffered, bufferedBytes);
    buffered = [];
    bufferedBytes = 0;
    await pool.query("INSERT INTO report_export_chunks (export_id, chunk_no, data) VALUES ($1, $2, $3)", [id, chunkNo++, data]);
  };
  const writer = new Writable({
    write(chunk: Buffer | string, encoding, callback) {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
      buffered.push(buffer);
      bufferedBytes += buffer.length;
      total += buffer.length;
      if (bufferedBytes < CHUNK_BYTES) return callback();
      flush().then(() => callback(), callback);
    },
    final(callback) {
      flush().then(() => callback(), callback);
    },
  });
  return Object.assign(writer, { bytes: () => total });
}

/** The export's file, chunk by chunk (one chunk in memory at a time). */
export async function* exportChunks(pool: pg.Pool, id: string): AsyncGenerator<Buffer, void, undefined> {
  for (let chunkNo = 0; ; chunkNo++) {
    const { rows } = await pool.query<{ data: Buffer }>("SELECT data FROM report_export_chunks WHERE export_id = $1 AND chunk_no = $2", [id, chunkNo]);
    if (!rows[0]) return;
    yield rows[0].data;
  }
}

/** What an export audit entry records: who, role, report, filters, format, rows, when. No PHI. */
export interface ExportAuditDetail {
  measureId: string;
  format: string;
  period: { from: string; to: string };
  filters: Record<string, string>;
  shared: boolean;
  bom?: boolean;
  outcome?: string;
  rows: number;
  mode: "direct" | "background";
  exportId?: string;
  error?: string;
}

/** One export's audit row (lib/audit's writer and PHI guard); throws when it cannot be written. */
export async function auditExport(pool: pg.Pool, entry: { actor: string; role: string; outcome: "success" | "failure" | "refused"; detail: ExportAuditDetail; origin?: string | null }): Promise<void> {
  await recordAudit(pool, {
    actor: entry.actor,
    role: entry.role,
    action: EXPORT_AUDIT_ACTION,
    entity: `Measure/${entry.detail.measureId}`,
    outcome: entry.outcome,
    detail: { ...entry.detail },
    origin: entry.origin ?? null,
  });
}

export interface ExportAuditEntry {
  id: string;
  at: string;
  actor: string;
  role: string | null;
  outcome: string;
  detail: ExportAuditDetail;
}

export async function readExportAudit(pool: pg.Pool, options: { page: number; pageSize: number }): Promise<{ rows: ExportAuditEntry[]; total: number; page: number; pageSize: number }> {
  const page = Math.max(1, Math.floor(options.page));
  const pageSize = Math.min(200, Math.max(1, Math.floor(options.pageSize)));
  // The page and the total in one statement: one snapshot, so a new entry is either in both or in neither.
  const rows = await pool.query<{ total: string; id: string | null; at: Date; actor: string; role: string | null; outcome: string; detail: ExportAuditDetail }>(
    `SELECT t.total, a.id, a.at, a.actor, a.role, a.outcome, a.detail
       FROM (SELECT count(*) AS total FROM audit_events WHERE action = $1) t
       LEFT JOIN LATERAL (SELECT id, at, actor, role, outcome, detail FROM audit_events WHERE action = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3) a ON TRUE
      ORDER BY a.at DESC, a.id DESC`,
    [EXPORT_AUDIT_ACTION, pageSize, (page - 1) * pageSize],
  );
  const entries = rows.rows.filter((r) => r.id !== null);
  return {
    rows: entries.map((r) => ({ id: String(r.id), at: r.at.toISOString(), actor: r.actor, role: r.role, outcome: r.outcome, detail: r.detail })),
    total: Number(rows.rows[0]?.total ?? 0),
    page,
    pageSize,
  };
}

/** The roles administrators have assigned in the app to this practitioner ("Practitioner/<id>"), at any issuer. */
export async function assignedRolesOf(pool: pg.Pool, practitioner: string): Promise<string[]> {
  const { rows } = await pool.query<{ role: string }>("SELECT role FROM role_assignments WHERE practitioner = $1", [practitioner]);
  return rows.map((r) => r.role);
}
