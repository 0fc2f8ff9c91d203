/**
 * Server-side prefetch of the panel's queries into React Query's cache (same keys as the browser's), so the
 * first HTML holds the figures. The page has already passed panelGate(), so this reads the database
 * directly with the same functions the API routes call. A failure is left to the client query, which shows
 * the error and a retry.
 */
import "server-only";
import type { QueryClient } from "@tanstack/react-query";
import { headers } from "next/headers";
import { eventLogger } from "@/lib/app/log";
import { auditOrigin, tryRecordAudit } from "@/lib/audit/audit";
import { syncedPatientViewEntry } from "@/lib/audit/events";
import { pgPool } from "@/lib/db/pool";
import { clinicToday } from "@/lib/app/clinic-today";
import { serializePanelFilters, type PanelFilters } from "@/lib/panel/filters";
import { chartsQueryOptions, summaryQueryOptions, syncedPatientQueryOptions, worklistQueryOptions } from "@/lib/panel/panel-query";
import { filterOptions, panelCharts, panelSummary, worklistPage } from "@/lib/panel/queries";
import { loadSyncedPatientView } from "@/lib/panel/synced-patient";
import type { FilterOptions } from "@/lib/panel/types";

const log = eventLogger("panel");

function logFailure(what: string, error: unknown): void {
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null;
  log(`prefetch-${what}-failed`, { error: error instanceof Error ? error.name : "unknown", sqlstate: code });
}

export async function prefetchOverview(queryClient: QueryClient, source: string | null): Promise<void> {
  const today = clinicToday();
  await Promise.all([
    panelSummary(pgPool(), { source, today })
      .then((data) => queryClient.setQueryData(summaryQueryOptions(source).queryKey, data))
      .catch((error: unknown) => logFailure("summary", error)),
    panelCharts(pgPool(), { source, today })
      .then((data) => queryClient.setQueryData(chartsQueryOptions(source).queryKey, data))
      .catch((error: unknown) => logFailure("charts", error)),
  ]);
}

/** Prefetches one page of the worklist's rows. */
export async function prefetchWorklist(queryClient: QueryClient, filters: PanelFilters): Promise<void> {
  try {
    const data = await worklistPage(pgPool(), filters, { today: clinicToday() });
    queryClient.setQueryData(worklistQueryOptions(serializePanelFilters(filters)).queryKey, data);
  } catch (error) {
    logFailure("worklist", error);
  }
}

/** The filter form's choices (sources, prescribers); empty lists when the database cannot say. */
export async function loadFilterOptions(): Promise<FilterOptions> {
  try {
    return await filterOptions(pgPool(), { source: null });
  } catch (error) {
    logFailure("filter-options", error);
    return { sources: [], prescribers: [] };
  }
}

/** Prefetches a synced patient's view for the clinic lead the page's gate let in; the drill-down is audited. */
export async function prefetchSyncedPatient(queryClient: QueryClient, source: string, patientId: string, actor: { practitionerId: string | null; role: string }): Promise<void> {
  const origin = auditOrigin(await headers());
  const audit = (status: number, reason?: string) =>
    tryRecordAudit(pgPool(), syncedPatientViewEntry({ actor, source, patientId, status, via: "page", origin, ...(reason ? { reason } : {}) }));
  try {
    const view = await loadSyncedPatientView(pgPool(), source, patientId, { asOf: clinicToday() });
    await audit(view ? 200 : 404, view ? undefined : "not-synced");
    // Not found is left to the client query, which gets the API's 404 and says so.
    if (view) queryClient.setQueryData(syncedPatientQueryOptions(source, patientId).queryKey, view);
  } catch (error) {
    await audit(500, error instanceof Error ? error.name : "error");
    logFailure("patient", error);
  }
}
