"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import { panelPatientHref } from "@/lib/panel/filters";
import { formatDate } from "@/lib/patient-view/format";
import { DRUG_LABELS, type MeasureDefinition, type MeasureId } from "@/lib/reports/measures";
import { casesQueryOptions } from "@/lib/reports/report-api-client";
import { CASE_OUTCOME_LABELS, caseOutcomeLabel, exclusionLabel, formatCount, stratumLabel } from "@/lib/reports/report-format";
import type { CaseOutcomeFilter, ReportCaseListRow } from "@/lib/reports/report-queries";
import { serializeCaseList, type CaseListState } from "@/lib/reports/report-requests";
import { ReportError } from "./report-error";

const TABS: readonly CaseOutcomeFilter[] = ["all", "numerator", "not-met", "excluded"];
const PAGE_SIZES = [25, 50, 100] as const;
const OUTCOME_STYLES = { "In numerator": "text-status-ok", Excluded: "text-status-muted", "Not met": "text-status-warn" } as const;

/** The cases behind the figures, by outcome and paged; a name opens the patient's synced view for roles allowed to. */
export function CaseList({
  measureId,
  definition,
  filterQuery,
  list,
  onList,
  showSource,
  sourceName,
}: {
  measureId: MeasureId;
  definition: MeasureDefinition;
  filterQuery: string;
  list: CaseListState;
  onList: (next: CaseListState) => void;
  showSource: boolean;
  sourceName: (id: string) => string;
}) {
  const cases = useQuery(casesQueryOptions(measureId, filterQuery, serializeCaseList(list)));
  const tabs = TABS.includes(list.outcome) ? TABS : [...TABS, list.outcome];
  return (
    <DashboardSection id="patients" title="Patient list" description="One row per case, in date order. The numbers above count these rows.">
      <div role="group" aria-label="Cases to show" className="mb-2 flex flex-wrap gap-1">
        {tabs.map((outcome) => (
          <button
            key={outcome}
            type="button"
            aria-pressed={list.outcome === outcome}
            onClick={() => onList({ ...list, outcome, page: 1 })}
            className={`rounded border px-3 py-1 text-sm font-medium ${list.outcome === outcome ? "border-brand bg-brand text-white" : "border-slate-300 bg-white text-slate-800 hover:bg-slate-100"}`}
          >
            {CASE_OUTCOME_LABELS[outcome]}
          </button>
        ))}
      </div>
      {cases.isPending ? (
        <p role="status" className="text-sm text-slate-600">
          Loading the patient list…
        </p>
      ) : cases.isError ? (
        <ReportError error={cases.error} onRetry={() => void cases.refetch()} />
      ) : cases.data.total === 0 ? (
        <p className="text-sm text-slate-700" data-testid="case-list-empty">
          No case of this kind in this period and these filters.
        </p>
      ) : (
        <>
          <div className={`overflow-x-auto ${cases.isPlaceholderData ? "opacity-60" : ""}`} aria-busy={cases.isPlaceholderData}>
            <table className="w-full min-w-[56rem] border-collapse text-left text-sm" data-testid="case-list">
              <caption className="sr-only">
                {CASE_OUTCOME_LABELS[list.outcome]}, page {cases.data.page}
              </caption>
              <thead className="border-b border-slate-300 bg-slate-50">
                <tr>
                  <th scope="col" className="py-2 pl-2 pr-3">Patient</th>
                  <th scope="col" className="py-2 pr-3">Drug / route</th>
                  <th scope="col" className="py-2 pr-3">Course start</th>
                  <th scope="col" className="py-2 pr-3">Case date</th>
                  <th scope="col" className="py-2 pr-3">Stratum / item</th>
                  <th scope="col" className="py-2 pr-3">Outcome</th>
                  <th scope="col" className="py-2 pr-3">Exclusion reason</th>
                </tr>
              </thead>
              <tbody>
                {cases.data.rows.map((row, i) => (
                  <CaseRow key={`${row.source}/${row.patientId}/${row.courseIndex}/${row.item ?? ""}/${i}`} row={row} definition={definition} canOpen={cases.data.canOpenPatient} showSource={showSource} sourceName={sourceName} />
                ))}
              </tbody>
            </table>
          </div>
          <CasePager page={cases.data.page} pageSize={cases.data.pageSize} total={cases.data.total} list={list} onList={onList} />
        </>
      )}
    </DashboardSection>
  );
}

function CaseRow({ row, definition, canOpen, showSource, sourceName }: { row: ReportCaseListRow; definition: MeasureDefinition; canOpen: boolean; showSource: boolean; sourceName: (id: string) => string }) {
  const name = row.patientName ?? "Name not recorded";
  const outcome = caseOutcomeLabel(row);
  const stratum = stratumLabel(definition, row.stratum);
  return (
    <tr className="border-b border-slate-100 align-top" data-testid="case-row">
      <td className="py-1.5 pl-2 pr-3">
        {canOpen ? (
          <Link href={panelPatientHref(row.source, row.patientId)} prefetch={false} className="font-medium text-brand underline underline-offset-2">
            {name}
          </Link>
        ) : (
          <span className="font-medium">{name}</span>
        )}
        <span className="block font-mono text-xs text-slate-600">
          {row.patientId}
          {showSource ? ` · ${sourceName(row.source)}` : ""}
        </span>
      </td>
      <td className="py-1.5 pr-3">
        {DRUG_LABELS[row.drug] ?? row.drug}
        <span className="block text-xs text-slate-600">{row.route}</span>
      </td>
      <td className="py-1.5 pr-3 tabular-nums">{formatDate(row.courseStart)}</td>
      <td className="py-1.5 pr-3 tabular-nums">{formatDate(row.date)}</td>
      <td className="py-1.5 pr-3">
        {stratum}
        {row.item && row.item !== row.stratum ? <span className="block font-mono text-xs text-slate-600">{row.item}</span> : null}
      </td>
      <td className={`py-1.5 pr-3 font-medium ${OUTCOME_STYLES[outcome]}`}>{outcome}</td>
      <td className="py-1.5 pr-3 text-slate-700">{exclusionLabel(definition, row.excludedReason)}</td>
    </tr>
  );
}

function CasePager({ page, pageSize, total, list, onList }: { page: number; pageSize: number; total: number; list: CaseListState; onList: (next: CaseListState) => void }) {
  const pageCount = Math.max(1, Math.ceil(total / pageSize));
  const first = (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  const button = "rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50";
  return (
    <nav aria-label="Pages of the patient list" className="mt-2 flex flex-wrap items-center justify-between gap-2 text-sm">
      <p className="text-slate-700">{page > pageCount ? `Page ${page} is past the last page (${pageCount}).` : `Rows ${formatCount(first)} to ${formatCount(last)} of ${formatCount(total)}`}</p>
      <div className="flex items-center gap-2">
        <label className="flex items-center gap-1 text-slate-700">
          Rows per page
          <select value={list.size} onChange={(e) => onList({ ...list, size: Number(e.target.value), page: 1 })} className="rounded border border-slate-300 bg-white px-1 py-1 text-sm">
            {(PAGE_SIZES as readonly number[]).includes(list.size) ? null : <option value={list.size}>{list.size}</option>}
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className={button} disabled={page <= 1} onClick={() => onList({ ...list, page: Math.min(page - 1, pageCount) })}>
          Previous
        </button>
        <span className="tabular-nums text-slate-700">
          Page {page} of {pageCount}
        </span>
        <button type="button" className={button} disabled={page >= pageCount} onClick={() => onList({ ...list, page: page + 1 })}>
          Next
        </button>
      </div>
    </nav>
  );
}
