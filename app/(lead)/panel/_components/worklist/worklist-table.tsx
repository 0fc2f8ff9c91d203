"use client";

import Link from "next/link";
import type { Severity } from "@/lib/clinical/types";
import { NATURAL_DIRECTION, SORT_LABELS, withFilters, type PanelFilters, type SortKey } from "@/lib/panel/filters";
import { nextDueKindLabel } from "@/lib/panel/format";
import type { WorklistPage, WorklistRow } from "@/lib/panel/types";
import { DRUG_LABELS, formatDate } from "@/lib/patient-view/format";
import { StatusBadge } from "@/app/(clinician)/patients/[id]/_components/status-badge";
import { SEVERITY_STYLES } from "@/app/(clinician)/patients/[id]/_components/status-styles";
import { VerdictBadge } from "@/app/(clinician)/patients/[id]/_components/verdict-badge";

const SEVERITY_ORDER: Severity[] = ["critical", "warning", "info"];

/** A column header that sorts: pressing it sorts by the column (its natural direction first), pressing again reverses. */
function SortHeader({ sortKey, label, filters, navigate, className = "" }: { sortKey: SortKey; label: string; filters: PanelFilters; navigate: (next: PanelFilters) => void; className?: string }) {
  const active = filters.sort === sortKey;
  const ariaSort = active ? (filters.dir === "asc" ? "ascending" : "descending") : "none";
  const next = active ? { sort: sortKey, dir: filters.dir === "asc" ? ("desc" as const) : ("asc" as const) } : { sort: sortKey, dir: NATURAL_DIRECTION[sortKey] };
  return (
    <th scope="col" aria-sort={ariaSort} className={`py-2 pr-3 ${className}`}>
      <button type="button" onClick={() => navigate(withFilters(filters, next))} className="inline-flex items-center gap-1 font-semibold text-slate-900 hover:text-brand" title={`Sort by ${SORT_LABELS[sortKey].toLowerCase()}`}>
        {label}
        <span aria-hidden="true" className={active ? "text-brand" : "text-slate-400"}>
          {active ? (filters.dir === "asc" ? "▲" : "▼") : "↕"}
        </span>
      </button>
    </th>
  );
}

function FlagCounts({ flags }: { flags: WorklistRow["flags"] }) {
  const present = SEVERITY_ORDER.filter((s) => flags[s] > 0);
  if (present.length === 0) return <span className="text-slate-500">none</span>;
  return (
    <span className="flex flex-wrap gap-1">
      {present.map((s) => (
        <StatusBadge key={s} style={SEVERITY_STYLES[s]} label={`${flags[s]} ${s}`} />
      ))}
    </span>
  );
}

/** One page of the worklist; each name opens that patient's view built from the synced data. */
export function WorklistTable({
  page,
  filters,
  navigate,
  showSource,
  sourceName,
  busy,
}: {
  page: WorklistPage;
  filters: PanelFilters;
  navigate: (next: PanelFilters) => void;
  showSource: boolean;
  sourceName: (id: string) => string;
  busy: boolean;
}) {
  const header = { filters, navigate };
  return (
    <div className={`overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm ${busy ? "opacity-60" : ""}`} aria-busy={busy}>
      <table className="w-full min-w-[56rem] border-collapse text-left text-sm" data-testid="worklist-table">
        <caption className="sr-only">
          Worklist, sorted by {SORT_LABELS[filters.sort].toLowerCase()} {filters.dir === "asc" ? "ascending" : "descending"}, page {page.page} of {page.pageCount}
        </caption>
        <thead className="border-b border-slate-300 bg-slate-50">
          <tr>
            <SortHeader sortKey="name" label="Patient" className="pl-3" {...header} />
            <SortHeader sortKey="drug" label="Drug / route" {...header} />
            <SortHeader sortKey="week" label="Course week" {...header} />
            <SortHeader sortKey="verdict" label="Latest verdict" {...header} />
            <SortHeader sortKey="severity" label="Flags" {...header} />
            <SortHeader sortKey="due" label="Next due" {...header} />
          </tr>
        </thead>
        <tbody>
          {page.rows.map((row) => (
            <tr key={`${row.source}/${row.patientId}`} className="border-b border-slate-100 align-top hover:bg-slate-50" data-testid="worklist-row">
              <td className="py-2 pl-3 pr-3">
                <Link href={row.href} prefetch={false} className="font-medium text-brand underline underline-offset-2">
                  {row.name ?? "Name not recorded"}
                </Link>
                <span className="block font-mono text-xs text-slate-600">
                  {row.patientId}
                  {showSource ? ` · ${sourceName(row.source)}` : ""}
                </span>
                {row.prescriber ? <span className="block text-xs text-slate-600">{row.prescriber}</span> : null}
              </td>
              <td className="py-2 pr-3">
                {row.drug ? (
                  <>
                    {DRUG_LABELS[row.drug] ?? row.drug}
                    <span className="block text-xs text-slate-600">{row.route ?? "route unknown"}</span>
                  </>
                ) : (
                  <span className="text-slate-500">no JAK course</span>
                )}
              </td>
              <td className="py-2 pr-3 tabular-nums">
                {row.onJak && row.courseWeek !== null ? `Week ${row.courseWeek}` : row.drug ? <span className="text-slate-600">course ended</span> : "-"}
                {row.courseStart ? <span className="block text-xs text-slate-600">from {formatDate(row.courseStart)}</span> : null}
              </td>
              <td className="py-2 pr-3">
                {row.latestVerdict ? (
                  <span className="flex flex-wrap items-center gap-1">
                    <VerdictBadge verdict={row.latestVerdict} />
                    <span className="text-xs text-slate-600">week {row.latestCheckpointWeek}</span>
                  </span>
                ) : (
                  <span className="text-slate-500">none decided yet</span>
                )}
              </td>
              <td className="py-2 pr-3">
                <FlagCounts flags={row.flags} />
                {row.labs.overdue + row.labs.missing + row.labs.abnormal > 0 ? (
                  <span className="mt-0.5 block text-xs text-slate-600">
                    labs: {[row.labs.overdue ? `${row.labs.overdue} overdue` : "", row.labs.missing ? `${row.labs.missing} missing` : "", row.labs.abnormal ? `${row.labs.abnormal} abnormal` : ""].filter(Boolean).join(", ")}
                  </span>
                ) : null}
              </td>
              <td className="py-2 pr-3">
                {row.nextDue ? (
                  <>
                    <span className="tabular-nums">{formatDate(row.nextDue.date)}</span>
                    <span className="block text-xs text-slate-600">{nextDueKindLabel(row.nextDue.kind)}</span>
                  </>
                ) : (
                  <span className="text-slate-500">nothing due</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
