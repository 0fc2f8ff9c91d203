/**
 * The FHIR HTTP edge: GET (and a create POST) with a Bearer token and Accept application/fhir+json; retries 429 and 503 (and
 * network errors) honouring Retry-After (seconds or HTTP date, capped) else exponential back-off with full
 * jitter; a typed FhirHttpError carrying the status and OperationOutcome; paging through Bundle.link
 * "next" (same origin as the server only: the token never goes elsewhere); counts requests and bytes.
 */
import type { Bundle, OperationOutcome, Resource } from "@medplum/fhirtypes";
import { fetchTransport, nodeHttpTransport, type FhirTransport, type TransportResponse } from "./http-transport";

export class FhirHttpError extends Error {
  override readonly name = "FhirHttpError";
  constructor(
    readonly status: number | null,
    message: string,
    readonly outcome?: OperationOutcome,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface RequesterStats {
  requests: number;
  bytes: number;
  retries: number;
}

export interface FhirRequesterOptions {
  /** FHIR base URL (the iss). */
  baseUrl: string;
  accessToken?: string;
  /** A fetch to send requests through (tests fake a server with one); default: node:http(s) (http-transport.ts). */
  fetch?: typeof fetch;
  /** Retries after the first attempt for 429/503/network errors (default 3). */
  maxRetries?: number;
  /** Largest Retry-After honoured, in ms (default 5000); longer waits count as failure. */
  maxRetryAfterMs?: number;
  /** First back-off step in ms (default 200), doubled per retry, full jitter. */
  baseDelayMs?: number;
  /** Per-request timeout in ms (default 20000). */
  timeoutMs?: number;
  /** Most pages followed per search (default 50). */
  maxPages?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

const RETRYABLE = new Set([429, 503]);

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unparseable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

function outcomeMessage(outcome: OperationOutcome | undefined): string | null {
  const issue = outcome?.issue?.[0];
  if (!issue) return null;
  return issue.diagnostics ?? issue.details?.text ?? issue.code ?? null;
}

const ok = (res: TransportResponse): boolean => res.status >= 200 && res.status < 300;

export class FhirRequester {
  readonly stats: RequesterStats = { requests: 0, bytes: 0, retries: 0 };
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly opts: Required<Omit<FhirRequesterOptions, "accessToken" | "baseUrl" | "fetch">> & { accessToken?: string };
  private readonly transport: FhirTransport;

  constructor(options: FhirRequesterOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.origin = new URL(this.baseUrl).origin;
    this.opts = {
      accessToken: options.accessToken,
      maxRetries: options.maxRetries ?? 3,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 5000,
      baseDelayMs: options.baseDelayMs ?? 200,
      timeoutMs: options.timeoutMs ?? 20_000,
      maxPages: options.maxPages ?? 50,
      sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    this.transport = options.fetch ? fetchTransport(options.fetch) : nodeHttpTransport;
  }

  /** Absolute URL for a path relative to the base ("Observation?patient=1"); absolute URLs must be on the server's origin. */
  resolve(pathOrUrl: string): string {
    if (/^https?:\/\//i.test(pathOrUrl)) {
      if (new URL(pathOrUrl).origin !== this.origin) throw new FhirHttpError(null, "refusing to follow a link to another origin");
      return pathOrUrl;
    }
    return `${this.baseUrl}/${pathOrUrl.replace(/^\/+/, "")}`;
  }

  private backoff(attempt: number): number {
    const cap = this.opts.baseDelayMs * 2 ** attempt;
    return Math.round(cap / 2 + (this.opts.random() * cap) / 2);
  }

  /** GET a JSON resource, with retries. */
  async get<T = Resource>(pathOrUrl: string): Promise<T> {
    const url = this.resolve(pathOrUrl);
    const headers: Record<string, string> = { accept: "application/fhir+json" };
    if (this.opts.accessToken) headers.authorization = `Bearer ${this.opts.accessToken}`;
    for (let attempt = 0; ; attempt++) {
      let res: TransportResponse;
      this.stats.requests++;
      try {
        res = await this.transport(url, { method: "GET", headers, timeoutMs: this.opts.timeoutMs });
      } catch (error) {
        if (attempt < this.opts.maxRetries) {
          this.stats.retries++;
          await this.opts.sleep(this.backoff(attempt));
          continue;
        }
        const timeout = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
        throw new FhirHttpError(null, timeout ? "timed out" : "network error");
      }
      const text = res.text;
      this.stats.bytes += res.bytes;
      if (ok(res)) {
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new FhirHttpError(res.status, "response is not JSON");
        }
      }
      let outcome: OperationOutcome | undefined;
      try {
        const body = JSON.parse(text) as Resource;
        if (body.resourceType === "OperationOutcome") outcome = body;
      } catch {
        // not JSON
      }
      const retryAfter = parseRetryAfter(res.header("retry-after"), this.opts.now());
      if (RETRYABLE.has(res.status) && attempt < this.opts.maxRetries && (retryAfter === null || retryAfter <= this.opts.maxRetryAfterMs)) {
        this.stats.retries++;
        await this.opts.sleep(retryAfter ?? this.backoff(attempt));
        continue;
      }
      const message = outcomeMessage(outcome) ?? (res.statusText || `HTTP ${res.status}`);
      throw new FhirHttpError(res.status, message.slice(0, 300), outcome, retryAfter ?? undefined);
    }
  }

  /**
   * POST a resource (create). Not idempotent, so only a 429 (the server refused before doing anything) is
   * retried; network errors, timeouts and 503 are reported, never repeated (no duplicate Observations).
   * Returns the server's body (when JSON) and its Location header.
   */
  async post<T = Resource>(path: string, resource: Resource): Promise<{ status: number; body: T | null; location: string | null }> {
    const url = this.resolve(path);
    const headers: Record<string, string> = { accept: "application/fhir+json", "content-type": "application/fhir+json", prefer: "return=representation" };
    if (this.opts.accessToken) headers.authorization = `Bearer ${this.opts.accessToken}`;
    const payload = JSON.stringify(resource);
    for (let attempt = 0; ; attempt++) {
      let res: TransportResponse;
      this.stats.requests++;
      try {
        res = await this.transport(url, { method: "POST", headers, body: payload, timeoutMs: this.opts.timeoutMs });
      } catch (error) {
        const timeout = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
        throw new FhirHttpError(null, timeout ? "timed out" : "network error");
      }
      const text = res.text;
      this.stats.bytes += res.bytes;
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      if (ok(res)) return { status: res.status, body: parsed as T | null, location: res.header("location") };
      const outcome = (parsed as Resource | null)?.resourceType === "OperationOutcome" ? (parsed as OperationOutcome) : undefined;
      const retryAfter = parseRetryAfter(res.header("retry-after"), this.opts.now());
      if (res.status === 429 && attempt < this.opts.maxRetries && (retryAfter === null || retryAfter <= this.opts.maxRetryAfterMs)) {
        this.stats.retries++;
        await this.opts.sleep(retryAfter ?? this.backoff(attempt));
        continue;
      }
      const message = outcomeMessage(outcome) ?? (res.statusText || `HTTP ${res.status}`);
      throw new FhirHttpError(res.status, message.slice(0, 300), outcome, retryAfter ?? undefined);
    }
  }

  /** Runs a search and follows next links; returns every entry's resource (matches and includes). */
  async searchAll(path: string): Promise<{ resources: Resource[]; pages: number }> {
    const resources: Resource[] = [];
    let next: string | undefined = path;
    let pages = 0;
    const seen = new Set<string>();
    while (next) {
      if (pages >= this.opts.maxPages) throw new FhirHttpError(null, `more than ${this.opts.maxPages} pages`);
      const url = this.resolve(next);
      if (seen.has(url)) break;
      seen.add(url);
      const bundle: Bundle = await this.get<Bundle>(url);
      pages++;
      if (bundle.resourceType !== "Bundle") throw new FhirHttpError(200, "search did not return a Bundle");
      for (const entry of bundle.entry ?? []) if (entry.resource) resources.push(entry.resource);
      next = bundle.link?.find((l) => l.relation === "next")?.url;
    }
    return { resources, pages };
  }
}
