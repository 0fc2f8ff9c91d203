import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { Suspense } from "react";
import { RoleRefusal } from "@/app/role-refusal";
import { getQueryClient } from "@/lib/query/get-query-client";
import { REPORT_ROLES } from "@/lib/reports/report-requests";
import { PanelSkeleton } from "@/app/(lead)/panel/_components/panel-skeleton";
import { ReportCatalogue } from "./_components/report-catalogue";
import { reportsGate } from "./_server/gate";
import { prefetchCatalogue } from "./_server/prefetch";

export const metadata: Metadata = { title: "Reports" };
export const dynamic = "force-dynamic";

/** The report catalogue: the eight quality measures, how to share them outside the clinic, and the audit trail. */
export default async function ReportsPage() {
  const gate = await reportsGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="reports page" allowed={REPORT_ROLES} />;
  return (
    <Suspense fallback={<PanelSkeleton label="Loading the report catalogue…" />}>
      <PrefetchedCatalogue showAudit={gate.role === "quality"} />
    </Suspense>
  );
}

async function PrefetchedCatalogue({ showAudit }: { showAudit: boolean }) {
  const queryClient = getQueryClient();
  await prefetchCatalogue(queryClient);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <ReportCatalogue showAudit={showAudit} />
    </HydrationBoundary>
  );
}
