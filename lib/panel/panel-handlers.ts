/**
 * The sync and code-coverage API routes, framework-free: each handler checks the origin of state-changing
 * requests, then the role (through `authorize`, which the route builds from the session), validates its input with
 * zod and delegates to lib/panel and the job queue. Route files only wire the real dependencies in.
 */
import type pg from "pg";
import { readCodeCoverage } from "./code-coverage";
import { addCodeMapping, CodeMappingError, countPatients, listCodeMappings, removeCodeMapping, type AffectedPatients } from "./code-mappings";
import type { CodeMappingView } from "./code-classification";
import {
  audit,
  codeMappingCreateSchema,
  codeMappingDeleteSchema,
  crossSiteRefusal,
  errorResponse,
  jsonResponse,
  queryObject,
  readJsonBody,
  runIdSchema,
  sourceQuerySchema,
  syncNowSchema,
  validate,
  type PanelActor,
} from "./panel-requests";
import { readSources, readSyncRun, readSyncStatus } from "./sync-status";
import type { CancelRunResponse, SyncNowResponse } from "./sync-types";

/** The session's role check: the actor, or the 401/403 response to return. */
export type Authorize = (request: Request) => Promise<PanelActor | Response>;

/** lib/jobs/queue.ts, as the handlers use it. */
export interface PanelQueue {
  requestSync(input: { sourceId: string; full?: boolean; trigger: "manual"; requestedBy?: string | null }): Promise<{ runId: string; alreadyQueued: boolean }>;
  requestCancel(runId: string): Promise<boolean>;
  requestEvaluation(input: { sourceId: string | null; patientIds?: string[]; reason: string }): Promise<void>;
}

export interface PanelHandlerDeps {
  pool: pg.Pool;
  authorize: Authorize;
  /** The app's own origin for this request (APP_BASE_URL, else the Host the browser used). */
  appOrigin: (request: Request) => string;
  queue: PanelQueue;
  now?: () => Date;
}

/** Above this many patients in one source, a mapping change re-evaluates the whole source (one job, no id list). */
export const WHOLE_SOURCE_ABOVE = 20_000;

export const NO_SOURCE_MESSAGE = "No source configured: set SYNC_SOURCES (README).";

async function authorized(request: Request, deps: PanelHandlerDeps): Promise<PanelActor | Response> {
  return deps.authorize(request);
}

/** Origin first (no database work for a forged request), then the role. */
async function authorizedChange(request: Request, deps: PanelHandlerDeps): Promise<PanelActor | Response> {
  return crossSiteRefusal(request, deps.appOrigin(request)) ?? deps.authorize(request);
}

function sourceParam(value: string | undefined): string | null {
  return value ? value : null;
}

// ---------- GET/POST /api/panel/sync ----------

async function handleSyncStatusGetUnguarded(request: Request, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorized(request, deps);
  if (actor instanceof Response) return actor;
  const query = validate(sourceQuerySchema, queryObject(request));
  if (!query.ok) return query.response;
  const status = await readSyncStatus(deps.pool, {
    source: sourceParam(query.value.source),
    ...(query.value.limit ? { limit: query.value.limit } : {}),
    ...(deps.now ? { now: deps.now() } : {}),
  });
  return jsonResponse(200, status);
}

async function handleSyncNowPostUnguarded(request: Request, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, syncNowSchema);
  if (!body.ok) return body.response;
  const full = body.value.full ?? false;
  const sources = await readSources(deps.pool);
  let sourceId = body.value.sourceId;
  if (sourceId === undefined) {
    const enabled = sources.filter((s) => s.enabled);
    if (enabled.length === 0) return errorResponse(409, "no-source", NO_SOURCE_MESSAGE);
    if (enabled.length > 1) return errorResponse(400, "choose-source", `Several sources are configured (${enabled.map((s) => s.id).join(", ")}): say which one to sync.`);
    sourceId = enabled[0]!.id;
  }
  const source = sources.find((s) => s.id === sourceId);
  if (!source) return errorResponse(404, "unknown-source", `No source "${sourceId}" is configured.`);
  if (!source.enabled) {
    await audit(deps.pool, actor, { action: "sync-request", outcome: "refused", entity: `source:${source.id}`, detail: { source: source.id, full, reason: "source-disabled" } });
    return errorResponse(409, "source-disabled", `Source "${source.id}" is disabled in the configuration; enable it to sync.`);
  }
  try {
    const queued = await deps.queue.requestSync({ sourceId: source.id, full, trigger: "manual", requestedBy: actor.practitionerId });
    await audit(deps.pool, actor, {
      action: "sync-request",
      outcome: "success",
      entity: `sync-run:${queued.runId}`,
      detail: { source: source.id, full, runId: queued.runId, alreadyQueued: queued.alreadyQueued },
    });
    return jsonResponse(202, { runId: queued.runId, sourceId: source.id, full, alreadyQueued: queued.alreadyQueued } satisfies SyncNowResponse);
  } catch (error) {
    await audit(deps.pool, actor, { action: "sync-request", outcome: "failure", entity: `source:${source.id}`, detail: { source: source.id, full, error: errorName(error) } });
    return errorResponse(503, "queue-unavailable", "The sync could not be queued (the job queue did not answer). Try again in a minute; if it persists, check the database and the worker.");
  }
}

// ---------- GET/DELETE /api/panel/sync/[runId] ----------

async function handleSyncRunGetUnguarded(request: Request, runIdRaw: string, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorized(request, deps);
  if (actor instanceof Response) return actor;
  const runId = validate(runIdSchema, runIdRaw);
  if (!runId.ok) return runId.response;
  const run = await readSyncRun(deps.pool, runId.value, deps.now ? { now: deps.now() } : {});
  if (!run) return errorResponse(404, "unknown-run", `There is no sync run ${runId.value}.`);
  return jsonResponse(200, run);
}

async function handleSyncRunDeleteUnguarded(request: Request, runIdRaw: string, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const runId = validate(runIdSchema, runIdRaw);
  if (!runId.ok) return runId.response;
  const run = await readSyncRun(deps.pool, runId.value, { issuesPerRun: 0 });
  if (!run) return errorResponse(404, "unknown-run", `There is no sync run ${runId.value}.`);
  if (!run.active) {
    await audit(deps.pool, actor, { action: "sync-cancel", outcome: "refused", entity: `sync-run:${run.id}`, detail: { source: run.source, runId: run.id, status: run.status } });
    return errorResponse(409, "run-finished", `Sync run ${run.id} has already ended (${run.status}); there is nothing to cancel.`);
  }
  try {
    const cancelRequested = await deps.queue.requestCancel(run.id);
    await audit(deps.pool, actor, { action: "sync-cancel", outcome: cancelRequested ? "success" : "refused", entity: `sync-run:${run.id}`, detail: { source: run.source, runId: run.id, status: run.status } });
    if (!cancelRequested) return errorResponse(409, "run-finished", `Sync run ${run.id} ended before it could be cancelled.`);
    return jsonResponse(202, { runId: run.id, cancelRequested } satisfies CancelRunResponse);
  } catch (error) {
    await audit(deps.pool, actor, { action: "sync-cancel", outcome: "failure", entity: `sync-run:${run.id}`, detail: { source: run.source, runId: run.id, error: errorName(error) } });
    return errorResponse(503, "queue-unavailable", "The cancel could not be recorded. Try again in a moment.");
  }
}

// ---------- GET /api/panel/code-coverage ----------

async function handleCodeCoverageGetUnguarded(request: Request, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorized(request, deps);
  if (actor instanceof Response) return actor;
  const query = validate(sourceQuerySchema, queryObject(request));
  if (!query.ok) return query.response;
  const source = sourceParam(query.value.source);
  if (source !== null && !(await readSources(deps.pool)).some((s) => s.id === source)) {
    return errorResponse(404, "unknown-source", `No source "${source}" is configured.`);
  }
  return jsonResponse(200, await readCodeCoverage(deps.pool, { source, ...(deps.now ? { now: deps.now() } : {}) }));
}

// ---------- GET/POST/DELETE /api/panel/code-mappings ----------

export interface CodeMappingChangeResponse {
  mapping: CodeMappingView;
  /** Patients whose synced resources carry the code, across sources. */
  patientsToReevaluate: number;
  sources: Array<{ source: string; patients: number }>;
  /** False when the re-evaluation could not be queued (the nightly re-evaluation still applies the change). */
  reevaluationQueued: boolean;
  message: string;
}

async function handleCodeMappingsGetUnguarded(request: Request, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorized(request, deps);
  if (actor instanceof Response) return actor;
  return jsonResponse(200, { mappings: await listCodeMappings(deps.pool) });
}

async function handleCodeMappingPostUnguarded(request: Request, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, codeMappingCreateSchema);
  if (!body.ok) return body.response;
  const { system, code, concept, display } = body.value;
  try {
    const { mapping, affected } = await addCodeMapping(deps.pool, { system, code, concept, display: display ?? null, createdBy: actor.practitionerId });
    const change = await reevaluate(deps, affected, `code-mapping-added:${mapping.id}`);
    await audit(deps.pool, actor, {
      action: "code-mapping-add",
      outcome: "success",
      entity: `code-mapping:${mapping.id}`,
      detail: { system: mapping.system, code: mapping.code, concept: mapping.concept, patients: change.patients, sources: affected.length, reevaluationQueued: change.queued },
    });
    return jsonResponse(201, changeResponse(mapping, affected, change.queued, "added"));
  } catch (error) {
    if (!(error instanceof CodeMappingError)) throw error;
    await audit(deps.pool, actor, { action: "code-mapping-add", outcome: "refused", detail: { system, code, concept, reason: error.code } });
    return errorResponse(error.code === "invalid-concept" ? 400 : 409, error.code, error.message);
  }
}

async function handleCodeMappingDeleteUnguarded(request: Request, deps: PanelHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, codeMappingDeleteSchema);
  if (!body.ok) return body.response;
  try {
    const { mapping, affected } = await removeCodeMapping(deps.pool, body.value.id);
    const change = await reevaluate(deps, affected, `code-mapping-removed:${mapping.id}`);
    await audit(deps.pool, actor, {
      action: "code-mapping-remove",
      outcome: "success",
      entity: `code-mapping:${mapping.id}`,
      detail: { system: mapping.system, code: mapping.code, concept: mapping.concept, patients: change.patients, sources: affected.length, reevaluationQueued: change.queued },
    });
    return jsonResponse(200, changeResponse(mapping, affected, change.queued, "removed"));
  } catch (error) {
    if (!(error instanceof CodeMappingError)) throw error;
    await audit(deps.pool, actor, { action: "code-mapping-remove", outcome: "refused", entity: `code-mapping:${body.value.id}`, detail: { reason: error.code } });
    return errorResponse(404, error.code, error.message);
  }
}

/** Queues the re-evaluation of the affected patients, one request per source. */
async function reevaluate(deps: PanelHandlerDeps, affected: readonly AffectedPatients[], reason: string): Promise<{ patients: number; queued: boolean }> {
  const patients = countPatients(affected);
  try {
    for (const { source, patientIds } of affected) {
      await deps.queue.requestEvaluation(patientIds.length > WHOLE_SOURCE_ABOVE ? { sourceId: source, reason } : { sourceId: source, patientIds, reason });
    }
    return { patients, queued: true };
  } catch {
    return { patients, queued: false };
  }
}

function changeResponse(mapping: CodeMappingView, affected: readonly AffectedPatients[], queued: boolean, verb: "added" | "removed"): CodeMappingChangeResponse {
  const patients = countPatients(affected);
  const who = patients === 1 ? "1 patient" : `${patients} patients`;
  const message =
    patients === 0
      ? `Mapping ${verb}. No synced patient has ${mapping.system}|${mapping.code} yet, so nobody needs re-evaluating.`
      : queued
        ? `Mapping ${verb}. ${who} will be re-evaluated.`
        : `Mapping ${verb}, but the re-evaluation of ${who} could not be queued; the nightly re-evaluation will apply it.`;
  return {
    mapping,
    patientsToReevaluate: patients,
    sources: affected.map((a) => ({ source: a.source, patients: a.patientIds.length })),
    reevaluationQueued: queued,
    message,
  };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown";
}

/**
 * An unexpected failure (database unreachable, a bug) becomes a JSON 503 the page can show, never an HTML 500;
 * the log line names the error class only (no PHI, no SQL parameters).
 */
function guarded<A extends unknown[]>(name: string, handler: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      console.error(`[panel] ${name} failed: ${errorName(error)}`);
      return errorResponse(503, "unavailable", "The panel could not read or change its data just now (is the database reachable?). Try again in a moment.");
    }
  };
}

export const handleSyncStatusGet = guarded("sync-status", handleSyncStatusGetUnguarded);
export const handleSyncNowPost = guarded("sync-now", handleSyncNowPostUnguarded);
export const handleSyncRunGet = guarded("sync-run", handleSyncRunGetUnguarded);
export const handleSyncRunDelete = guarded("sync-cancel", handleSyncRunDeleteUnguarded);
export const handleCodeCoverageGet = guarded("code-coverage", handleCodeCoverageGetUnguarded);
export const handleCodeMappingsGet = guarded("code-mappings", handleCodeMappingsGetUnguarded);
export const handleCodeMappingPost = guarded("code-mapping-add", handleCodeMappingPostUnguarded);
export const handleCodeMappingDelete = guarded("code-mapping-remove", handleCodeMappingDeleteUnguarded);
