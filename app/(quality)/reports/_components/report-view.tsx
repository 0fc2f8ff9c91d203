"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { PanelSkeleton } from "@/app/(lead)/panel/_components/panel-skeleton";
import type { ReportPeriod } from "@/lib/reports/compute";
import { measureDefinition, type MeasureId } from "@/lib/reports/measures";
import { ReportApiError, reportQueryOptions } from "@/lib/reports/report-api-client";
import type { ReportFilterChoices } from "@/lib/reports/report-handlers";
import { parseCaseListQuery, parseReportFilters, reportHref, serializeReportFilters, type CaseListState, type ReportFilterState } from "@/lib/reports/report-requests";
import { CaseList } from "./case-list";
import { DataNotes } from "./data-notes";
import { ExportPanel } from "./export-panel";
import { MeasureFigures } from "./measure-figures";
import { ReportError } from "./report-error";
import { ReportFilterBar } from "./report-filter-bar";
import { ReportHeadline } from "./report-headline";
import { StrataTable } from "./strata-table";
import { TrendChart } from "./trend-chart";

/**
 * One measure's report for the filters in the URL. A change of filter, list outcome or page pushes a new URL (so
 * Back and bookmarks work) without reloading the page; the figures come from GET /api/reports/[measureId].
 */
export function ReportView({ measureId, choices, defaultPeriod }: { measureId: MeasureId; choices: ReportFilterChoices; defaultPeriod: ReportPeriod }) {
  const searchParams = useSearchParams();
  const filters = parseReportFilters(searchParams);
  const list = parseCaseListQuery(searchParams);
  const definition = measureDefinition(measureId);
  return (
    <div className="space-y-4">
      <div>
        <Link href="/reports" className="text-sm font-medium text-brand underline underline-offset-2">
          All reports
        </Link>
        <h1 className="mt-1 text-2xl font-semibold tracking-tight text-slate-900">
          {definition.number}. {definition.title}
        </h1>
        <p className="mt-1 max-w-4xl text-sm text-slate-700">{definition.description}</p>
      </div>
      {filters.ok && list.ok ? (
        <Report measureId={measureId} filters={filters.value} list={list.value} choices={choices} defaultPeriod={defaultPeriod} />
      ) : (
        <ReportError error={new ReportApiError(400, "bad-request", "Bad filters.", [...(filters.ok ? [] : filters.problems), ...(list.ok ? [] : list.problems)])} resetHref={`/reports/${measureId}`} />
      )}
    </div>
  );
}

function Report({ measureId, filters, list, choices, defaultPeriod }: { measureId: MeasureId; filters: ReportFilterState; list: CaseListState; choices: ReportFilterChoices; defaultPeriod: ReportPeriod }) {
  const filterQuery = serializeReportFilters(filters);
  const report = useQuery(reportQueryOptions(measureId, filterQuery));
  // Any change of filter goes back to the list's first page; the list keeps its outcome and page size.
  const setFilters = (next: ReportFilterState) => window.history.pushState(null, "", reportHref(measureId, next, { ...list, page: 1 }));
  const setList = (next: CaseListState) => window.history.pushState(null, "", reportHref(measureId, filters, next));
  const sourceName = (id: string) => choices.sources.find((s) => s.id === id)?.name ?? id;
  return (
    <>
      <ReportFilterBar filters={filters} choices={choices} defaultPeriod={defaultPeriod} onChange={setFilters} updating={report.isFetching} />
      {report.isPending ? (
        <PanelSkeleton label="Loading the report…" />
      ) : report.isError ? (
        <ReportError error={report.error} onRetry={() => void report.refetch()} resetHref={`/reports/${measureId}`} />
      ) : (
        <div className="space-y-4" aria-busy={report.isPlaceholderData}>
          <ReportHeadline definition={report.data.definition} summary={report.data.summary} filters={filters} sourceName={sourceName} />
          <MeasureFigures definition={report.data.definition} summary={report.data.summary} />
          <StrataTable definition={report.data.definition} strata={report.data.summary.strata} />
          <TrendChart trend={report.data.summary.trend} />
          <DataNotes measureId={measureId} filterQuery={filterQuery} count={report.data.summary.dataNotes} />
          <CaseList measureId={measureId} definition={report.data.definition} filterQuery={filterQuery} list={list} onList={setList} showSource={choices.sources.length > 1 && !filters.source} sourceName={sourceName} />
          <ExportPanel measureId={measureId} filters={filters} period={report.data.summary.period} />
        </div>
      )}
    </>
  );
}
