/**
 * Browser side of the code-coverage page's jobs: the stored view and how its computation is doing, the on-demand
 * recomputation, and a mapping change's re-evaluation. The job being followed lives in the cached response
 * itself (its `job`), so every poll asks about the same computation until it is done.
 */
import { queryOptions, type QueryClient } from "@tanstack/react-query";
import type { JobProgress } from "@/lib/jobs/queue";
import type { CodeCoverageResponse } from "@/lib/panel/code-coverage";
import { PanelApiError } from "@/lib/panel/panel-api-client";
import type { CodeCoverageRefreshResponse, CodeReevaluationStatusResponse } from "@/lib/panel/panel-handlers";
import type { PanelApiErrorBody } from "@/lib/panel/sync-types";

/** How often the page asks while a computation or re-evaluation is queued or running. */
export const CODE_JOB_POLL_MS = 2000;

export function jobPending(state: JobProgress | undefined): boolean {
  return state === "queued" || state === "running";
}

async function requestJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init, headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}) } });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new PanelApiError(0, "network", "The app could not be reached. Check the connection and try again.");
  }
  if (response.ok) return (await response.json()) as T;
  const body = (await response.json().catch(() => ({}))) as Partial<PanelApiErrorBody>;
  throw new PanelApiError(response.status, body.error ?? "unknown", body.message ?? `The request failed (HTTP ${response.status}).`, body.relaunch);
}

const COVERAGE_KEY = ["panel", "code-coverage"] as const;

function coverageUrl(source: string | null, jobId: string | null): string {
  const params = new URLSearchParams();
  if (source) params.set("source", source);
  if (jobId) params.set("job", jobId);
  const query = params.toString();
  return query ? `/api/panel/code-coverage?${query}` : "/api/panel/code-coverage";
}

/** The stored view; while the last answer's computation is pending, each poll asks about that computation. */
export function codeCoverageViewQueryOptions(queryClient: QueryClient, source: string | null) {
  const queryKey = [...COVERAGE_KEY, source ?? "all"] as const;
  return queryOptions({
    queryKey,
    queryFn: ({ signal }) => {
      const previous = queryClient.getQueryData<CodeCoverageResponse>(queryKey)?.job;
      return requestJson<CodeCoverageResponse>(coverageUrl(source, previous && jobPending(previous.state) ? previous.jobId : null), { signal });
    },
    staleTime: 30_000,
    refetchInterval: (query) => (jobPending(query.state.data?.job?.state) ? CODE_JOB_POLL_MS : false),
    retry: (failureCount, error) => !(error instanceof PanelApiError && error.status >= 400 && error.status < 500) && failureCount < 1,
  });
}

/** Follows a computation in every cached coverage view (it recomputes the shown one too) and asks again now. */
export async function followCoverageJob(queryClient: QueryClient, jobId: string): Promise<void> {
  queryClient.setQueriesData<CodeCoverageResponse>({ queryKey: COVERAGE_KEY }, (data) => (data ? { ...data, job: { jobId, state: "queued" } } : data));
  await queryClient.invalidateQueries({ queryKey: COVERAGE_KEY });
}

export function postCoverageRefresh(source: string | null): Promise<CodeCoverageRefreshResponse> {
  return requestJson<CodeCoverageRefreshResponse>("/api/panel/code-coverage", { method: "POST", body: JSON.stringify(source ? { source } : {}) });
}

/** A mapping change's re-evaluation, polled until it is done or failed. */
export function codeReevaluationQueryOptions(jobId: string) {
  return queryOptions({
    queryKey: ["panel", "code-reevaluation", jobId] as const,
    queryFn: ({ signal }) => requestJson<CodeReevaluationStatusResponse>(`/api/panel/code-mappings?job=${encodeURIComponent(jobId)}`, { signal }),
    refetchInterval: (query) => (query.state.status === "error" || (query.state.data && !jobPending(query.state.data.state)) ? false : CODE_JOB_POLL_MS),
    retry: (failureCount, error) => !(error instanceof PanelApiError && error.status >= 400 && error.status < 500) && failureCount < 2,
  });
}
