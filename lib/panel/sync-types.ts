/**
 * The sync page's data as GET /api/panel/sync and GET /api/panel/sync/[runId] return it. Client-safe: types and
 * small pure helpers only (no pg, no server-only).
 */

/** Statuses of a run that has not finished (the page polls while one exists). */
export const ACTIVE_RUN_STATUSES = ["queued", "exporting", "downloading", "evaluating"] as const;
export type ActiveRunStatus = (typeof ACTIVE_RUN_STATUSES)[number];
export type FinishedRunStatus = "succeeded" | "failed" | "cancelled";
export type SyncRunStatus = ActiveRunStatus | FinishedRunStatus;

export function isActiveRunStatus(status: string): status is ActiveRunStatus {
  return (ACTIVE_RUN_STATUSES as readonly string[]).includes(status);
}

/** One configured FHIR server (the `sources` table, mirrored from SYNC_SOURCES; keys are never stored there). */
export interface SourceView {
  id: string;
  name: string;
  fhirBase: string;
  clientId: string;
  /** "group" | "system" | "patient" */
  exportLevel: string;
  groupId: string | null;
  timezone: string;
  enabled: boolean;
  lastSuccessAt: string | null;
  /** The next incremental run's _since. */
  lastTransactionTime: string | null;
}

/** sync_runs.counts, read defensively: a count the run has not written yet is null. */
export interface SyncRunCounts {
  filesTotal: number | null;
  filesDone: number | null;
  /** Resources received per FHIR type. */
  resources: Record<string, number>;
  inserted: number | null;
  updated: number | null;
  unchanged: number | null;
  deleted: number | null;
  malformed: number | null;
  patientsChanged: number | null;
  evaluated: number | null;
}

/** sync_runs.timings in milliseconds per phase. */
export interface SyncRunTimings {
  kickoffMs: number | null;
  exportMs: number | null;
  downloadMs: number | null;
  ingestMs: number | null;
  evaluateMs: number | null;
  totalMs: number | null;
}

/** Input a run could not use (sync_issues), without the raw line. */
export interface SyncIssueView {
  file: string | null;
  line: number | null;
  issue: string;
  detail: string;
}

export interface SyncRunView {
  /** bigint as a decimal string */
  id: string;
  source: string;
  /** "incremental" | "full" | "search" */
  kind: string;
  /** "manual" | "schedule" | "startup" | "mapping" */
  trigger: string;
  status: string;
  active: boolean;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** finished - started, or now - started while the run is active */
  durationMs: number;
  since: string | null;
  transactionTime: string | null;
  /** 0..1 */
  progress: number;
  progressText: string | null;
  counts: SyncRunCounts;
  timings: SyncRunTimings;
  error: string | null;
  errorHint: string | null;
  cancelRequested: boolean;
  heartbeatAt: string | null;
  /** Set when an active run has not reported for a while: what a person can do. */
  stalledHint: string | null;
  issueCount: number;
  /** The first few issues, in the order they were recorded. */
  issues: SyncIssueView[];
}

export interface SyncStatusResponse {
  generatedAt: string;
  sources: SourceView[];
  /** Runs not finished yet, newest first (at most one per source in practice). */
  active: SyncRunView[];
  /** The latest runs, newest first (active ones included). */
  runs: SyncRunView[];
}

/** POST /api/panel/sync */
export interface SyncNowRequest {
  /** Optional when exactly one source is configured. */
  sourceId?: string;
  /** A full export instead of an incremental one (_since the last transactionTime). */
  full?: boolean;
}

export interface SyncNowResponse {
  runId: string;
  sourceId: string;
  full: boolean;
  /** A run for this source was already queued or running: that run is returned, no second one is started. */
  alreadyQueued: boolean;
}

export interface CancelRunResponse {
  runId: string;
  /** The cancel was recorded; the worker stops the export and ends the run "cancelled". */
  cancelRequested: boolean;
}

/** Error body of every panel API route. */
export interface PanelApiErrorBody {
  error: string;
  message: string;
  relaunch?: string;
  issues?: { path: string; message: string }[];
}
