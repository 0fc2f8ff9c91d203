/**
 * Server-side prefetch of the report pages' queries into React Query's cache (same keys as the browser's), so the
 * first HTML holds the figures. The page has already passed reportsGate(), so this reads the database directly
 * with the functions the API routes call. A failure is left to the client query, which shows it with a retry.
 */
import "server-only";
import type { QueryClient } from "@tanstack/react-query";
import { clinicToday } from "@/lib/app/clinic-today";
import { eventLogger } from "@/lib/app/log";
import { pgPool } from "@/lib/db/pool";
import type { MeasureId } from "@/lib/reports/measures";
import { catalogueQueryOptions, casesQueryOptions, reportQueryOptions } from "@/lib/reports/report-api-client";
import { catalogueResponse, type ReportFilterChoices } from "@/lib/reports/report-handlers";
import { reportCasePage, reportCatalogueCounts, reportFilterChoices, reportSummary } from "@/lib/reports/report-queries";
import { canOpenPatient, reportRequestFor, serializeCaseList, serializeReportFilters, type CaseListState, type ReportFilterState } from "@/lib/reports/report-requests";
import { measureDefinition } from "@/lib/reports/measures";

const log = eventLogger("reports");

function logFailure(what: string, error: unknown): void {
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null;
  log(`prefetch-${what}-failed`, { error: error instanceof Error ? error.name : "unknown", sqlstate: code });
}

export async function prefetchCatalogue(queryClient: QueryClient): Promise<void> {
  try {
    const pool = pgPool();
    const [counts, filters] = await Promise.all([reportCatalogueCounts(pool), reportFilterChoices(pool)]);
    queryClient.setQueryData(catalogueQueryOptions().queryKey, catalogueResponse(counts, filters));
  } catch (error) {
    logFailure("catalogue", error);
  }
}

/** The report's figures and the first page of its list, for the filters in the URL. */
export async function prefetchReport(queryClient: QueryClient, measureId: MeasureId, filters: ReportFilterState, list: CaseListState, role: string): Promise<void> {
  const request = reportRequestFor(measureId, filters, clinicToday());
  if (!request.ok) return;
  const filterQuery = serializeReportFilters(filters);
  const pool = pgPool();
  await Promise.all([
    reportSummary(pool, request.value)
      .then((summary) => queryClient.setQueryData(reportQueryOptions(measureId, filterQuery).queryKey, { definition: measureDefinition(measureId), summary }))
      .catch((error: unknown) => logFailure("report", error)),
    reportCasePage(pool, request.value, { page: list.page, pageSize: list.size, outcome: list.outcome })
      .then((page) => queryClient.setQueryData(casesQueryOptions(measureId, filterQuery, serializeCaseList(list)).queryKey, { ...page, canOpenPatient: canOpenPatient(role) }))
      .catch((error: unknown) => logFailure("patients", error)),
  ]);
}

/** The filter bar's choices (sources, prescribers); empty lists when the database cannot say. */
export async function loadFilterChoices(): Promise<ReportFilterChoices> {
  try {
    return await reportFilterChoices(pgPool());
  } catch (error) {
    logFailure("filter-choices", error);
    return { sources: [], prescribers: [] };
  }
}
