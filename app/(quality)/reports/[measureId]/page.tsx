import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { Suspense } from "react";
import { RoleRefusal } from "@/app/role-refusal";
import { PanelSkeleton } from "@/app/(lead)/panel/_components/panel-skeleton";
import { clinicToday } from "@/lib/app/clinic-today";
import { getQueryClient } from "@/lib/query/get-query-client";
import { isMeasureId, measureDefinition, type MeasureId } from "@/lib/reports/measures";
import { defaultReportPeriod, parseCaseListQuery, parseReportFilters, REPORT_ROLES } from "@/lib/reports/report-requests";
import { ReportView } from "../_components/report-view";
import { reportsGate } from "../_server/gate";
import { loadFilterChoices, prefetchReport } from "../_server/prefetch";

export const dynamic = "force-dynamic";

type Params = Promise<{ measureId: string }>;
type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const { measureId } = await params;
  return { title: isMeasureId(measureId) ? `Report ${measureDefinition(measureId).number}` : "Report" };
}

/** One measure's report: every filter, the list's outcome and page live in the URL (bookmarkable). */
export default async function ReportPage({ params, searchParams }: { params: Params; searchParams: SearchParams }) {
  const gate = await reportsGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="reports page" allowed={REPORT_ROLES} />;
  const { measureId } = await params;
  if (!isMeasureId(measureId)) notFound();
  return (
    <Suspense fallback={<PanelSkeleton label="Loading the report…" />}>
      <PrefetchedReport measureId={measureId} searchParams={searchParams} role={gate.role} />
    </Suspense>
  );
}

async function PrefetchedReport({ measureId, searchParams, role }: { measureId: MeasureId; searchParams: SearchParams; role: string }) {
  const query = await searchParams;
  const filters = parseReportFilters(query);
  const list = parseCaseListQuery(query);
  const queryClient = getQueryClient();
  const [choices] = await Promise.all([loadFilterChoices(), filters.ok && list.ok ? prefetchReport(queryClient, measureId, filters.value, list.value, role) : Promise.resolve()]);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <ReportView measureId={measureId} choices={choices} defaultPeriod={defaultReportPeriod(clinicToday())} />
    </HydrationBoundary>
  );
}
