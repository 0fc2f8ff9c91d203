import Link from "next/link";
import { auditActionInfo } from "@/lib/audit/actions";
import type { AuditPage } from "@/lib/audit/audit";
import { AUDIT_OUTCOME_LABELS, auditDetailPairs, auditRangeText, formatAuditTime } from "@/lib/audit/audit-format";
import { auditQueryString, type AuditQuery } from "@/lib/audit/audit-query";

const OUTCOME_STYLES: Record<string, string> = { success: "text-status-ok", refused: "text-status-warn", failure: "text-status-critical" };
const pageLink = "rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100";

/** One page of the trail, newest first, with links to the previous and next pages (filters kept). */
export function AuditTable({ page, query }: { page: AuditPage; query: AuditQuery }) {
  const pageCount = Math.max(1, Math.ceil(page.total / page.pageSize));
  const href = (n: number) => `/admin/audit${auditQueryString({ ...query, page: n }, { page: true })}`;
  return (
    <>
      {page.rows.length === 0 ? (
        <p className="text-sm text-slate-700" data-testid="audit-empty">
          No audit entries match these filters.
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
          <table className="w-full min-w-[72rem] border-collapse text-left text-sm" data-testid="audit-trail">
            <caption className="sr-only">
              Audit entries, newest first, page {page.page} of {pageCount}
            </caption>
            <thead className="border-b border-slate-300 bg-slate-50">
              <tr>
                {["When", "Action", "Actor", "Role", "Outcome", "Entity", "From", "Detail"].map((h) => (
                  <th key={h} scope="col" className="py-2 pr-3 first:pl-3">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page.rows.map((r) => (
                <tr key={r.id} className="border-b border-slate-100 align-top" data-testid="audit-row" data-action={r.action}>
                  <td className="whitespace-nowrap py-1.5 pl-3 pr-3 tabular-nums">{formatAuditTime(r.at)}</td>
                  <td className="py-1.5 pr-3">
                    {auditActionInfo(r.action).label}
                    <span className="block font-mono text-xs text-slate-600">{r.action}</span>
                  </td>
                  <td className="break-all py-1.5 pr-3 font-mono text-xs">{r.actor}</td>
                  <td className="py-1.5 pr-3">{r.role ?? "–"}</td>
                  <td className={`py-1.5 pr-3 font-medium ${OUTCOME_STYLES[r.outcome] ?? ""}`}>{AUDIT_OUTCOME_LABELS[r.outcome] ?? r.outcome}</td>
                  <td className="break-all py-1.5 pr-3 font-mono text-xs">{r.entity ?? "–"}</td>
                  <td className="py-1.5 pr-3 font-mono text-xs">{r.origin ?? "–"}</td>
                  <td className="py-1.5 pr-3 text-xs">
                    <dl className="space-y-0.5">
                      {auditDetailPairs(r.detail).map((d) => (
                        <div key={d.key} className="flex gap-1">
                          <dt className="text-slate-600">{d.key}</dt>
                          <dd className="break-all font-mono">{d.value}</dd>
                        </div>
                      ))}
                    </dl>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Pages of the audit trail" className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <p className="text-slate-700" data-testid="audit-range">
          {auditRangeText(page.page, page.pageSize, page.total)}
        </p>
        <div className="flex items-center gap-2">
          {page.page > 1 ? (
            <Link href={href(Math.min(page.page - 1, pageCount))} className={pageLink} rel="prev">
              Previous
            </Link>
          ) : null}
          <span className="tabular-nums text-slate-700">
            Page {page.page} of {pageCount}
          </span>
          {page.page < pageCount ? (
            <Link href={href(page.page + 1)} className={pageLink} rel="next">
              Next
            </Link>
          ) : null}
        </div>
      </nav>
    </>
  );
}
