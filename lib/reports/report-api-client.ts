/**
 * Browser side of the reports API: fetchers, React Query options (the pages' server prefetch uses the same keys)
 * and typed failures. Types only from the server modules (erased), so nothing server-side reaches the bundle.
 */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import type { FilterProblem } from "../panel/filters";
import type {
  ExportAuditPage,
  ExportPlanResponse,
  ReportCasesResponse,
  ReportCatalogueResponse,
  ReportErrorBody,
  ReportExportsResponse,
  ReportExportView,
  ReportNotesResponse,
  ReportResponse,
} from "./report-handlers";
import type { MeasureId } from "./measures";
import type { ExportBody } from "./report-requests";

/** A failed reports API request with the API's error code, message (written for a person) and rejected parameters. */
export class ReportApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problems: FilterProblem[];
  readonly relaunch: string | undefined;

  constructor(status: number, code: string, message: string, problems: FilterProblem[] = [], relaunch?: string) {
    super(message);
    this.name = "ReportApiError";
    this.status = status;
    this.code = code;
    this.problems = problems;
    this.relaunch = relaunch;
  }
}

export async function callReportApi<T>(url: string, init: RequestInit = {}, fetchImpl: typeof fetch = fetch): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(url, { credentials: "same-origin", ...init, headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers } });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ReportApiError(0, "network", "The app could not be reached. Check the connection and try again.");
  }
  if (response.ok) return (await response.json()) as T;
  let body: Partial<ReportErrorBody> = {};
  try {
    body = (await response.json()) as Partial<ReportErrorBody>;
  } catch {
    // Not JSON (a proxy's error page): the status decides.
  }
  throw new ReportApiError(response.status, body.error ?? "unknown", body.message ?? `The request failed (HTTP ${response.status}).`, body.problems ?? [], body.relaunch);
}

/** Session, role and parameter errors do not heal by retrying; a flaky 5xx may, once. */
const retry = (failureCount: number, error: Error) => !(error instanceof ReportApiError && error.status > 0 && error.status < 500) && failureCount < 1;

const withQuery = (path: string, query: string) => (query ? `${path}?${query}` : path);

export function catalogueQueryOptions() {
  return queryOptions({
    queryKey: ["reports", "catalogue"] as const,
    queryFn: ({ signal }) => callReportApi<ReportCatalogueResponse>("/api/reports", { signal }),
    retry,
  });
}

/** `filterQuery` is the canonical query string of the report's filters (serializeReportFilters). */
export function reportQueryOptions(measureId: MeasureId, filterQuery: string) {
  return queryOptions({
    queryKey: ["reports", "report", measureId, filterQuery] as const,
    queryFn: ({ signal }) => callReportApi<ReportResponse>(withQuery(`/api/reports/${measureId}`, filterQuery), { signal }),
    retry,
    placeholderData: keepPreviousData,
  });
}

/** `listQuery` is the canonical outcome/page/size part (serializeCaseList). */
export function casesQueryOptions(measureId: MeasureId, filterQuery: string, listQuery: string) {
  const query = [filterQuery, listQuery].filter((q) => q !== "").join("&");
  return queryOptions({
    queryKey: ["reports", "patients", measureId, query] as const,
    queryFn: ({ signal }) => callReportApi<ReportCasesResponse>(withQuery(`/api/reports/${measureId}/patients`, query), { signal }),
    retry,
    placeholderData: keepPreviousData,
  });
}

export function notesQueryOptions(measureId: MeasureId, filterQuery: string) {
  return queryOptions({
    queryKey: ["reports", "notes", measureId, filterQuery] as const,
    queryFn: ({ signal }) => callReportApi<ReportNotesResponse>(withQuery(`/api/reports/${measureId}/notes`, filterQuery), { signal }),
    retry,
  });
}

export function recentExportsQueryOptions() {
  return queryOptions({
    queryKey: ["reports", "exports"] as const,
    queryFn: ({ signal }) => callReportApi<ReportExportsResponse>("/api/reports/exports", { signal }),
    staleTime: 0,
    retry,
  });
}

/** How often a background export's progress is polled. */
export const EXPORT_POLL_MS = 1000;

/** One background export, polled every second until it is done or has failed. */
export function exportStateQueryOptions(exportId: string) {
  return queryOptions({
    queryKey: ["reports", "export", exportId] as const,
    queryFn: ({ signal }) => callReportApi<ReportExportView>(`/api/reports/exports/${encodeURIComponent(exportId)}`, { signal }),
    staleTime: 0,
    refetchInterval: (query) => (query.state.data?.status === "done" || query.state.data?.status === "failed" ? false : EXPORT_POLL_MS),
    retry,
  });
}

export function auditQueryOptions(page: number, size: number) {
  const query = new URLSearchParams({ page: String(page), size: String(size) }).toString();
  return queryOptions({
    queryKey: ["reports", "audit", page, size] as const,
    queryFn: ({ signal }) => callReportApi<ExportAuditPage>(`/api/reports/audit?${query}`, { signal }),
    retry,
    placeholderData: keepPreviousData,
  });
}

/** Plans an export: a URL to download now, or a background job to follow. */
export function postExport(measureId: MeasureId, body: ExportBody): Promise<ExportPlanResponse> {
  return callReportApi<ExportPlanResponse>(`/api/reports/${measureId}/exports`, { method: "POST", body: JSON.stringify(body) });
}
