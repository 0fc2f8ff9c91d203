import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { RoleRefusal } from "@/app/role-refusal";
import { pgPool } from "@/lib/db/pool";
import { syncStatusQueryOptions } from "@/lib/panel/panel-api-client";
import { readSources, readSyncStatus } from "@/lib/panel/sync-status";
import { getQueryClient } from "@/lib/query/get-query-client";
import { panelGate, PANEL_ROLES } from "../_server/gate";
import { SyncDashboard } from "./_components/sync-dashboard";

export const metadata: Metadata = { title: "Sync" };
export const dynamic = "force-dynamic";

/**
 * Sources, runs and live progress, for one source (?source=, as the panel's tabs carry it) or all. The first HTML
 * holds the status; the client polls while a run is active.
 */
export default async function SyncPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="sync page" allowed={PANEL_ROLES} />;
  const params = await searchParams;
  const requested = typeof params.source === "string" && params.source ? params.source : null;
  const queryClient = getQueryClient();
  let sources: Array<{ id: string; name: string; lastSuccessAt: string | null }> = [];
  let source: string | null = null;
  try {
    const pool = pgPool();
    sources = (await readSources(pool)).map((s) => ({ id: s.id, name: s.name, lastSuccessAt: s.lastSuccessAt }));
    source = requested && sources.some((s) => s.id === requested) ? requested : null;
    queryClient.setQueryData(syncStatusQueryOptions(source).queryKey, await readSyncStatus(pool, { source }));
  } catch {
    // The database did not answer: the client's own request shows the error with a retry.
  }
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <SyncDashboard sources={sources} source={source} />
    </HydrationBoundary>
  );
}
