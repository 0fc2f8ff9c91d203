import { formatInstant } from "@/lib/panel/panel-format";
import type { SourceView, SyncRunView } from "@/lib/panel/sync-types";
import { SyncProgress } from "./sync-progress";

export interface SourceActions {
  onSync: (sourceId: string, full: boolean) => void;
  onCancel: (runId: string) => void;
  /** A request for this source is on its way (buttons wait for it). */
  pending: boolean;
}

const BUTTON = "rounded border px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50";

/** One configured FHIR server: where it is, what it exports, when it last synced, and its buttons. */
export function SourceCard({ source, activeRun, actions }: { source: SourceView; activeRun: SyncRunView | null; actions: SourceActions }) {
  const headingId = `source-${source.id}-heading`;
  const busy = activeRun !== null || actions.pending;
  return (
    <section aria-labelledby={headingId} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="sync-source" data-source-id={source.id}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h3 id={headingId} className="text-lg font-semibold text-slate-900">
            {source.name}
            <span className="ml-2 font-mono text-xs font-normal text-slate-600">{source.id}</span>
          </h3>
          {!source.enabled ? <p className="text-sm font-medium text-status-warn">Disabled in the configuration: not synced.</p> : null}
        </div>
        <div className="flex flex-wrap gap-2">
          <button type="button" className={`${BUTTON} border-brand bg-brand text-white hover:bg-blue-900`} disabled={busy || !source.enabled} onClick={() => actions.onSync(source.id, false)}>
            Sync now
          </button>
          <button type="button" className={`${BUTTON} border-brand text-brand hover:bg-blue-50`} disabled={busy || !source.enabled} onClick={() => actions.onSync(source.id, true)}>
            Full sync
          </button>
          {activeRun ? (
            <button
              type="button"
              className={`${BUTTON} border-status-critical text-status-critical hover:bg-red-50`}
              disabled={activeRun.cancelRequested || actions.pending}
              onClick={() => actions.onCancel(activeRun.id)}
            >
              {activeRun.cancelRequested ? "Cancelling…" : "Cancel"}
            </button>
          ) : null}
        </div>
      </div>
      <dl className="mt-3 grid grid-cols-1 gap-x-6 gap-y-1 text-sm sm:grid-cols-2 lg:grid-cols-3">
        <Item label="FHIR base">
          <span className="break-all font-mono text-xs">{source.fhirBase}</span>
        </Item>
        <Item label="Export">{source.exportLevel === "group" ? `Group ${source.groupId ?? "(no group id)"}` : source.exportLevel === "system" ? "System level" : "Patient level"}</Item>
        <Item label="Client id">
          <span className="font-mono text-xs">{source.clientId}</span>
        </Item>
        <Item label="Last success">{formatInstant(source.lastSuccessAt, source.timezone)}</Item>
        <Item label="Last transactionTime">{formatInstant(source.lastTransactionTime, source.timezone)}</Item>
        <Item label="Clinic time zone">{source.timezone}</Item>
      </dl>
      {activeRun ? (
        <div className="mt-4">
          <SyncProgress run={activeRun} sourceName={source.name} />
        </div>
      ) : null}
    </section>
  );
}

function Item({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="flex gap-2">
      <dt className="shrink-0 text-slate-600">{label}</dt>
      <dd className="min-w-0 text-slate-900">{children}</dd>
    </div>
  );
}
