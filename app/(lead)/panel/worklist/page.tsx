import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { Suspense } from "react";
import { parsePanelFilters } from "@/lib/panel/filters";
import { getQueryClient } from "@/lib/query/get-query-client";
import { RoleRefusal } from "../../../role-refusal";
import { WorklistSkeleton } from "../_components/worklist/worklist-skeleton";
import { WorklistView } from "../_components/worklist/worklist-view";
import { PANEL_ROLES, panelGate } from "../_server/gate";
import { loadFilterOptions, prefetchWorklist } from "../_server/prefetch";

export const metadata: Metadata = { title: "Worklist" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** The worklist: every filter, the sort and the page live in the URL, so a filtered list can be bookmarked and shared. */
export default async function WorklistPage({ searchParams }: { searchParams: SearchParams }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="panel" allowed={PANEL_ROLES} />;
  return (
    <Suspense fallback={<WorklistSkeleton />}>
      <PrefetchedWorklist searchParams={searchParams} />
    </Suspense>
  );
}

async function PrefetchedWorklist({ searchParams }: { searchParams: SearchParams }) {
  const parsed = parsePanelFilters(await searchParams);
  const queryClient = getQueryClient();
  const [options] = await Promise.all([loadFilterOptions(), parsed.ok ? prefetchWorklist(queryClient, parsed.filters) : Promise.resolve()]);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <WorklistView options={options} />
    </HydrationBoundary>
  );
}
