/**
 * The sync and code-coverage API routes, framework-free: each handler checks the origin of state-changing
 * requests, then the role (through `authorize`, which the route builds from the session), validates its input with
 * zod and delegates to lib/panel and the job queue. Route files only wire the real dependencies in.
 */
import type pg from "pg";
import { eventLogger } from "../app/log";
import { auditOrigin } from "../audit/audit";
import type { CodeReevaluationOutput, JobStatus } from "../jobs/queue";
import { readCodeCoverageView, type CodeCoverageResponse } from "./code-coverage";
import { addCodeMapping, CodeMappingError, listCodeMappings, removeCodeMapping } from "./code-mappings";
import type { CodeMappingView } from "./code-classification";
import {
  audit,
  codeCoverageQuerySchema,
  codeCoverageRefreshSchema,
  codeMappingCreateSchema,
  codeMappingDeleteSchema,
  codeMappingsQuerySchema,
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

/** lib/jobs/queue.ts, as the sync handlers use it (requestEvaluation: kept for callers that queue one directly). */
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

/** lib/jobs/queue.ts, as the code-coverage and code-mapping handlers use it: the slow work is all in jobs. */
export interface CodeJobs {
  requestCodeCoverage(input: { sourceId: string | null; reason: string }): Promise<string>;
  codeCoverageJob(jobId: string): Promise<JobStatus | null>;
  requestCodeReevaluation(input: { system: string; code: string; reason: string }): Promise<string>;
  codeReevaluationJob(jobId: string): Promise<(JobStatus & { result: CodeReevaluationOutput | null }) | null>;
}

export interface CodeHandlerDeps extends PanelHandlerDeps {
  codeJobs: CodeJobs;
}

const log = eventLogger("panel");

export const NO_SOURCE_MESSAGE = "No source configured: set SYNC_SOURCES (README).";

async function authorized(request: Request, deps: PanelHandlerDeps): Promise<PanelActor | Response> {
  return deps.authorize(request);
}

/** Origin first (no database work for a forged request), then the role; the actor carries the client's address for the audit. */
async function authorizedChange(request: Request, deps: PanelHandlerDeps): Promise<PanelActor | Response> {
  const refusal = crossSiteRefusal(request, deps.appOrigin(request));
  if (refusal) return refusal;
  const actor = await deps.authorize(request);
  return actor instanceof Response ? actor : { ...actor, origin: auditOrigin(request) };
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

// ---------- GET/POST /api/panel/code-coverage ----------

const QUEUE_DOWN = "The job queue did not answer. Try again in a minute; if it persists, check the database and the worker.";

/** A configured source id, or the 404 to answer. */
async function knownSource(deps: PanelHandlerDeps, source: string | null): Promise<Response | null> {
  if (source === null || (await readSources(deps.pool)).some((s) => s.id === source)) return null;
  return errorResponse(404, "unknown-source", `No source "${source}" is configured.`);
}

/**
 * The stored view, never a scan. With ?job= it also says how that computation is doing (read before the view, so
 * "done" means the view read after it is that computation's or newer). When nothing is stored yet and no
 * computation is under way, it queues one and says so.
 */
async function handleCodeCoverageGetUnguarded(request: Request, deps: CodeHandlerDeps): Promise<Response> {
  const actor = await authorized(request, deps);
  if (actor instanceof Response) return actor;
  const query = validate(codeCoverageQuerySchema, queryObject(request));
  if (!query.ok) return query.response;
  const source = sourceParam(query.value.source);
  const unknown = await knownSource(deps, source);
  if (unknown) return unknown;
  let job = query.value.job ? await deps.codeJobs.codeCoverageJob(query.value.job) : null;
  const stored = await readCodeCoverageView(deps.pool, source);
  let problem: string | null = null;
  if (!stored && (job === null || job.state === "done")) {
    try {
      job = { jobId: await deps.codeJobs.requestCodeCoverage({ sourceId: source, reason: "first-view" }), state: "queued" };
    } catch {
      problem = `The code coverage has not been computed yet, and the computation could not be queued. ${QUEUE_DOWN}`;
    }
  }
  return jsonResponse(200, { source, computedAt: stored?.computedAt ?? null, coverage: stored?.coverage ?? null, job, problem } satisfies CodeCoverageResponse);
}

export interface CodeCoverageRefreshResponse {
  jobId: string;
  source: string | null;
  message: string;
}

async function handleCodeCoverageRefreshPostUnguarded(request: Request, deps: CodeHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, codeCoverageRefreshSchema);
  if (!body.ok) return body.response;
  const source = body.value.source ?? null;
  const unknown = await knownSource(deps, source);
  if (unknown) return unknown;
  const entity = `code-coverage:${source ?? "*"}`;
  try {
    const jobId = await deps.codeJobs.requestCodeCoverage({ sourceId: source, reason: "on-demand" });
    await audit(deps.pool, actor, { action: "code-coverage-refresh", outcome: "success", entity, detail: { source: source ?? "*", jobId } });
    const what = source ? `the code coverage of ${source}` : "the code coverage of every source";
    return jsonResponse(202, { jobId, source, message: `Recomputing ${what}; the page updates when it is done.` } satisfies CodeCoverageRefreshResponse);
  } catch (error) {
    await audit(deps.pool, actor, { action: "code-coverage-refresh", outcome: "failure", entity, detail: { source: source ?? "*", error: errorName(error) } });
    return errorResponse(503, "queue-unavailable", `The computation could not be queued. ${QUEUE_DOWN}`);
  }
}

// ---------- GET/POST/DELETE /api/panel/code-mappings ----------

export interface CodeMappingChangeResponse {
  mapping: CodeMappingView;
  /** The job that finds the patients with the code and re-evaluates them (GET /api/panel/code-mappings?job=); null when it could not be queued. */
  reevaluationJobId: string | null;
  reevaluationQueued: boolean;
  message: string;
}

/** GET /api/panel/code-mappings?job=: a mapping change's re-evaluation. */
export interface CodeReevaluationStatusResponse {
  jobId: string;
  state: JobStatus["state"];
  /** Once done: how many patients had the code and were re-evaluated, and the code-coverage computation queued after. */
  result: CodeReevaluationOutput | null;
  message: string;
}

async function handleCodeMappingsGetUnguarded(request: Request, deps: CodeHandlerDeps): Promise<Response> {
  const actor = await authorized(request, deps);
  if (actor instanceof Response) return actor;
  const query = validate(codeMappingsQuerySchema, queryObject(request));
  if (!query.ok) return query.response;
  if (query.value.job === undefined) return jsonResponse(200, { mappings: await listCodeMappings(deps.pool) });
  const status = await deps.codeJobs.codeReevaluationJob(query.value.job);
  if (!status) return errorResponse(404, "unknown-job", "There is no such re-evaluation (it may have been cleaned up after some days).");
  return jsonResponse(200, { ...status, message: reevaluationMessage(status) } satisfies CodeReevaluationStatusResponse);
}

function patientsText(n: number): string {
  return n === 1 ? "1 patient" : `${n.toLocaleString("en-US")} patients`;
}

function reevaluationMessage(status: JobStatus & { result: CodeReevaluationOutput | null }): string {
  switch (status.state) {
    case "queued":
      return "Re-evaluation queued.";
    case "running":
      return "Finding the patients with this code and re-evaluating them…";
    case "failed":
      return "The re-evaluation failed (the worker's log says why); the nightly re-evaluation will apply the change.";
    case "done": {
      const result = status.result;
      if (!result) return "Re-evaluation done.";
      if (result.patients === 0) return "Re-evaluation done: no synced patient has this code yet.";
      const whole = result.sources.filter((s) => s.wholeSource).map((s) => s.source);
      const wholeText = whole.length > 0 ? ` (every patient of ${whole.join(", ")} was re-evaluated: too many to pick out)` : "";
      return `Re-evaluation done: ${patientsText(result.patients)} with this code re-evaluated${wholeText}.`;
    }
  }
}

async function handleCodeMappingPostUnguarded(request: Request, deps: CodeHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, codeMappingCreateSchema);
  if (!body.ok) return body.response;
  const { system, code, concept, display } = body.value;
  let mapping: CodeMappingView;
  try {
    mapping = await addCodeMapping(deps.pool, { system, code, concept, display: display ?? null, createdBy: actor.practitionerId });
  } catch (error) {
    if (!(error instanceof CodeMappingError)) throw error;
    await audit(deps.pool, actor, { action: "code-mapping-add", outcome: "refused", detail: { system, code, concept, reason: error.code } });
    return errorResponse(error.code === "invalid-concept" ? 400 : 409, error.code, error.message);
  }
  const jobId = await queueReevaluation(deps, mapping, `code-mapping-added:${mapping.id}`);
  await audit(deps.pool, actor, {
    action: "code-mapping-add",
    outcome: "success",
    entity: `code-mapping:${mapping.id}`,
    detail: { system: mapping.system, code: mapping.code, concept: mapping.concept, reevaluationQueued: jobId !== null, jobId },
  });
  return jsonResponse(201, changeResponse(mapping, jobId, "added"));
}

async function handleCodeMappingDeleteUnguarded(request: Request, deps: CodeHandlerDeps): Promise<Response> {
  const actor = await authorizedChange(request, deps);
  if (actor instanceof Response) return actor;
  const body = await readJsonBody(request, codeMappingDeleteSchema);
  if (!body.ok) return body.response;
  let mapping: CodeMappingView;
  try {
    mapping = await removeCodeMapping(deps.pool, body.value.id);
  } catch (error) {
    if (!(error instanceof CodeMappingError)) throw error;
    await audit(deps.pool, actor, { action: "code-mapping-remove", outcome: "refused", entity: `code-mapping:${body.value.id}`, detail: { reason: error.code } });
    return errorResponse(404, error.code, error.message);
  }
  const jobId = await queueReevaluation(deps, mapping, `code-mapping-removed:${mapping.id}`);
  await audit(deps.pool, actor, {
    action: "code-mapping-remove",
    outcome: "success",
    entity: `code-mapping:${mapping.id}`,
    detail: { system: mapping.system, code: mapping.code, concept: mapping.concept, reevaluationQueued: jobId !== null, jobId },
  });
  return jsonResponse(200, changeResponse(mapping, jobId, "removed"));
}

/** Queues the job that finds and re-evaluates the patients with the mapping's code; null when the queue failed. */
async function queueReevaluation(deps: CodeHandlerDeps, mapping: CodeMappingView, reason: string): Promise<string | null> {
  try {
    return await deps.codeJobs.requestCodeReevaluation({ system: mapping.system, code: mapping.code, reason });
  } catch {
    return null;
  }
}

function changeResponse(mapping: CodeMappingView, jobId: string | null, verb: "added" | "removed"): CodeMappingChangeResponse {
  const message =
    jobId !== null
      ? `Mapping ${verb}. The re-evaluation of the patients with ${mapping.system}|${mapping.code} is queued.`
      : `Mapping ${verb}, but the re-evaluation of the patients with this code could not be queued; the nightly re-evaluation will apply it.`;
  return { mapping, reevaluationJobId: jobId, reevaluationQueued: jobId !== null, message };
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
      log(`${name}-failed`, { error: errorName(error) });
      return errorResponse(503, "unavailable", "The panel could not read or change its data just now (is the database reachable?). Try again in a moment.");
    }
  };
}

export const handleSyncStatusGet = guarded("sync-status", handleSyncStatusGetUnguarded);
export const handleSyncNowPost = guarded("sync-now", handleSyncNowPostUnguarded);
export const handleSyncRunGet = guarded("sync-run", handleSyncRunGetUnguarded);
export const handleSyncRunDelete = guarded("sync-cancel", handleSyncRunDeleteUnguarded);
export const handleCodeCoverageGet = guarded("code-coverage", handleCodeCoverageGetUnguarded);
export const handleCodeCoverageRefreshPost = guarded("code-coverage-refresh", handleCodeCoverageRefreshPostUnguarded);
export const handleCodeMappingsGet = guarded("code-mappings", handleCodeMappingsGetUnguarded);
export const handleCodeMappingPost = guarded("code-mapping-add", handleCodeMappingPostUnguarded);
export const handleCodeMappingDelete = guarded("code-mapping-remove", handleCodeMappingDeleteUnguarded);
