/**
 * React Query options for the panel API, shared by the pages' server prefetch (same keys) and the browser.
 * Errors keep the API's status and code so a page can choose between relaunch, refusal, a list of bad
 * parameters and a retry.
 */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import type { FilterProblem } from "./filters";
import type { PanelCharts, PanelErrorBody, PanelSummary, SyncedPatientViewResponse, WorklistPage } from "./types";

export class PanelRequestError extends Error {
  readonly status: number;
  readonly code: PanelErrorBody["error"] | "unknown";
  readonly problems: FilterProblem[];
  readonly relaunch: string | undefined;

  constructor(status: number, code: PanelErrorBody["error"] | "unknown", message: string, problems: FilterProblem[] = [], relaunch?: string) {
    super(message);
    this.name = "PanelRequestError";
    this.status = status;
    this.code = code;
    this.problems = problems;
    this.relaunch = relaunch;
  }
}

const KNOWN: ReadonlyArray<PanelErrorBody["error"]> = ["bad-request", "not-found", "no-session", "session-expired", "forbidden", "server-error"];

export async function fetchPanelJson<T>(url: string, fetchImpl: typeof fetch = fetch, signal?: AbortSignal): Promise<T> {
  const response = await fetchImpl(url, { headers: { accept: "application/json" }, credentials: "same-origin", ...(signal ? { signal } : {}) });
  if (response.ok) return (await response.json()) as T;
  let body: Partial<PanelErrorBody> & { relaunch?: string } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's error page): the status alone decides.
  }
  const code = body.error && KNOWN.includes(body.error) ? body.error : "unknown";
  throw new PanelRequestError(response.status, code, body.message ?? `The panel request failed (HTTP ${response.status}).`, body.problems ?? [], body.relaunch);
}

/** Session, role and parameter errors do not heal by retrying; a flaky 5xx may, once. */
const retry = (failureCount: number, error: Error) => !(error instanceof PanelRequestError && error.status < 500) && failureCount < 1;

const sourceQuery = (source: string | null) => (source ? `?source=${encodeURIComponent(source)}` : "");

export function summaryQueryOptions(source: string | null) {
  return queryOptions({
    queryKey: ["panel", "summary", source ?? ""] as const,
    queryFn: ({ signal }) => fetchPanelJson<PanelSummary>(`/api/panel/summary${sourceQuery(source)}`, fetch, signal),
    retry,
    placeholderData: keepPreviousData,
  });
}

export function chartsQueryOptions(source: string | null) {
  return queryOptions({
    queryKey: ["panel", "charts", source ?? ""] as const,
    queryFn: ({ signal }) => fetchPanelJson<PanelCharts>(`/api/panel/charts${sourceQuery(source)}`, fetch, signal),
    retry,
    placeholderData: keepPreviousData,
  });
}

/** `query` is the canonical query string of the filters (serializePanelFilters), so equal filters share a cache entry. */
export function worklistQueryOptions(query: string) {
  return queryOptions({
    queryKey: ["panel", "worklist", query] as const,
    queryFn: ({ signal }) => fetchPanelJson<WorklistPage>(`/api/panel/worklist${query ? `?${query}` : ""}`, fetch, signal),
    retry,
    placeholderData: keepPreviousData,
  });
}

export function syncedPatientQueryOptions(source: string, patientId: string) {
  return queryOptions({
    queryKey: ["panel", "patient", source, patientId] as const,
    queryFn: ({ signal }) => fetchPanelJson<SyncedPatientViewResponse>(`/api/panel/patients/${encodeURIComponent(source)}/${encodeURIComponent(patientId)}`, fetch, signal),
    retry,
  });
}
