"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { usePathname, useRouter } from "next/navigation";
import type { ReactNode } from "react";
import type { CodeCoverageResponse } from "@/lib/panel/code-coverage";
import type { SourceSummary } from "@/lib/panel/types";
import { SourcePicker } from "../../_components/source-picker";
import { formatCount, formatDuration, formatInstant } from "@/lib/panel/panel-format";
import { codeCoverageViewQueryOptions, followCoverageJob, jobPending, postCoverageRefresh } from "./code-jobs-client";
import { DataQualityTable, SyncIssuesTable } from "./data-quality-tables";
import { IgnoredTable, MatchedTable } from "./coverage-tables";
import { MappingsTable } from "./mappings-table";

function Section({ id, title, description, children }: { id: string; title: string; description?: ReactNode; children: ReactNode }) {
  return (
    <section id={id} aria-labelledby={`${id}-heading`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h3 id={`${id}-heading`} className="text-lg font-semibold text-slate-900">
        {title}
      </h3>
      {description ? <div className="mt-0.5 text-sm text-slate-600">{description}</div> : null}
      <div className="mt-3">{children}</div>
    </section>
  );
}

/** When the shown view was computed, whether a computation is under way, and the Refresh button. */
function ComputedLine({ data, refreshing, onRefresh }: { data: CodeCoverageResponse; refreshing: boolean; onRefresh: () => void }) {
  const job = data.job;
  const pending = jobPending(job?.state);
  const state = data.computedAt === null ? "Not computed yet." : `Computed at ${formatInstant(data.computedAt)}.`;
  const progress = !pending ? "" : data.computedAt === null ? " Computing it now (the page updates when it is ready)…" : ` Recomputing (${job?.state})…`;
  return (
    <div className="flex flex-wrap items-center gap-3 text-sm text-slate-700">
      <p role="status" data-testid="coverage-computed" data-pending={pending ? "true" : "false"}>
        {state}
        {progress}
      </p>
      <button
        type="button"
        onClick={onRefresh}
        disabled={pending || refreshing}
        className="rounded border border-brand px-3 py-1 font-medium text-brand hover:bg-blue-50 disabled:opacity-50"
        data-testid="coverage-refresh"
      >
        {refreshing ? "Asking…" : "Refresh"}
      </button>
    </div>
  );
}

/**
 * Which codes matched, which were ignored and why, the site's mappings, and data-quality counts; ?source= in the
 * URL. The view is computed by a job (after each sync, after a mapping's re-evaluation, or on Refresh) and the
 * page shows the stored one, polling while a computation it follows is under way.
 */
export function CodeCoverageView({ sources, source }: { sources: SourceSummary[]; source: string | null }) {
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const query = useQuery(codeCoverageViewQueryOptions(queryClient, source));
  const refresh = useMutation({
    mutationFn: () => postCoverageRefresh(source),
    onSuccess: (answer) => followCoverageJob(queryClient, answer.jobId),
  });

  const chooseSource = (next: string | null) => router.replace(next ? `${pathname}?source=${encodeURIComponent(next)}` : pathname);
  const coverage = query.data?.coverage ?? null;

  return (
    <div className="space-y-6">
      <header className="flex flex-wrap items-start justify-between gap-3">
        <div className="max-w-3xl space-y-1">
          <h2 className="text-xl font-semibold text-slate-900">Code coverage</h2>
          <p className="text-sm text-slate-700">
            Every code in the synced Observations, medications, immunizations and procedures, classified by the same matcher the evaluations use: by system
            and code, by a site mapping, or by text, or ignored with the reason. Map a site code to a concept and the patients who have it are re-evaluated.
            The view is recomputed after each sync and after a mapping change, or when you ask.
          </p>
        </div>
        <SourcePicker sources={sources} value={source} onChange={chooseSource} />
      </header>

      {sources.length === 0 ? (
        <section className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-700" data-testid="codes-no-source">
          <h3 className="text-lg font-semibold text-slate-900">No source configured</h3>
          <p className="mt-1">No source configured: set SYNC_SOURCES (README).</p>
        </section>
      ) : null}

      {query.isPending ? (
        <p role="status" className="text-sm text-slate-700">
          Reading the code coverage…
        </p>
      ) : query.isError ? (
        <div role="alert" className="space-y-2 rounded border border-status-critical bg-red-50 p-3 text-sm text-status-critical">
          <p>{query.error.message}</p>
          <button type="button" className="rounded border border-status-critical px-3 py-1 font-medium" onClick={() => void query.refetch()}>
            Try again
          </button>
        </div>
      ) : (
        <>
          <ComputedLine data={query.data} refreshing={refresh.isPending} onRefresh={() => refresh.mutate()} />
          {refresh.isError || query.data.problem || query.data.job?.state === "failed" ? (
            <p role="alert" className="rounded border border-status-critical bg-red-50 p-3 text-sm text-status-critical">
              {refresh.isError
                ? refresh.error.message
                : (query.data.problem ?? "The last computation failed (the worker's log says why). Refresh to try again; the view shown is the last one computed.")}
            </p>
          ) : null}
          {coverage ? (
            <>
              <p className="text-sm text-slate-700" data-testid="coverage-totals">
                {formatCount(coverage.totals.entries)} coded entries: {formatCount(coverage.totals.matched)} matched, {formatCount(coverage.totals.ignored)} ignored.{" "}
                <span className="text-slate-600">Scan took {formatDuration(coverage.scanMs)}.</span>
              </p>
              <Section id="matched-codes" title={`Matched (${coverage.matched.length})`} description="Codes the engine reads, what they mean and how they matched. Text-only matches are worth a site mapping.">
                <MatchedTable rows={coverage.matched} />
              </Section>
              <Section id="ignored-codes" title={`Ignored (${coverage.ignored.length})`} description="Codes the engine leaves out and why. Map a site code to the concept it stands for.">
                <IgnoredTable rows={coverage.ignored} />
              </Section>
              <Section id="code-mappings" title={`Site mappings (${coverage.mappings.length})`} description="Your site's codes mapped to engine concepts, as of the computation above; they apply to every source.">
                <MappingsTable mappings={coverage.mappings} />
              </Section>
              <Section id="data-quality" title="Data quality" description="What the evaluations left out after matching (status, dates, values, units), and input the syncs could not read.">
                <h4 className="mb-1 text-sm font-semibold text-slate-800">Evaluation notes</h4>
                <DataQualityTable notes={coverage.dataQuality} />
                <h4 className="mb-1 mt-4 text-sm font-semibold text-slate-800">Sync issues</h4>
                <SyncIssuesTable issues={coverage.syncIssues} />
              </Section>
            </>
          ) : null}
        </>
      )}
    </div>
  );
}
