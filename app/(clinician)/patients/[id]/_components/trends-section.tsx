"use client";

import type { CourseEvaluation, PatientEvaluation } from "@/lib/clinical/types";
import { buildTrendChart } from "@/lib/patient-view/chart-series";
import { MEASURE_INFO, TREND_ORDER } from "@/lib/patient-view/format";
import { DashboardSection } from "./dashboard-section";
import { TrendChart } from "./trend-chart";

const ALWAYS_LISTED = ["itch", "pain", "easi"] as const;

/** Itch, skin pain and EASI always (saying when absent), other measures when the record has them. */
export function TrendsSection({ evaluation, course, asOf }: { evaluation: PatientEvaluation; course: CourseEvaluation | null; asOf: string }) {
  const trends = evaluation.trends ?? {};
  const present = TREND_ORDER.filter((k) => (trends[k]?.points.length ?? 0) > 0);
  const missing = ALWAYS_LISTED.filter((k) => !present.includes(k));
  return (
    <DashboardSection
      id="trends"
      title="Trends"
      description={course ? "Against baseline, with the current course's checkpoint windows shaded by verdict." : "No JAK course: values only, no checkpoint windows."}
    >
      {present.length === 0 ? <p className="text-sm text-slate-700">No eczema scores (itch, skin pain, EASI, IGA, BSA, DLQI, POEM, sleep) in the record.</p> : null}
      <div className="grid gap-3 lg:grid-cols-2">
        {present.map((key) => {
          const trend = trends[key];
          return trend ? <TrendChart key={key} model={buildTrendChart(trend, course, asOf)} /> : null;
        })}
      </div>
      {missing.length > 0 && present.length > 0 ? (
        <p className="mt-2 text-sm text-slate-700">Not recorded: {missing.map((k) => MEASURE_INFO[k].label).join(", ")}.</p>
      ) : null}
    </DashboardSection>
  );
}
