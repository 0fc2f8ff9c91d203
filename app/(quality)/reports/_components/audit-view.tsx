"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { PanelSkeleton } from "@/app/(lead)/panel/_components/panel-skeleton";
import { formatTimestamp } from "@/lib/panel/format";
import { MEASURES } from "@/lib/reports/measures";
import { auditQueryOptions, ReportApiError } from "@/lib/reports/report-api-client";
import { auditFiltersText, CASE_OUTCOME_LABELS, EXPORT_FORMAT_LABELS, formatCount, formatPeriod } from "@/lib/reports/report-format";
import type { CaseOutcomeFilter } from "@/lib/reports/report-queries";
import { DEFAULT_AUDIT_SIZE, parseAuditQuery } from "@/lib/reports/report-requests";
import { ReportError } from "./report-error";

function measureLabel(id: string): string {
  const m = MEASURES.find((d) => d.id === id);
  return m ? `${m.number}. ${m.title}` : id;
}

/** Every export, newest first, paged (?page= in the URL): who, role, report, format, filters, period, rows, how. */
export function AuditView() {
  const searchParams = useSearchParams();
  const parsed = parseAuditQuery(searchParams);
  return (
    <div className="space-y-4">
      <div>
        <Link href="/reports" className="text-sm font-medium text-brand underline underline-offset-2">
          All reports
        </Link>
        <h1 className="mt-1 text-2xl font-semibold tracking-tight text-slate-900">Export audit trail</h1>
        <p className="text-sm text-slate-600">Every report export, direct or background, successful or not. No patient data is recorded here.</p>
      </div>
      {parsed.ok ? (
        <AuditTable page={parsed.value.page} size={parsed.value.size} />
      ) : (
        <ReportError error={new ReportApiError(400, "bad-request", "Bad page.", parsed.problems)} resetHref="/reports/audit" />
      )}
    </div>
  );
}

function AuditTable({ page, size }: { page: number; size: number }) {
  const audit = useQuery(auditQueryOptions(page, size));
  const go = (next: number) => {
    const query = new URLSearchParams();
    if (next !== 1) query.set("page", String(next));
    if (size !== DEFAULT_AUDIT_SIZE) query.set("size", String(size));
    window.history.pushState(null, "", query.size > 0 ? `/reports/audit?${query.toString()}` : "/reports/audit");
  };
  if (audit.isPending) return <PanelSkeleton label="Loading the audit trail…" />;
  if (audit.isError) return <ReportError error={audit.error} onRetry={() => void audit.refetch()} resetHref="/reports/audit" />;
  const { rows, total, pageSize } = audit.data;
  const pageCount = Math.max(1, Math.ceil(total / pageSize));
  if (total === 0) return <p className="text-sm text-slate-700">No report has been exported yet.</p>;
  const button = "rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50";
  return (
    <>
      <div className={`overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm ${audit.isPlaceholderData ? "opacity-60" : ""}`}>
        <table className="w-full min-w-[64rem] border-collapse text-left text-sm" data-testid="export-audit">
          <caption className="sr-only">Report exports, newest first, page {page} of {pageCount}</caption>
          <thead className="border-b border-slate-300 bg-slate-50">
            <tr>
              {["When", "Who", "Role", "Report", "Format", "Filters", "Period", "Rows", "Shared", "Mode", "Outcome"].map((h) => (
                <th key={h} scope="col" className={`py-2 pr-3 first:pl-3 ${h === "Rows" ? "text-right" : ""}`}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className="border-b border-slate-100 align-top" data-testid="audit-row">
                <td className="py-1.5 pl-3 pr-3 whitespace-nowrap">{formatTimestamp(r.at)}</td>
                <td className="py-1.5 pr-3 font-mono text-xs">{r.actor}</td>
                <td className="py-1.5 pr-3">{r.role ?? "–"}</td>
                <td className="py-1.5 pr-3">{measureLabel(r.detail.measureId)}</td>
                <td className="py-1.5 pr-3">
                  {EXPORT_FORMAT_LABELS[r.detail.format] ?? r.detail.format}
                  {r.detail.bom ? <span className="block text-xs text-slate-600">with BOM</span> : null}
                </td>
                <td className="py-1.5 pr-3">
                  {auditFiltersText(r.detail.filters)}
                  {r.detail.outcome ? <span className="block text-xs text-slate-600">list: {CASE_OUTCOME_LABELS[r.detail.outcome as CaseOutcomeFilter] ?? r.detail.outcome}</span> : null}
                </td>
                <td className="py-1.5 pr-3">{r.detail.period ? formatPeriod(r.detail.period) : "–"}</td>
                <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(r.detail.rows)}</td>
                <td className="py-1.5 pr-3">{r.detail.shared ? "yes" : "no"}</td>
                <td className="py-1.5 pr-3">{r.detail.mode}</td>
                <td className={`py-1.5 pr-3 ${r.outcome === "success" ? "text-status-ok" : "text-status-critical"}`}>
                  {r.outcome}
                  {r.detail.error ? <span className="block text-xs text-slate-600">{r.detail.error}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav aria-label="Pages of the audit trail" className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <p className="text-slate-700">{formatCount(total)} exports</p>
        <div className="flex items-center gap-2">
          <button type="button" className={button} disabled={page <= 1} onClick={() => go(Math.min(page - 1, pageCount))}>
            Previous
          </button>
          <span className="tabular-nums text-slate-700">
            Page {page} of {pageCount}
          </span>
          <button type="button" className={button} disabled={page >= pageCount} onClick={() => go(page + 1)}>
            Next
          </button>
        </div>
      </nav>
    </>
  );
}
