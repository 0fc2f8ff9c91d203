import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { Suspense } from "react";
import { getQueryClient } from "@/lib/query/get-query-client";
import { parseSourceParam } from "@/lib/panel/filters";
import { RoleRefusal } from "../../role-refusal";
import { PanelOverview } from "./_components/panel-overview";
import { PanelSkeleton } from "./_components/panel-skeleton";
import { PANEL_ROLES, panelGate } from "./_server/gate";
import { prefetchOverview } from "./_server/prefetch";

export const metadata: Metadata = { title: "Panel" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** The overview: headline figures, response rates and the two charts, for one source or all. */
export default async function PanelPage({ searchParams }: { searchParams: SearchParams }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="panel" allowed={PANEL_ROLES} />;
  return (
    <Suspense fallback={<PanelSkeleton label="Loading the panel's figures…" />}>
      <PrefetchedOverview searchParams={searchParams} />
    </Suspense>
  );
}

async function PrefetchedOverview({ searchParams }: { searchParams: SearchParams }) {
  const parsed = parseSourceParam(await searchParams);
  const queryClient = getQueryClient();
  if (parsed.ok) await prefetchOverview(queryClient, parsed.source);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <PanelOverview />
    </HydrationBoundary>
  );
}
