"use client";

import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { DEFAULT_FILTERS, describeFilters, hasNarrowingFilters, parsePanelFilters, serializePanelFilters, worklistHref, type PanelFilters } from "@/lib/panel/filters";
import { plural } from "@/lib/panel/format";
import { PanelRequestError, worklistQueryOptions } from "@/lib/panel/panel-query";
import type { FilterOptions } from "@/lib/panel/types";
import { PanelError } from "../panel-error";
import { CopyLinkButton } from "./copy-link-button";
import { WorklistFilters } from "./worklist-filters";
import { WorklistPager } from "./worklist-pager";
import { WorklistPresets } from "./worklist-presets";
import { WorklistSkeleton } from "./worklist-skeleton";
import { WorklistTable } from "./worklist-table";

/**
 * The worklist for the filters in the URL. A change of filter, sort or page pushes a new URL (so Back and
 * bookmarks work) without reloading the page; the rows come from GET /api/panel/worklist.
 */
export function WorklistView({ options }: { options: FilterOptions }) {
  const searchParams = useSearchParams();
  const parsed = parsePanelFilters(searchParams);
  const navigate = (next: PanelFilters) => window.history.pushState(null, "", worklistHref(next));
  if (!parsed.ok) return <PanelError error={new PanelRequestError(400, "bad-request", "Bad filters.", parsed.problems)} resetHref="/panel/worklist" />;
  return <Worklist filters={parsed.filters} options={options} navigate={navigate} />;
}

function Worklist({ filters, options, navigate }: { filters: PanelFilters; options: FilterOptions; navigate: (next: PanelFilters) => void }) {
  const query = serializePanelFilters(filters);
  const result = useQuery(worklistQueryOptions(query));
  const sourceName = (id: string) => options.sources.find((s) => s.id === id)?.name ?? id;
  const showSource = options.sources.length > 1 && !filters.source;
  return (
    <div className="space-y-3">
      <WorklistPresets filters={filters} navigate={navigate} />
      <WorklistFilters filters={filters} options={options} navigate={navigate} />
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <p className="text-sm text-slate-700" data-testid="worklist-showing">
          <span className="font-semibold text-slate-900">{result.data ? plural(result.data.total, "patient") : "…"}</span>
          {": "}
          {describeFilters(filters, sourceName).join(" · ")}
          {result.isFetching ? (
            <span role="status" className="ml-2 font-medium text-status-info">
              Updating…
            </span>
          ) : null}
        </p>
        <div className="flex items-center gap-3 text-sm">
          {query !== "" ? (
            <button type="button" onClick={() => navigate(DEFAULT_FILTERS)} className="font-medium text-brand underline underline-offset-2">
              Clear filters
            </button>
          ) : null}
          <CopyLinkButton />
        </div>
      </div>
      {result.isPending ? (
        <WorklistSkeleton />
      ) : result.isError ? (
        <PanelError error={result.error} onRetry={() => void result.refetch()} resetHref="/panel/worklist" />
      ) : result.data.total === 0 ? (
        <EmptyWorklist filtered={hasNarrowingFilters(filters)} source={filters.source} onClear={() => navigate(DEFAULT_FILTERS)} />
      ) : (
        <>
          <WorklistTable page={result.data} filters={filters} navigate={navigate} showSource={showSource} sourceName={sourceName} busy={result.isPlaceholderData} />
          <WorklistPager page={result.data} filters={filters} navigate={navigate} />
        </>
      )}
    </div>
  );
}

function EmptyWorklist({ filtered, source, onClear }: { filtered: boolean; source: string | null; onClear: () => void }) {
  if (filtered) {
    return (
      <div className="rounded-lg border border-slate-300 bg-white p-5 text-sm text-slate-700" data-testid="worklist-empty">
        <p className="font-semibold text-slate-900">No patient matches these filters.</p>
        <button type="button" onClick={onClear} className="mt-2 font-medium text-brand underline underline-offset-2">
          Clear filters
        </button>
      </div>
    );
  }
  const syncHref = source ? `/panel/sync?source=${encodeURIComponent(source)}` : "/panel/sync";
  return (
    <div className="rounded-lg border border-slate-300 bg-white p-5 text-sm text-slate-700" data-testid="worklist-empty">
      <p className="font-semibold text-slate-900">No synced patient is on a JAK inhibitor.</p>
      <p className="mt-1">
        If the clinic has not been synced yet: <a href={syncHref} className="font-medium text-brand underline underline-offset-2">No sync yet: open Sync</a>.
      </p>
    </div>
  );
}
