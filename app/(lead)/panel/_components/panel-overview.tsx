"use client";

import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { parseSourceParam } from "@/lib/panel/filters";
import { formatTimestamp } from "@/lib/panel/format";
import { chartsQueryOptions, PanelRequestError, summaryQueryOptions } from "@/lib/panel/panel-query";
import type { PanelSummary } from "@/lib/panel/types";
import { formatDate } from "@/lib/patient-view/format";
import { AttentionFigures } from "./attention-figures";
import { NoSyncYet } from "./no-sync-yet";
import { OnJakSection } from "./on-jak-section";
import { PanelCharts } from "./panel-charts";
import { PanelError } from "./panel-error";
import { PanelSkeleton } from "./panel-skeleton";
import { ResponseRateSection } from "./response-rate-section";
import { SourcePicker } from "./source-picker";

/** The overview for the source in the URL; choosing another source updates the URL without reloading the page. */
export function PanelOverview() {
  const searchParams = useSearchParams();
  const parsed = parseSourceParam(searchParams);
  const setSource = (source: string | null) => {
    const next = new URLSearchParams(searchParams);
    if (source) next.set("source", source);
    else next.delete("source");
    const query = next.toString();
    window.history.pushState(null, "", query ? `?${query}` : window.location.pathname);
  };
  if (!parsed.ok) return <PanelError error={new PanelRequestError(400, "bad-request", "Bad source.", parsed.problems)} resetHref="/panel" />;
  return <OverviewFor source={parsed.source} onSource={setSource} />;
}

function OverviewFor({ source, onSource }: { source: string | null; onSource: (source: string | null) => void }) {
  const summary = useQuery(summaryQueryOptions(source));
  const charts = useQuery(chartsQueryOptions(source));
  if (summary.isPending) return <PanelSkeleton label="Loading the panel's figures…" />;
  if (summary.isError) return <PanelError error={summary.error} onRetry={() => void summary.refetch()} />;
  const s = summary.data;
  return (
    <div className="space-y-4" aria-busy={summary.isPlaceholderData}>
      <OverviewHeader summary={s} updating={summary.isPlaceholderData || summary.isFetching} onSource={onSource} />
      {s.evaluatedPatients.count === 0 ? (
        <NoSyncYet lastSync={s.lastSync} source={source} />
      ) : (
        <>
          <OnJakSection summary={s} />
          <AttentionFigures summary={s} source={source} />
          <ResponseRateSection summary={s} />
          <PanelCharts query={charts} />
        </>
      )}
    </div>
  );
}

function OverviewHeader({ summary, updating, onSource }: { summary: PanelSummary; updating: boolean; onSource: (source: string | null) => void }) {
  const { evaluatedAsOf, lastSync } = summary;
  const asOf =
    evaluatedAsOf.min && evaluatedAsOf.max
      ? evaluatedAsOf.min === evaluatedAsOf.max
        ? `Evaluated as of ${formatDate(evaluatedAsOf.max)}`
        : `Evaluated as of ${formatDate(evaluatedAsOf.min)} to ${formatDate(evaluatedAsOf.max)}`
      : null;
  return (
    <div className="flex flex-wrap items-center justify-between gap-3">
      <SourcePicker sources={summary.sources} value={summary.source} onChange={onSource} />
      <p className="text-sm text-slate-600" data-testid="panel-freshness">
        {asOf ? `${asOf} · ` : ""}
        {lastSync ? `last sync ${formatTimestamp(lastSync.finishedAt ?? lastSync.startedAt)} (${lastSync.status})` : "no sync run yet"}
        {updating ? (
          <span role="status" className="ml-2 font-medium text-status-info">
            Updating…
          </span>
        ) : null}
      </p>
    </div>
  );
}
