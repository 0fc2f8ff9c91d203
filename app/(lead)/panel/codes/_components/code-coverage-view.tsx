"use client";

import { useQuery } from "@tanstack/react-query";
import { usePathname, useRouter } from "next/navigation";
import type { ReactNode } from "react";
import { codeCoverageQueryOptions } from "@/lib/panel/panel-api-client";
import type { SourceSummary } from "@/lib/panel/types";
import { SourcePicker } from "../../_components/source-picker";
import { formatCount, formatDuration } from "@/lib/panel/panel-format";
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

/** Which codes matched, which were ignored and why, the site's mappings, and data-quality counts; ?source= in the URL. */
export function CodeCoverageView({ sources, source }: { sources: SourceSummary[]; source: string | null }) {
  const router = useRouter();
  const pathname = usePathname();
  const query = useQuery(codeCoverageQueryOptions(source));

  const chooseSource = (next: string | null) => router.replace(next ? `${pathname}?source=${encodeURIComponent(next)}` : pathname);

  return (
    <div className="space-y-6">
      <header className="flex flex-wrap items-start justify-between gap-3">
        <div className="max-w-3xl space-y-1">
          <h2 className="text-xl font-semibold text-slate-900">Code coverage</h2>
          <p className="text-sm text-slate-700">
            Every code in the synced Observations, medications, immunizations and procedures, classified by the same matcher the evaluations use: by system
            and code, by a site mapping, or by text, or ignored with the reason. Map a site code to a concept and the patients who have it are re-evaluated.
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
          Counting codes in the synced resources…
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
          <p className="text-sm text-slate-700" data-testid="coverage-totals">
            {formatCount(query.data.totals.entries)} coded entries: {formatCount(query.data.totals.matched)} matched, {formatCount(query.data.totals.ignored)} ignored
            {query.isFetching ? " (updating…)" : ""}. <span className="text-slate-600">Scan took {formatDuration(query.data.scanMs)}.</span>
          </p>
          <Section id="matched-codes" title={`Matched (${query.data.matched.length})`} description="Codes the engine reads, what they mean and how they matched. Text-only matches are worth a site mapping.">
            <MatchedTable rows={query.data.matched} />
          </Section>
          <Section id="ignored-codes" title={`Ignored (${query.data.ignored.length})`} description="Codes the engine leaves out and why. Map a site code to the concept it stands for.">
            <IgnoredTable rows={query.data.ignored} />
          </Section>
          <Section id="code-mappings" title={`Site mappings (${query.data.mappings.length})`} description="Your site's codes mapped to engine concepts; they apply to every source.">
            <MappingsTable mappings={query.data.mappings} />
          </Section>
          <Section id="data-quality" title="Data quality" description="What the evaluations left out after matching (status, dates, values, units), and input the syncs could not read.">
            <h4 className="mb-1 text-sm font-semibold text-slate-800">Evaluation notes</h4>
            <DataQualityTable notes={query.data.dataQuality} />
            <h4 className="mb-1 mt-4 text-sm font-semibold text-slate-800">Sync issues</h4>
            <SyncIssuesTable issues={query.data.syncIssues} />
          </Section>
        </>
      )}
    </div>
  );
}
