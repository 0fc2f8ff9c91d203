"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import type { SourceSummary } from "@/lib/panel/types";
import { SourcePicker } from "../../_components/source-picker";
import { cancelSyncRun, PanelApiError, postSyncNow, syncStatusQueryOptions } from "@/lib/panel/panel-api-client";
import { formatInstant, runStatusLabel } from "@/lib/panel/panel-format";
import type { SyncStatusResponse } from "@/lib/panel/sync-types";
import { RunsTable } from "./runs-table";
import { SourceCard } from "./source-card";

type Notice = { kind: "ok" | "error"; text: string; relaunch?: string };

/** The sync page: sources with their buttons and live progress, then the latest runs. Polls while a run is active. */
export function SyncDashboard({ sources, source }: { sources: SourceSummary[]; source: string | null }) {
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const options = syncStatusQueryOptions(source);
  const query = useQuery(options);
  const [notice, setNotice] = useState<Notice | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["panel", "sync"] });
  const chooseSource = (next: string | null) => router.replace(next ? `${pathname}?source=${encodeURIComponent(next)}` : pathname);
  const failed = (error: unknown) =>
    setNotice({ kind: "error", text: error instanceof Error ? error.message : "The request failed.", ...(error instanceof PanelApiError && error.relaunch ? { relaunch: error.relaunch } : {}) });

  const sync = useMutation({
    mutationFn: postSyncNow,
    onSuccess: (result) => {
      setNotice({ kind: "ok", text: result.alreadyQueued ? `A sync of ${result.sourceId} was already under way (run ${result.runId}); showing its progress.` : `${result.full ? "Full sync" : "Sync"} of ${result.sourceId} queued as run ${result.runId}.` });
      return refresh();
    },
    onError: failed,
  });
  const cancel = useMutation({
    mutationFn: cancelSyncRun,
    onSuccess: (result) => {
      setNotice({ kind: "ok", text: `Cancel requested for run ${result.runId}: the export is stopped and the run ends as cancelled.` });
      return refresh();
    },
    onError: failed,
  });

  // When a run ends, the other tabs' figures (evaluations, code counts) are out of date: refetch them on next view.
  const activeIds = query.data?.active.map((run) => run.id).join(",") ?? "";
  const previousActive = useRef(activeIds);
  useEffect(() => {
    const ended = previousActive.current.split(",").some((id) => id !== "" && !activeIds.split(",").includes(id));
    previousActive.current = activeIds;
    if (ended) void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] === "panel" && q.queryKey[1] !== "sync" });
  }, [activeIds, queryClient]);

  if (query.isPending) return <p className="text-sm text-slate-700">Loading the sync status…</p>;
  if (query.isError) {
    return (
      <div role="alert" className="space-y-2 rounded border border-status-critical bg-red-50 p-3 text-sm text-status-critical">
        <p>{query.error.message}</p>
        <button type="button" className="rounded border border-status-critical px-3 py-1 font-medium" onClick={() => void query.refetch()}>
          Try again
        </button>
      </div>
    );
  }
  const status: SyncStatusResponse = query.data;
  const timeZones = new Map(status.sources.map((s) => [s.id, s.timezone]));
  const pending = sync.isPending || cancel.isPending;

  return (
    <div className="space-y-6">
      <header className="flex flex-wrap items-start justify-between gap-3">
        <div className="max-w-3xl space-y-1">
          <h2 className="text-xl font-semibold text-slate-900">Sync</h2>
          <p className="text-sm text-slate-700">
            The panel is filled by FHIR Bulk Data exports from each source. “Sync now” fetches what changed since the last successful export; “Full sync”
            fetches everything again. Changed patients are re-evaluated after each run.
          </p>
        </div>
        <SourcePicker sources={sources} value={source} onChange={chooseSource} />
      </header>

      <div aria-live="polite" className="min-h-0">
        {notice ? (
          <p role={notice.kind === "error" ? "alert" : "status"} className={`rounded border px-3 py-2 text-sm ${notice.kind === "error" ? "border-status-critical bg-red-50 text-status-critical" : "border-status-ok bg-emerald-50 text-status-ok"}`}>
            {notice.text}
            {notice.relaunch ? (
              <>
                {" "}
                <Link href={notice.relaunch} className="underline">
                  Launch again
                </Link>
              </>
            ) : null}
          </p>
        ) : null}
      </div>
      <p className="sr-only" aria-live="polite">
        {status.active.map((run) => `Run ${run.id} ${runStatusLabel(run.status)}.`).join(" ")}
      </p>

      {status.sources.length === 0 ? (
        <section className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-700" data-testid="sync-no-source">
          <h3 className="text-lg font-semibold text-slate-900">No source configured</h3>
          <p className="mt-1">No source configured: set SYNC_SOURCES (README).</p>
        </section>
      ) : (
        <div className="space-y-4">
          {status.sources.map((source) => (
            <SourceCard
              key={source.id}
              source={source}
              activeRun={status.active.find((run) => run.source === source.id) ?? null}
              actions={{ pending, onSync: (sourceId, full) => sync.mutate({ sourceId, full }), onCancel: (runId) => cancel.mutate(runId) }}
            />
          ))}
        </div>
      )}

      <section aria-labelledby="runs-heading" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h3 id="runs-heading" className="text-lg font-semibold text-slate-900">
            Latest runs
          </h3>
          <p className="text-xs text-slate-600">
            {status.active.length > 0 ? "Updating every 1.5 s while a run is active." : `As of ${formatInstant(status.generatedAt, status.sources[0]?.timezone ?? "UTC")}.`}
          </p>
        </div>
        <div className="mt-3">
          <RunsTable runs={status.runs} timeZones={timeZones} showSource={source === null && status.sources.length > 1} />
        </div>
      </section>
    </div>
  );
}
