"use client";

import { useId, useState } from "react";
import type { CourseEvaluation, PatientEvaluation } from "@/lib/clinical/types";
import { availableTrendRanges, buildTrendChart, defaultTrendRange, TREND_RANGES, type TrendRange } from "@/lib/patient-view/chart-series";
import { MEASURE_INFO, TREND_ORDER } from "@/lib/patient-view/format";
import { DashboardSection } from "./dashboard-section";
import { TrendChart } from "./trend-chart";

const ALWAYS_LISTED = ["itch", "pain", "easi"] as const;

/** "This course / 1 year / All" for every chart at once, as native radio inputs (arrow keys move between them). */
function TrendRangeControl({ ranges, value, onChange }: { ranges: TrendRange[]; value: TrendRange; onChange: (range: TrendRange) => void }) {
  const name = useId();
  const chosen = TREND_RANGES.find((r) => r.id === value);
  return (
    <fieldset className="mb-3 min-w-0 print:hidden" data-testid="trend-range">
      <legend className="text-sm font-medium text-slate-900">Period shown</legend>
      <div className="mt-1 flex flex-wrap items-center gap-2">
        <div className="inline-flex overflow-hidden rounded border border-slate-300">
          {TREND_RANGES.filter((r) => ranges.includes(r.id)).map((r) => (
            <label
              key={r.id}
              className="cursor-pointer border-r border-slate-300 px-3 py-1.5 text-sm last:border-r-0 hover:bg-slate-100 has-checked:bg-brand has-checked:font-semibold has-checked:text-white has-focus-visible:outline-2 has-focus-visible:outline-offset-[-2px] has-focus-visible:outline-brand"
            >
              <input type="radio" name={name} value={r.id} checked={value === r.id} onChange={() => onChange(r.id)} className="sr-only" />
              {r.label}
            </label>
          ))}
        </div>
        {chosen ? <span className="text-xs text-slate-600">Showing {chosen.description}; every value stays in the tables.</span> : null}
      </div>
    </fieldset>
  );
}

/** Itch, skin pain and EASI always (saying when absent), other measures when the record has them. */
export function TrendsSection({ evaluation, course, asOf }: { evaluation: PatientEvaluation; course: CourseEvaluation | null; asOf: string }) {
  const ranges = availableTrendRanges(course);
  const [chosen, setRange] = useState<TrendRange>(() => defaultTrendRange(course));
  // A refetch can drop the course; fall back to what this patient offers.
  const range = ranges.includes(chosen) ? chosen : defaultTrendRange(course);
  const trends = evaluation.trends ?? {};
  const present = TREND_ORDER.filter((k) => (trends[k]?.points.length ?? 0) > 0);
  const missing = ALWAYS_LISTED.filter((k) => !present.includes(k));
  return (
    <DashboardSection
      id="trends"
      title="Trends"
      description={course ? "Against baseline, with the current course's checkpoint windows shaded by verdict." : "No JAK course: values only, no checkpoint windows."}
    >
      {present.length > 0 ? <TrendRangeControl ranges={ranges} value={range} onChange={setRange} /> : null}
      {present.length === 0 ? <p className="text-sm text-slate-700">No eczema scores (itch, skin pain, EASI, IGA, BSA, DLQI, POEM, sleep) in the record.</p> : null}
      <div className="grid gap-3 lg:grid-cols-2">
        {present.map((key) => {
          const trend = trends[key];
          return trend ? <TrendChart key={key} model={buildTrendChart(trend, course, asOf, range)} /> : null;
        })}
      </div>
      {missing.length > 0 && present.length > 0 ? (
        <p className="mt-2 text-sm text-slate-700">Not recorded: {missing.map((k) => MEASURE_INFO[k].label).join(", ")}.</p>
      ) : null}
    </DashboardSection>
  );
}
