"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import { formatTimestamp } from "@/lib/panel/format";
import type { ReportPeriod } from "@/lib/reports/compute";
import type { ExportFormat } from "@/lib/reports/export/report-export";
import { MEASURES, type MeasureId } from "@/lib/reports/measures";
import { exportStateQueryOptions, postExport, recentExportsQueryOptions } from "@/lib/reports/report-api-client";
import { CASE_OUTCOME_LABELS, EXPORT_FORMAT_LABELS, exportProgressPercent, exportStatusLabel, formatBytes, formatCount, formatPeriod } from "@/lib/reports/report-format";
import type { ExportPlanResponse } from "@/lib/reports/report-handlers";
import type { CaseOutcomeFilter } from "@/lib/reports/report-queries";
import { CASE_OUTCOMES, EXPORT_FORMATS, type ExportBody, type ReportFilterState } from "@/lib/reports/report-requests";
import { ReportError } from "./report-error";

const CONTROL = "mt-0.5 w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm";

/** Starts a browser download of a same-origin URL (the server sends it as an attachment, so the page stays). */
function startDownload(url: string): void {
  const link = document.createElement("a");
  link.href = url;
  link.download = "";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/**
 * Export this report as it is filtered: a small export downloads at once; a large one runs in the background with
 * a progress bar and a Download link when ready. Every export is audited.
 */
export function ExportPanel({ measureId, filters, period }: { measureId: MeasureId; filters: ReportFilterState; period: ReportPeriod }) {
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [bom, setBom] = useState(false);
  const [shared, setShared] = useState(false);
  const [outcome, setOutcome] = useState<CaseOutcomeFilter>("all");
  const [plan, setPlan] = useState<ExportPlanResponse | null>(null);
  const queryClient = useQueryClient();
  const ids = { format: useId(), bom: useId(), shared: useId(), sharedHint: useId(), outcome: useId() };
  const body = (): ExportBody => {
    const { from: _from, to: _to, ...rest } = filters;
    return {
      ...rest,
      from: period.from,
      to: period.to,
      format,
      ...(format === "csv" && bom ? { bom: true } : {}),
      ...(shared ? { shared: true } : {}),
      ...(format !== "pdf" && outcome !== "all" ? { outcome } : {}),
    };
  };
  const exporting = useMutation({
    mutationFn: () => postExport(measureId, body()),
    onMutate: () => setPlan(null),
    onSuccess: (result) => {
      setPlan(result);
      if (result.mode === "direct") startDownload(result.url);
      else void queryClient.invalidateQueries({ queryKey: recentExportsQueryOptions().queryKey });
    },
  });
  return (
    <DashboardSection id="export" title="Export" description={`This report as filtered: ${formatPeriod(period)}. Large exports run in the background and are downloadable when ready.`} className="print:hidden">
      <form
        aria-label="Export this report"
        onSubmit={(e) => {
          e.preventDefault();
          exporting.mutate();
        }}
        className="grid gap-3 md:grid-cols-2 xl:grid-cols-4"
      >
        <div>
          <label htmlFor={ids.format} className="block text-xs font-medium text-slate-700">
            Format
          </label>
          <select id={ids.format} value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)} className={CONTROL}>
            {EXPORT_FORMATS.map((f) => (
              <option key={f} value={f}>
                {EXPORT_FORMAT_LABELS[f]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={ids.outcome} className="block text-xs font-medium text-slate-700">
            Patient list
          </label>
          <select id={ids.outcome} value={outcome} disabled={format === "pdf"} onChange={(e) => setOutcome(e.target.value as CaseOutcomeFilter)} className={`${CONTROL} disabled:opacity-60`}>
            {CASE_OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {CASE_OUTCOME_LABELS[o]}
              </option>
            ))}
          </select>
          {format === "pdf" ? <p className="mt-0.5 text-xs text-slate-500">The PDF states the list&apos;s size instead of listing it.</p> : null}
        </div>
        <div className="space-y-1 text-sm xl:col-span-2">
          <div className="flex items-center gap-2">
            <input id={ids.bom} type="checkbox" checked={format === "csv" && bom} disabled={format !== "csv"} onChange={(e) => setBom(e.target.checked)} className="h-4 w-4" />
            <label htmlFor={ids.bom} className={format === "csv" ? "text-slate-900" : "text-slate-500"}>
              UTF-8 BOM for Excel
            </label>
          </div>
          <div className="flex items-start gap-2">
            <input id={ids.shared} type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} aria-describedby={ids.sharedHint} className="mt-0.5 h-4 w-4" />
            <div>
              <label htmlFor={ids.shared} className="text-slate-900">
                For sharing outside the clinic
              </label>
              <p id={ids.sharedHint} className="text-xs text-slate-600">
                Small counts suppressed (shown as &ldquo;&lt;k&rdquo;); patient list de-identified: pseudonyms, shifted dates, no names, identifiers or prescribers.
              </p>
            </div>
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-3 md:col-span-2 xl:col-span-4">
          <button type="submit" disabled={exporting.isPending} className="rounded bg-brand px-4 py-2 text-sm font-semibold text-white disabled:opacity-60">
            Export
          </button>
          {exporting.isPending ? (
            <span role="status" className="text-sm text-status-info">
              Preparing the export…
            </span>
          ) : null}
        </div>
      </form>
      <div className="mt-3 space-y-3" aria-live="polite">
        {exporting.isError ? <ReportError error={exporting.error} /> : null}
        {plan?.mode === "direct" ? (
          <p className="text-sm text-slate-700" data-testid="export-direct">
            Your download has started ({formatCount(plan.rows)} list {plan.rows === 1 ? "row" : "rows"}).{" "}
            <a href={plan.url} download className="font-medium text-brand underline underline-offset-2">
              Download again
            </a>
          </p>
        ) : null}
        {plan?.mode === "background" ? <BackgroundExport exportId={plan.exportId} /> : null}
      </div>
      <RecentExports />
    </DashboardSection>
  );
}

/** A background export's progress, polled every second, then its Download link. */
function BackgroundExport({ exportId }: { exportId: string }) {
  const state = useQuery(exportStateQueryOptions(exportId));
  const queryClient = useQueryClient();
  const status = state.data?.status;
  useEffect(() => {
    if (status === "done" || status === "failed") void queryClient.invalidateQueries({ queryKey: recentExportsQueryOptions().queryKey });
  }, [status, queryClient]);
  if (state.isError) return <ReportError error={state.error} onRetry={() => void state.refetch()} />;
  const view = state.data;
  const percent = view ? exportProgressPercent(view) : 0;
  const text = !view
    ? "Queued."
    : view.status === "queued"
      ? "Waiting for a worker to start the export."
      : view.status === "running"
        ? `${formatCount(view.rowsWritten)} of ${formatCount(view.rowsTotal ?? 0)} rows written.`
        : view.status === "done"
          ? `Ready: ${formatCount(view.rowsWritten)} rows, ${formatBytes(view.bytes)}.`
          : `The export failed: ${view.error ?? "no reason recorded"}.`;
  const labelId = `export-progress-${exportId}`;
  return (
    <div className="space-y-1" data-testid="export-progress" data-export-id={exportId}>
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span id={labelId} className="font-semibold text-slate-900">
          Export {exportId}: {view ? exportStatusLabel(view.status) : "Queued"}
        </span>
        <span className="tabular-nums text-slate-700">{percent}%</span>
      </div>
      <div role="progressbar" aria-labelledby={labelId} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${percent}%: ${text}`} className="h-3 w-full overflow-hidden rounded-full bg-slate-200">
        <div className={`h-full rounded-full bg-brand transition-[width] duration-500 ${view?.status === "running" ? "" : "animate-pulse motion-reduce:animate-none"}`} style={{ width: `${Math.max(percent, 2)}%` }} />
      </div>
      <p className={`text-sm ${view?.status === "failed" ? "text-status-critical" : "text-slate-700"}`}>{text}</p>
      {view?.status === "done" ? (
        <a href={view.downloadUrl} download className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Download {view.fileName ?? "the file"}
        </a>
      ) : null}
    </div>
  );
}

function measureTitle(id: string): string {
  const m = MEASURES.find((d) => d.id === id);
  return m ? `${m.number}. ${m.title}` : id;
}

/** The user's recent background exports, downloadable when ready. */
function RecentExports() {
  const recent = useQuery(recentExportsQueryOptions());
  return (
    <section aria-labelledby="recent-exports-heading" className="mt-4">
      <h3 id="recent-exports-heading" className="text-base font-semibold text-slate-900">
        Your recent exports
      </h3>
      <p className="text-xs text-slate-600">Background exports (large ones); small ones download at once and are in the audit trail.</p>
      {recent.isPending ? (
        <p role="status" className="mt-1 text-sm text-slate-600">
          Loading…
        </p>
      ) : recent.isError ? (
        <ReportError error={recent.error} onRetry={() => void recent.refetch()} />
      ) : recent.data.exports.length === 0 ? (
        <p className="mt-1 text-sm text-slate-700">None yet.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="mt-1 w-full min-w-[40rem] border-collapse text-left text-sm" data-testid="recent-exports">
            <caption className="sr-only">Your recent background exports</caption>
            <thead>
              <tr className="border-b border-slate-300">
                <th scope="col" className="py-1 pr-2">Requested</th>
                <th scope="col" className="py-1 pr-2">Report</th>
                <th scope="col" className="py-1 pr-2">Format</th>
                <th scope="col" className="py-1 pr-2">Period</th>
                <th scope="col" className="py-1 pr-2">Status</th>
                <th scope="col" className="py-1 pr-2 text-right">Rows</th>
                <th scope="col" className="py-1">File</th>
              </tr>
            </thead>
            <tbody>
              {recent.data.exports.map((e) => (
                <tr key={e.id} className="border-b border-slate-100 align-top">
                  <td className="py-0.5 pr-2">{formatTimestamp(e.createdAt)}</td>
                  <td className="py-0.5 pr-2">{measureTitle(e.measureId)}</td>
                  <td className="py-0.5 pr-2">
                    {EXPORT_FORMAT_LABELS[e.format] ?? e.format}
                    {e.shared ? <span className="block text-xs text-slate-600">for sharing</span> : null}
                  </td>
                  <td className="py-0.5 pr-2">{e.period ? formatPeriod(e.period) : "–"}</td>
                  <td className="py-0.5 pr-2">{e.status === "failed" ? <span title={e.error ?? undefined}>Failed</span> : exportStatusLabel(e.status)}</td>
                  <td className="py-0.5 pr-2 text-right tabular-nums">{formatCount(e.status === "done" ? e.rowsWritten : (e.rowsTotal ?? e.rowsWritten))}</td>
                  <td className="py-0.5">
                    {e.status === "done" ? (
                      <a href={e.downloadUrl} download className="font-medium text-brand underline underline-offset-2">
                        Download
                      </a>
                    ) : (
                      "–"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
