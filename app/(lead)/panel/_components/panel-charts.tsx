"use client";

import type { UseQueryResult } from "@tanstack/react-query";
import type { PanelCharts as PanelChartsData } from "@/lib/panel/types";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import { LabCompletenessChart } from "./lab-completeness-chart";
import { PanelError } from "./panel-error";
import { ResponseCurvesChart } from "./response-curves-chart";

/** The two charts, each with its definition and a table of the same numbers. */
export function PanelCharts({ query }: { query: UseQueryResult<PanelChartsData> }) {
  if (query.isPending) {
    return (
      <div role="status" aria-busy="true" className="h-64 animate-pulse rounded-lg bg-slate-200 motion-reduce:animate-none">
        <span className="sr-only">Loading the charts…</span>
      </div>
    );
  }
  if (query.isError) return <PanelError error={query.error} onRetry={() => void query.refetch()} />;
  const { responseCurves, labCompleteness } = query.data;
  return (
    <div className="grid gap-4 xl:grid-cols-2">
      <DashboardSection id="response-curves" title="Response over weeks by drug" description={responseCurves.definition}>
        <ResponseCurvesChart series={responseCurves.series} />
      </DashboardSection>
      <DashboardSection id="lab-completeness" title="Safety-lab completeness over time" description={labCompleteness.definition}>
        <LabCompletenessChart points={labCompleteness.points} />
      </DashboardSection>
    </div>
  );
}
