/**
 * FHIR Bulk Data Access 2.0 client: kick-off (group, system or patient level), status polling that honours
 * Retry-After and reports X-Progress, a zod-validated manifest, cancel (DELETE), and NDJSON files streamed line by
 * line with bounded memory. Transient failures (429, 502-504, network) are retried with back-off, a 401 hands the
 * token back to the provider and retries once, and every other failure is a BulkExportError with a hint a person can
 * act on. The access token is only ever sent to the FHIR server's own origin.
 */
import type { OperationOutcome } from "@medplum/fhirtypes";
import { z } from "zod";
import type { BackendTokenProvider } from "./backend-auth";
import { abortableSleep, backoffMs, retryAfterMs, TRANSIENT_STATUSES } from "./http-retry";

export type ExportLevel = { kind: "group"; groupId: string } | { kind: "system" } | { kind: "patient" };

export interface ExportRequest {
  level: ExportLevel;
  types: string[];
  /** FHIR instant: only resources changed after it (the last successful run's transactionTime). */
  since?: string;
  /** FHIR search queries such as "MedicationRequest?status=active", one per entry. */
  typeFilter?: string[];
}

export interface BulkManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count?: number }[];
  error: { type: string; url: string }[];
  deleted?: { type: string; url: string }[];
}

export interface ExportProgress {
  /** The server's X-Progress text, as sent (trimmed, at most 200 characters). */
  text: string | null;
  /** A percentage found in it, 0..100. */
  percent: number | null;
}

export class BulkExportError extends Error {
  override readonly name = "BulkExportError";
  constructor(
    message: string,
    readonly status: number | null,
    /** What a clinic lead or administrator can do about it. */
    readonly hint: string,
    /** True when trying again later (or with a new export) may succeed without anyone changing anything. */
    readonly retryable: boolean,
    readonly outcome?: OperationOutcome,
  ) {
    super(message);
  }
}

/** The NDJSON stream ended inside a line: the download was cut short. The caller downloads the file again. */
export class TruncatedNdjsonError extends Error {
  override readonly name = "TruncatedNdjsonError";
  constructor(
    message: string,
    /** Complete lines yielded before the cut. */
    readonly linesRead: number,
  ) {
    super(message);
  }
}

/** Anything that hands out tokens and takes back refused ones (a BackendTokenProvider). */
export type AccessTokenSource = Pick<BackendTokenProvider, "token" | "invalidate">;

export interface BulkClientOptions {
  fhirBase: string;
  auth: AccessTokenSource;
  fetch?: typeof fetch;
  /** Retries of one request after a transient failure (429, 502, 503, 504, network), default 5. */
  maxRetries?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Longest wait honoured from Retry-After, and the longest default back-off, in seconds (default 60). */
  maxRetryAfterSeconds?: number;
  /** A file download or request that receives nothing for this long is abandoned (default 60 s). */
  idleTimeoutMs?: number;
}

export interface BulkClientStats {
  requests: number;
  retries: number;
  /** NDJSON bytes received. */
  bytes: number;
}

type RequestContext = { kind: "kick-off"; level: ExportLevel } | { kind: "status" } | { kind: "cancel" } | { kind: "file" };

const NDJSON_FORMAT = "application/fhir+ndjson";
/** Longest NDJSON line accepted, in characters: far above any resource of the synced types, below memory trouble. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;
const DEFAULT_POLL_BASE_MS = 1000;

const fileEntrySchema = z.object({
  type: z.string().min(1),
  url: z.string().min(1),
  count: z.number().int().nonnegative().optional(),
});
const manifestSchema = z.object({
  transactionTime: z.string().refine((value) => !Number.isNaN(Date.parse(value)), "transactionTime must be a FHIR instant"),
  request: z.string().default(""),
  requiresAccessToken: z.boolean(),
  output: z.array(fileEntrySchema),
  error: z.array(fileEntrySchema).default([]),
  deleted: z.array(fileEntrySchema).optional(),
});

/** The percentage in an X-Progress value ("in-progress 40% (2/5 types)"), if it carries one. */
export function parseProgress(value: string | null): ExportProgress {
  const text = value?.trim().slice(0, 200) || null;
  const match = text ? /(\d{1,3}(?:\.\d+)?)\s*%/.exec(text) : null;
  const percent = match ? Math.min(100, Number(match[1])) : null;
  return { text, percent };
}

export class BulkClient {
  readonly stats: BulkClientStats = { requests: 0, retries: 0, bytes: 0 };
  private readonly fhirBase: string;
  private readonly origin: string;
  private readonly auth: AccessTokenSource;
  private readonly fetchImpl: typeof fetch;
  private readonly maxRetries: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly maxWaitMs: number;
  private readonly idleTimeoutMs: number;

  constructor(options: BulkClientOptions) {
    this.fhirBase = options.fhirBase.replace(/\/+$/, "");
    this.origin = new URL(this.fhirBase).origin;
    this.auth = options.auth;
    this.fetchImpl = options.fetch ?? fetch;
    this.maxRetries = Math.max(0, options.maxRetries ?? 5);
    this.sleep = options.sleep ?? abortableSleep;
    this.maxWaitMs = Math.max(0, options.maxRetryAfterSeconds ?? 60) * 1000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  /** Starts an export; returns the status URL to poll (the kick-off's Content-Location). */
  async kickOff(request: ExportRequest, signal?: AbortSignal): Promise<{ statusUrl: string }> {
    const url = this.kickOffUrl(request);
    const response = await this.send(url, { method: "GET", accept: "application/fhir+json", prefer: "respond-async", withToken: true, context: { kind: "kick-off", level: request.level }, signal });
    if (response.status !== 202) {
      if (response.ok) {
        await response.body?.cancel();
        throw new BulkExportError(
          `$export answered ${response.status} instead of 202 Accepted`,
          response.status,
          "The EHR did not start an asynchronous export; check the source's FHIR base URL and export level, or use the search fallback.",
          false,
        );
      }
      throw await this.errorFrom(response, { kind: "kick-off", level: request.level });
    }
    await response.body?.cancel();
    const location = response.headers.get("content-location");
    if (!location) {
      throw new BulkExportError("$export accepted without a Content-Location", 202, "The EHR accepted the export but did not say where to follow it; report this to the EHR vendor.", false);
    }
    const statusUrl = new URL(location, url).toString();
    this.checkOrigin(statusUrl, "status URL");
    return { statusUrl };
  }

  /** Polls the status URL until the manifest is ready: honours Retry-After, reports X-Progress. */
  async waitForManifest(statusUrl: string, options: { signal?: AbortSignal; onProgress?: (progress: ExportProgress) => void } = {}): Promise<BulkManifest> {
    const { signal, onProgress } = options;
    this.checkOrigin(statusUrl, "status URL");
    for (let poll = 0; ; poll++) {
      const response = await this.send(statusUrl, { method: "GET", accept: "application/json", withToken: true, context: { kind: "status" }, signal });
      if (response.status === 202) {
        await response.body?.cancel();
        onProgress?.(parseProgress(response.headers.get("x-progress")));
        await this.sleep(retryAfterMs(response, this.maxWaitMs) ?? backoffMs(poll, DEFAULT_POLL_BASE_MS, Math.min(this.maxWaitMs, 30_000)), signal);
        continue;
      }
      if (response.status !== 200) throw await this.errorFrom(response, { kind: "status" });
      return this.parseManifest(await response.text(), statusUrl);
    }
  }

  /** Cancels the export (DELETE on the status URL); an export already gone (404/410) counts as cancelled. */
  async cancel(statusUrl: string): Promise<void> {
    this.checkOrigin(statusUrl, "status URL");
    const response = await this.send(statusUrl, { method: "DELETE", accept: "application/fhir+json", withToken: true, context: { kind: "cancel" } });
    if (response.ok || response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return;
    }
    throw await this.errorFrom(response, { kind: "cancel" });
  }

  /**
   * Streams one NDJSON file as lines (without "\n", "\r" or blank lines), reading only as fast as the caller
   * consumes. Authorization only when requiresAccessToken; a 401 invalidates the token and retries once; 429/503/
   * network failures are retried before the first byte. TruncatedNdjsonError when the last line has no newline and
   * is not JSON; a failure after the first byte is a retryable BulkExportError (the caller reads the file again).
   */
  async *lines(url: string, options: { requiresAccessToken: boolean; signal?: AbortSignal; onBytes?: (bytes: number) => void }): AsyncIterable<string> {
    const { requiresAccessToken, signal, onBytes } = options;
    if (requiresAccessToken) this.checkOrigin(url, "file URL");
    let idle: IdleTimer | undefined;
    const attemptSignal = (): AbortSignal => {
      idle?.stop();
      idle = new IdleTimer(this.idleTimeoutMs);
      return signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let finished = false;
    try {
      const response = await this.send(url, { method: "GET", accept: NDJSON_FORMAT, withToken: requiresAccessToken, context: { kind: "file" }, signal, attemptSignal });
      if (response.status !== 200) throw await this.errorFrom(response, { kind: "file" });
      if (!response.body) {
        finished = true;
        return;
      }
      reader = response.body.getReader();
      // fatal: a byte sequence that is not UTF-8 is an error, never silently replaced.
      const decoder = new TextDecoder("utf-8", { fatal: true });
      let pending = "";
      let yielded = 0;
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw this.midStreamError(error, signal, idle, url);
        }
        if (chunk.done) break;
        idle?.arm();
        this.stats.bytes += chunk.value.byteLength;
        onBytes?.(chunk.value.byteLength);
        let text: string;
        try {
          text = decoder.decode(chunk.value, { stream: true });
        } catch {
          throw new BulkExportError(`${fileName(url)} is not UTF-8`, 200, "The EHR sent an export file that is not UTF-8 text; report this to the EHR vendor.", false);
        }
        let start = 0;
        let newline = text.indexOf("\n");
        if (newline >= 0) {
          const line = cleanLine(pending + text.slice(0, newline));
          pending = "";
          start = newline + 1;
          if (line) {
            yielded++;
            yield line;
          }
          while ((newline = text.indexOf("\n", start)) >= 0) {
            const next = cleanLine(text.slice(start, newline));
            start = newline + 1;
            if (next) {
              yielded++;
              yield next;
            }
          }
        }
        pending += text.slice(start);
        if (pending.length > MAX_LINE_CHARS) {
          throw new BulkExportError(`${fileName(url)} has a line longer than ${MAX_LINE_CHARS} characters`, 200, "The EHR sent an export file with an implausibly long line; report this to the EHR vendor.", false);
        }
      }
      let tail: string;
      try {
        tail = pending + decoder.decode();
      } catch {
        throw new TruncatedNdjsonError(`${fileName(url)} ended inside a character after ${yielded} lines`, yielded);
      }
      const last = cleanLine(tail);
      if (last) {
        if (!isJson(last)) throw new TruncatedNdjsonError(`${fileName(url)} ended inside a line after ${yielded} complete lines`, yielded);
        yield last;
      }
      finished = true;
    } finally {
      idle?.stop();
      // The caller stopped early or something failed: release the connection.
      if (!finished && reader) await reader.cancel().catch(() => undefined);
    }
  }

  private kickOffUrl(request: ExportRequest): string {
    const { level } = request;
    const path =
      level.kind === "group" ? `Group/${encodeURIComponent(level.groupId)}/$export` : level.kind === "patient" ? "Patient/$export" : "$export";
    const url = new URL(`${this.fhirBase}/${path}`);
    url.searchParams.set("_outputFormat", NDJSON_FORMAT);
    const types = request.types.map((type) => type.trim()).filter(Boolean);
    if (types.length > 0) url.searchParams.set("_type", types.join(","));
    if (request.since !== undefined) {
      if (Number.isNaN(Date.parse(request.since))) {
        throw new BulkExportError(`_since ${request.since} is not a FHIR instant`, null, "The last run's transaction time is not a valid instant; run a full sync.", false);
      }
      url.searchParams.set("_since", request.since);
    }
    for (const filter of request.typeFilter ?? []) url.searchParams.append("_typeFilter", filter);
    return url.toString();
  }

  /** The token goes to the FHIR server's own origin only. */
  private checkOrigin(url: string, what: string): void {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw new BulkExportError(`the ${what} is not a URL`, null, "The EHR sent an invalid URL in the export; report this to the EHR vendor.", false);
    }
    if (origin !== this.origin) {
      throw new BulkExportError(
        `the ${what} is on ${origin}, not on the FHIR server ${this.origin}: the access token is not sent there`,
        null,
        `The EHR's export points at another server (${origin}) and wants the access token there. Ask the EHR administrator whether that server is theirs; the app only sends tokens to ${this.origin}.`,
        false,
      );
    }
  }

  /** One request with the transient retries and the single retry after a 401; returns any other response. */
  private async send(
    url: string,
    request: {
      method: "GET" | "DELETE";
      accept: string;
      prefer?: string;
      withToken: boolean;
      context: RequestContext;
      signal?: AbortSignal;
      attemptSignal?: () => AbortSignal;
    },
  ): Promise<Response> {
    const { signal } = request;
    let retriedAfter401 = false;
    for (let attempt = 0; ; ) {
      signal?.throwIfAborted();
      const headers: Record<string, string> = { accept: request.accept };
      if (request.prefer) headers.prefer = request.prefer;
      const token = request.withToken ? await this.auth.token(signal) : undefined;
      if (token) headers.authorization = `Bearer ${token}`;
      const attemptSignal = request.attemptSignal?.() ?? (signal ? AbortSignal.any([signal, AbortSignal.timeout(this.idleTimeoutMs)]) : AbortSignal.timeout(this.idleTimeoutMs));
      let response: Response;
      this.stats.requests++;
      try {
        response = await this.fetchImpl(url, { method: request.method, headers, signal: attemptSignal });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (attempt < this.maxRetries) {
          attempt++;
          this.stats.retries++;
          await this.sleep(backoffMs(attempt - 1, 500, this.maxWaitMs), signal);
          continue;
        }
        const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
        throw new BulkExportError(
          `${describe(request.context)}: ${timedOut ? "no answer in time" : "network error"} after ${attempt + 1} attempts`,
          null,
          `The EHR at ${this.origin} could not be reached; the sync will try again later. If it persists, check the network path to the EHR.`,
          true,
        );
      }
      if (response.status === 401 && token && !retriedAfter401) {
        // The token expired or was revoked early: hand it back and try once with a new one.
        retriedAfter401 = true;
        await response.body?.cancel();
        this.auth.invalidate(token);
        this.stats.retries++;
        continue;
      }
      // "Once" means once in a row: a token that expires during a later wait gets its own retry.
      retriedAfter401 = false;
      if (TRANSIENT_STATUSES.has(response.status) && attempt < this.maxRetries) {
        attempt++;
        this.stats.retries++;
        const wait = retryAfterMs(response, this.maxWaitMs) ?? backoffMs(attempt - 1, 500, this.maxWaitMs);
        await response.body?.cancel();
        await this.sleep(wait, signal);
        continue;
      }
      return response;
    }
  }

  private parseManifest(text: string, statusUrl: string): BulkManifest {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new BulkExportError("the export manifest is not JSON", 200, "The EHR's export manifest is not JSON; report this to the EHR vendor. A new sync may work.", true);
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join(".") || "manifest"}: ${issue.message}` : "invalid";
      throw new BulkExportError(`the export manifest is not Bulk Data 2.0 (${where})`, 200, `The EHR's export manifest is not a Bulk Data 2.0 manifest (${where}); report this to the EHR vendor.`, false);
    }
    const resolve = <T extends { url: string }>(entry: T): T => ({ ...entry, url: new URL(entry.url, statusUrl).toString() });
    const manifest = parsed.data;
    return {
      transactionTime: manifest.transactionTime,
      request: manifest.request,
      requiresAccessToken: manifest.requiresAccessToken,
      output: manifest.output.map(resolve),
      error: manifest.error.map(({ type, url }) => resolve({ type, url })),
      ...(manifest.deleted ? { deleted: manifest.deleted.map(({ type, url }) => resolve({ type, url })) } : {}),
    };
  }

  private midStreamError(error: unknown, signal: AbortSignal | undefined, idle: IdleTimer | undefined, url: string): unknown {
    if (signal?.aborted) return signal.reason;
    const stalled = idle?.fired ?? false;
    return new BulkExportError(
      `${fileName(url)}: the download ${stalled ? "stalled" : "was interrupted"} (${error instanceof Error ? error.name : "error"})`,
      null,
      "The connection to the EHR broke during a file download; the sync downloads the file again.",
      true,
    );
  }

  /** A BulkExportError for a response that is neither success nor retried: OperationOutcome diagnostics and a hint. */
  private async errorFrom(response: Response, context: RequestContext): Promise<BulkExportError> {
    const text = await response.text().catch(() => "");
    let outcome: OperationOutcome | undefined;
    try {
      const body = JSON.parse(text) as { resourceType?: unknown };
      if (body?.resourceType === "OperationOutcome") outcome = body as OperationOutcome;
    } catch {
      // not JSON
    }
    const diagnostics = outcomeText(outcome) ?? (response.statusText || `HTTP ${response.status}`);
    const { status } = response;
    const message = `${describe(context)} failed with HTTP ${status}: ${diagnostics}`;
    const transient = TRANSIENT_STATUSES.has(status) || status >= 500;
    const { hint, retryable } = hintFor(context, status, diagnostics, transient);
    return new BulkExportError(message, status, hint, retryable, outcome);
  }
}

function hintFor(context: RequestContext, status: number, diagnostics: string, transient: boolean): { hint: string; retryable: boolean } {
  if (transient) {
    return { hint: `The EHR is busy or failing (HTTP ${status}: ${diagnostics}); the sync will try again later. If it persists, contact the EHR administrator.`, retryable: true };
  }
  if (status === 401) {
    return { hint: "The EHR refused a freshly issued access token; check the app's Backend Services registration (client id, key, scopes) with the EHR administrator.", retryable: false };
  }
  if (status === 403) {
    return { hint: `The app's access does not cover this export (${diagnostics}); ask the EHR administrator to grant the app's client system/<type>.rs (or .read) for every exported type.`, retryable: false };
  }
  switch (context.kind) {
    case "kick-off": {
      const { level } = context;
      if (status === 404 && level.kind === "group") {
        return { hint: `Group ${level.groupId} was not found at the EHR (${diagnostics}); check the source's group id.`, retryable: false };
      }
      if (status === 404 || status === 405 || status === 501) {
        return { hint: `The EHR offers no ${level.kind}-level $export; choose another export level for the source or use the search fallback.`, retryable: false };
      }
      return { hint: `The EHR refused the export request (${diagnostics}); check the source's resource types, _since and type filters.`, retryable: false };
    }
    case "status":
      if (status === 404 || status === 410) return { hint: "The export is gone at the EHR (expired or cancelled); start a new sync.", retryable: true };
      return { hint: `The EHR reports the export failed (${diagnostics}); a new sync may work, and if it keeps failing contact the EHR administrator.`, retryable: false };
    case "file":
      if (status === 404 || status === 410) return { hint: "An export file expired at the EHR before it was downloaded; start a new sync.", retryable: true };
      return { hint: `The EHR refused an export file download (${diagnostics}); start a new sync, and if it keeps failing contact the EHR administrator.`, retryable: false };
    case "cancel":
      return { hint: `The EHR refused to cancel the export (${diagnostics}); it will expire on its own.`, retryable: false };
  }
}

function describe(context: RequestContext): string {
  switch (context.kind) {
    case "kick-off":
      return `${context.level.kind}-level $export kick-off`;
    case "status":
      return "export status request";
    case "cancel":
      return "export cancel";
    case "file":
      return "export file download";
  }
}

function outcomeText(outcome: OperationOutcome | undefined): string | null {
  const texts = (outcome?.issue ?? []).map((issue) => issue.diagnostics ?? issue.details?.text ?? issue.code).filter(Boolean);
  return texts.length > 0 ? texts.join("; ").slice(0, 300) : null;
}

/** The last path segment, for messages (file URLs carry job ids, never patient data). */
function fileName(url: string): string {
  try {
    return new URL(url).pathname.split("/").pop() || "export file";
  } catch {
    return "export file";
  }
}

function cleanLine(line: string): string {
  const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
  return trimmed.trim() === "" ? "" : trimmed;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Aborts when nothing has happened for ms milliseconds; arm() restarts the wait. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  fired = false;

  constructor(private readonly ms: number) {
    this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new DOMException("no data received in time", "TimeoutError"));
    }, this.ms);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
