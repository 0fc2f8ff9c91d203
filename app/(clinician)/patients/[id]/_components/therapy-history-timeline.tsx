import type { TherapyClass } from "@/lib/clinical/types";
import { formatDate } from "@/lib/patient-view/format";
import type { TherapyTimeline } from "@/lib/patient-view/therapy-timeline";
import { DashboardSection } from "./dashboard-section";

// Okabe-Ito colours per class; the class is also written in words on each row.
const CLASS_COLOURS: Record<TherapyClass, string> = {
  "jak-ad": "#0072B2",
  "jak-other": "#56B4E9",
  "topical-corticosteroid": "#E69F00",
  "topical-calcineurin-inhibitor": "#009E73",
  "topical-pde4-inhibitor": "#F0E442",
  biologic: "#CC79A7",
  "systemic-immunosuppressant": "#D55E00",
  phototherapy: "#999999",
};

/** Topical steroids, calcineurin inhibitors, biologics, phototherapy and JAK courses on one time axis. */
export function TherapyHistoryTimeline({ timeline }: { timeline: TherapyTimeline | null }) {
  return (
    <DashboardSection id="therapy-history" title="Therapy history" description="Prior and concurrent eczema therapy, for sequencing decisions.">
      {!timeline ? (
        <p className="text-sm text-slate-700">No eczema therapy on record.</p>
      ) : (
        <div>
          <p className="text-xs text-slate-600">
            {formatDate(timeline.axisStart)} to {formatDate(timeline.axisEnd)}
          </p>
          <ol className="mt-2 space-y-1.5" aria-label="Therapies in start order">
            {timeline.bars.map((bar) => (
              <li key={bar.key} className="grid grid-cols-1 gap-1 text-sm sm:grid-cols-[16rem_1fr] sm:items-center" data-testid="therapy-row">
                <div>
                  <span className="font-medium text-slate-900">{bar.name}</span>
                  <span className="block text-xs text-slate-600">
                    {bar.classLabel}
                    {bar.route ? `, ${bar.route}` : ""} · {formatDate(bar.start)} to {bar.end ? formatDate(bar.end) : "ongoing"}
                  </span>
                </div>
                <div className="relative h-4 rounded bg-slate-100" aria-hidden="true">
                  {timeline.yearTicks.map((t) => (
                    <span key={t.year} className="absolute top-0 h-full border-l border-slate-300" style={{ left: `${t.leftPercent}%` }} />
                  ))}
                  <span
                    className="absolute top-0.5 h-3 rounded-sm border border-slate-700/40 print:border-slate-900"
                    style={{ left: `${bar.leftPercent}%`, width: `${bar.widthPercent}%`, backgroundColor: CLASS_COLOURS[bar.therapyClass] }}
                    title={`${bar.name}: ${bar.start} to ${bar.end ?? "ongoing"}`}
                  />
                </div>
              </li>
            ))}
          </ol>
          {timeline.yearTicks.length > 0 ? (
            <div className="mt-1 hidden text-xs text-slate-600 sm:grid sm:grid-cols-[16rem_1fr]" aria-hidden="true">
              <span />
              <div className="relative h-4">
                {timeline.yearTicks.map((t) => (
                  <span key={t.year} className="absolute -translate-x-1/2" style={{ left: `${t.leftPercent}%` }}>
                    {t.year}
                  </span>
                ))}
              </div>
            </div>
          ) : null}
        </div>
      )}
    </DashboardSection>
  );
}
