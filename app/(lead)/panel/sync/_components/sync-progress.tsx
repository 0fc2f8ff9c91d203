import { progressPercent, runStatusLabel } from "@/lib/panel/panel-format";
import type { SyncRunView } from "@/lib/panel/sync-types";

/** The active run's progress bar with the line the sync writes ("Observation-1.ndjson: 1,200 of 3,000 resources"). */
export function SyncProgress({ run, sourceName }: { run: SyncRunView; sourceName: string }) {
  const percent = progressPercent(run.progress);
  const text = run.progressText ?? (run.status === "queued" ? "Waiting for a worker to start the run." : runStatusLabel(run.status));
  const labelId = `progress-label-${run.id}`;
  return (
    <div className="space-y-1" data-testid="sync-progress" data-run-id={run.id}>
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span id={labelId} className="font-semibold text-slate-900">
          Run {run.id}: {runStatusLabel(run.status)}
          {run.cancelRequested ? " (cancelling…)" : ""}
        </span>
        <span className="tabular-nums text-slate-700">{percent}%</span>
      </div>
      <div
        role="progressbar"
        aria-labelledby={labelId}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}%: ${text}`}
        title={`Sync of ${sourceName}`}
        className="h-3 w-full overflow-hidden rounded-full bg-slate-200"
      >
        <div className={`h-full rounded-full bg-brand transition-[width] duration-500 ${run.status === "queued" ? "animate-pulse" : ""}`} style={{ width: `${Math.max(percent, 2)}%` }} />
      </div>
      <p className="text-sm text-slate-700" data-testid="sync-progress-text">
        {text}
      </p>
      {run.stalledHint ? (
        <p className="rounded border border-status-warn bg-amber-50 px-2 py-1 text-sm text-status-warn" role="note">
          {run.stalledHint}
        </p>
      ) : null}
    </div>
  );
}
