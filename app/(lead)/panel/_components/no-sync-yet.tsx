import Link from "next/link";
import type { LastSyncInfo } from "@/lib/panel/types";
import { formatTimestamp } from "@/lib/panel/format";

/** The panel before any patient has been synced and evaluated: why it is empty and where to go. */
export function NoSyncYet({ lastSync, source }: { lastSync: LastSyncInfo | null; source: string | null }) {
  const syncHref = source ? `/panel/sync?source=${encodeURIComponent(source)}` : "/panel/sync";
  let detail = "No patient has been synced from the EHR yet, so there is nothing to count.";
  if (lastSync && ["queued", "exporting", "downloading", "evaluating"].includes(lastSync.status)) {
    detail = `A sync started at ${formatTimestamp(lastSync.startedAt)} is still running (${lastSync.status}); the panel fills when it has evaluated the patients.`;
  } else if (lastSync?.status === "failed") {
    detail = `The last sync (${formatTimestamp(lastSync.startedAt)}) failed before any patient was evaluated.`;
  } else if (lastSync?.status === "cancelled") {
    detail = `The last sync (${formatTimestamp(lastSync.startedAt)}) was cancelled before any patient was evaluated.`;
  }
  return (
    <section aria-labelledby="no-sync-title" className="max-w-2xl space-y-2 rounded-lg border border-slate-300 bg-white p-5" data-testid="panel-empty">
      <h2 id="no-sync-title" className="text-lg font-semibold text-slate-900">
        No sync yet: open Sync
      </h2>
      <p className="text-sm text-slate-700">{detail}</p>
      <Link href={syncHref} className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
        Open Sync
      </Link>
    </section>
  );
}
