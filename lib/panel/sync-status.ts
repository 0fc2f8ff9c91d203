/**
 * Reads what the sync page shows: the configured sources, the latest runs with their counts, timings, errors and
 * first issues, and the runs still active. Plain SQL on the pg pool; every value is turned into the JSON shape of
 * lib/panel/sync-types.ts here, so the route and the server component return the same thing.
 */
import type pg from "pg";
import {
  isActiveRunStatus,
  type SourceView,
  type SyncIssueView,
  type SyncRunCounts,
  type SyncRunTimings,
  type SyncRunView,
  type SyncStatusResponse,
} from "./sync-types";

/** An active run whose heartbeat is older than this is reported as stalled. */
export const STALLED_AFTER_MS = 2 * 60 * 1000;
/** A queued run no worker has picked up after this long is reported as waiting for a worker. */
export const QUEUED_WAIT_MS = 60 * 1000;

export interface SyncStatusOptions {
  /** One source, or every source when null/undefined. */
  source?: string | null;
  /** How many of the latest runs (default 10). */
  limit?: number;
  /** Issues shown per run (default 5). */
  issuesPerRun?: number;
  now?: Date;
}

interface SourceRow {
  id: string;
  name: string;
  fhir_base: string;
  client_id: string;
  group_id: string | null;
  export_level: string;
  timezone: string;
  enabled: boolean;
  last_transaction_time: Date | null;
  last_success_at: Date | null;
}

export interface SyncRunRow {
  id: string;
  source: string;
  kind: string;
  trigger: string;
  status: string;
  requested_by: string | null;
  since: Date | null;
  transaction_time: Date | null;
  progress: number;
  progress_text: string | null;
  counts: unknown;
  timings: unknown;
  error: string | null;
  error_hint: string | null;
  cancel_requested: boolean;
  heartbeat_at: Date | null;
  started_at: Date;
  finished_at: Date | null;
  issue_count: number;
}

const RUN_COLUMNS = `r.id::text as id, r.source, r.kind, r.trigger, r.status, r.requested_by, r.since, r.transaction_time, r.progress,
  r.progress_text, r.counts, r.timings, r.error, r.error_hint, r.cancel_requested, r.heartbeat_at, r.started_at, r.finished_at,
  (select count(*)::int from sync_issues i where i.run_id = r.id) as issue_count`;

const ACTIVE_STATUSES_SQL = `('queued', 'exporting', 'downloading', 'evaluating')`;

export async function readSources(pool: pg.Pool): Promise<SourceView[]> {
  const { rows } = await pool.query<SourceRow>(
    `select id, name, fhir_base, client_id, group_id, export_level, timezone, enabled, last_transaction_time, last_success_at
       from sources order by name, id`,
  );
  return rows.map((s) => ({
    id: s.id,
    name: s.name,
    fhirBase: s.fhir_base,
    clientId: s.client_id,
    exportLevel: s.export_level,
    groupId: s.group_id,
    timezone: s.timezone,
    enabled: s.enabled,
    lastSuccessAt: iso(s.last_success_at),
    lastTransactionTime: iso(s.last_transaction_time),
  }));
}

/** Sources, the latest runs and the active ones. */
export async function readSyncStatus(pool: pg.Pool, options: SyncStatusOptions = {}): Promise<SyncStatusResponse> {
  const now = options.now ?? new Date();
  const source = options.source ?? null;
  const limit = Math.max(1, Math.min(options.limit ?? 10, 100));
  const [sources, latest, active] = await Promise.all([
    readSources(pool),
    pool.query<SyncRunRow>(
      `select ${RUN_COLUMNS} from sync_runs r where ($1::text is null or r.source = $1) order by r.started_at desc, r.id desc limit $2`,
      [source, limit],
    ),
    pool.query<SyncRunRow>(
      `select ${RUN_COLUMNS} from sync_runs r where r.status in ${ACTIVE_STATUSES_SQL} and ($1::text is null or r.source = $1)
        order by r.started_at desc, r.id desc`,
      [source],
    ),
  ]);
  const runIds = [...new Set([...latest.rows, ...active.rows].map((r) => r.id))];
  const issues = await readIssues(pool, runIds, options.issuesPerRun ?? 5);
  const view = (row: SyncRunRow) => runViewFromRow(row, issues.get(row.id) ?? [], now);
  return {
    generatedAt: now.toISOString(),
    sources: source ? sources.filter((s) => s.id === source) : sources,
    active: active.rows.map(view),
    runs: latest.rows.map(view),
  };
}

/** One run with its first issues, or null when there is no such run. */
export async function readSyncRun(pool: pg.Pool, runId: string, options: { issuesPerRun?: number; now?: Date } = {}): Promise<SyncRunView | null> {
  const { rows } = await pool.query<SyncRunRow>(`select ${RUN_COLUMNS} from sync_runs r where r.id = $1::bigint`, [runId]);
  const row = rows[0];
  if (!row) return null;
  const issues = await readIssues(pool, [row.id], options.issuesPerRun ?? 20);
  return runViewFromRow(row, issues.get(row.id) ?? [], options.now ?? new Date());
}

async function readIssues(pool: pg.Pool, runIds: string[], perRun: number): Promise<Map<string, SyncIssueView[]>> {
  const byRun = new Map<string, SyncIssueView[]>();
  if (runIds.length === 0 || perRun <= 0) return byRun;
  const { rows } = await pool.query<{ run_id: string; file: string | null; line: number | null; issue: string; detail: string }>(
    `select run_id::text as run_id, file, line, issue, detail from (
       select i.*, row_number() over (partition by i.run_id order by i.id) as n from sync_issues i where i.run_id = any($1::bigint[])
     ) ranked where n <= $2 order by run_id, n`,
    [runIds, perRun],
  );
  for (const r of rows) {
    let list = byRun.get(r.run_id);
    if (!list) byRun.set(r.run_id, (list = []));
    // The detail is for a person acting on it; a very long one (a whole parse dump) is cut.
    list.push({ file: r.file, line: r.line, issue: r.issue, detail: r.detail.length > 300 ? `${r.detail.slice(0, 300)}…` : r.detail });
  }
  return byRun;
}

/** A sync_runs row as the page shows it (pure). */
export function runViewFromRow(row: SyncRunRow, issues: SyncIssueView[], now: Date): SyncRunView {
  const active = isActiveRunStatus(row.status);
  const started = row.started_at.getTime();
  const end = row.finished_at ? row.finished_at.getTime() : active ? now.getTime() : started;
  return {
    id: row.id,
    source: row.source,
    kind: row.kind,
    trigger: row.trigger,
    status: row.status,
    active,
    requestedBy: row.requested_by,
    startedAt: row.started_at.toISOString(),
    finishedAt: iso(row.finished_at),
    durationMs: Math.max(0, end - started),
    since: iso(row.since),
    transactionTime: iso(row.transaction_time),
    progress: clampProgress(row.progress),
    progressText: row.progress_text,
    counts: parseCounts(row.counts),
    timings: parseTimings(row.timings),
    error: row.error,
    errorHint: row.error_hint,
    cancelRequested: row.cancel_requested,
    heartbeatAt: iso(row.heartbeat_at),
    stalledHint: active ? stalledHint(row, now) : null,
    issueCount: row.issue_count,
    issues,
  };
}

function stalledHint(row: SyncRunRow, now: Date): string | null {
  if (row.status === "queued") {
    const waited = now.getTime() - row.started_at.getTime();
    return waited > QUEUED_WAIT_MS
      ? `Queued for ${minutes(waited)} without a worker picking it up. Check that a worker is running (it runs inside the app by default, or \`npm run worker\`).`
      : null;
  }
  const last = (row.heartbeat_at ?? row.started_at).getTime();
  const silent = now.getTime() - last;
  return silent > STALLED_AFTER_MS
    ? `No progress reported for ${minutes(silent)}. If the worker stopped, the run resumes where it left off when a worker runs again; or cancel it and sync again.`
    : null;
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60000);
  return m <= 1 ? "about a minute" : `${m} minutes`;
}

function clampProgress(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return 0;
  return Math.min(1, Math.max(0, n));
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** sync_runs.counts as written by the sync: unknown keys are ignored, a missing or non-numeric count is null. */
export function parseCounts(value: unknown): SyncRunCounts {
  const c = record(value);
  const resources: Record<string, number> = {};
  for (const [type, n] of Object.entries(record(c.resources))) {
    const v = count(n);
    if (v !== null) resources[type] = v;
  }
  return {
    filesTotal: count(c.filesTotal),
    filesDone: count(c.filesDone),
    resources,
    inserted: count(c.inserted),
    updated: count(c.updated),
    unchanged: count(c.unchanged),
    deleted: count(c.deleted),
    malformed: count(c.malformed),
    patientsChanged: count(c.patientsChanged),
    evaluated: count(c.evaluated),
  };
}

export function parseTimings(value: unknown): SyncRunTimings {
  const t = record(value);
  return {
    kickoffMs: count(t.kickoffMs),
    exportMs: count(t.exportMs),
    downloadMs: count(t.downloadMs),
    ingestMs: count(t.ingestMs),
    evaluateMs: count(t.evaluateMs),
    totalMs: count(t.totalMs),
  };
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
