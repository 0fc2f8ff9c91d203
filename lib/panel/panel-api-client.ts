/**
 * Browser side of the sync and code-coverage APIs: fetchers, React Query options and typed failures. Types only
 * from the server modules (erased), so nothing server-side reaches the client bundle.
 */
import { queryOptions } from "@tanstack/react-query";
import type { CodeCoverageResponse } from "./code-coverage";
import type { CodeMappingChangeResponse } from "./panel-handlers";
import type { CancelRunResponse, PanelApiErrorBody, SyncNowRequest, SyncNowResponse, SyncStatusResponse } from "./sync-types";

/** A failed panel API request with the API's error code and message (written for a person). */
export class PanelApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly relaunch: string | undefined;

  constructor(status: number, code: string, message: string, relaunch?: string) {
    super(message);
    this.name = "PanelApiError";
    this.status = status;
    this.code = code;
    this.relaunch = relaunch;
  }
}

async function call<T>(url: string, init: RequestInit = {}, fetchImpl: typeof fetch = fetch): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(url, { credentials: "same-origin", ...init, headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers } });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new PanelApiError(0, "network", "The app could not be reached. Check the connection and try again.");
  }
  if (response.ok) return (await response.json()) as T;
  let body: Partial<PanelApiErrorBody> = {};
  try {
    body = (await response.json()) as Partial<PanelApiErrorBody>;
  } catch {
    // Not JSON (a proxy's error page): the status decides.
  }
  throw new PanelApiError(response.status, body.error ?? "unknown", body.message ?? `The request failed (HTTP ${response.status}).`, body.relaunch);
}

const withSource = (path: string, source: string | null) => (source ? `${path}?source=${encodeURIComponent(source)}` : path);

/** How often the sync page polls while a run is active. */
export const SYNC_POLL_MS = 1500;

export function syncStatusQueryOptions(source: string | null = null) {
  return queryOptions({
    queryKey: ["panel", "sync", source ?? "all"] as const,
    queryFn: ({ signal }) => call<SyncStatusResponse>(withSource("/api/panel/sync", source), { signal }),
    staleTime: 0,
    // Poll only while a run is queued or running; stop when everything is idle.
    refetchInterval: (query) => ((query.state.data?.active.length ?? 0) > 0 ? SYNC_POLL_MS : false),
    retry: (failureCount, error) => !(error instanceof PanelApiError && error.status >= 400 && error.status < 500) && failureCount < 2,
  });
}

export function postSyncNow(body: SyncNowRequest): Promise<SyncNowResponse> {
  return call<SyncNowResponse>("/api/panel/sync", { method: "POST", body: JSON.stringify(body) });
}

export function cancelSyncRun(runId: string): Promise<CancelRunResponse> {
  return call<CancelRunResponse>(`/api/panel/sync/${encodeURIComponent(runId)}`, { method: "DELETE" });
}

export function codeCoverageQueryOptions(source: string | null = null) {
  return queryOptions({
    queryKey: ["panel", "code-coverage", source ?? "all"] as const,
    queryFn: ({ signal }) => call<CodeCoverageResponse>(withSource("/api/panel/code-coverage", source), { signal }),
    staleTime: 30_000,
    retry: (failureCount, error) => !(error instanceof PanelApiError && error.status >= 400 && error.status < 500) && failureCount < 1,
  });
}

export function postCodeMapping(body: { system: string; code: string; concept: string; display?: string }): Promise<CodeMappingChangeResponse> {
  return call<CodeMappingChangeResponse>("/api/panel/code-mappings", { method: "POST", body: JSON.stringify(body) });
}

export function deleteCodeMapping(id: string): Promise<CodeMappingChangeResponse> {
  return call<CodeMappingChangeResponse>("/api/panel/code-mappings", { method: "DELETE", body: JSON.stringify({ id }) });
}
