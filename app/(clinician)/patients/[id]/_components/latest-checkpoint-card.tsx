import type { CourseEvaluation } from "@/lib/clinical/types";
import { CHECKPOINT_MEASURE_ORDER, formatDate, formatImprovement, formatNumber, MEASURE_INFO, measureStatusLabel } from "@/lib/patient-view/format";
import { latestVerdict, nextCheckpoint } from "@/lib/patient-view/overview";
import { VerdictBadge } from "./verdict-badge";

/** The latest checkpoint verdict with the measures behind it, and when the next window opens. */
export function LatestCheckpointCard({ course }: { course: CourseEvaluation }) {
  const latest = latestVerdict(course);
  const next = nextCheckpoint(course);
  return (
    <div className="rounded-md border border-slate-200 p-3" data-testid="latest-checkpoint">
      <p className="text-xs font-semibold uppercase tracking-wide text-slate-600">Latest checkpoint</p>
      {latest ? (
        <>
          <p className="mt-1 flex items-center gap-2 text-lg font-semibold text-slate-900">
            Week {latest.week} <VerdictBadge verdict={latest.verdict} />
          </p>
          <ul className="mt-1 space-y-0.5 text-sm text-slate-700">
            {CHECKPOINT_MEASURE_ORDER.flatMap((key) => {
              const m = latest.measures[key];
              if (!m) return [];
              return [
                <li key={key}>
                  {MEASURE_INFO[key].label}: {m.baseline !== null && m.value !== null ? `${formatNumber(m.baseline)} → ${formatNumber(m.value)}, ${formatImprovement(m.improvement, m.percentImprovement)}` : measureStatusLabel(m.status)}
                  {m.status === "met" || m.status === "not-met" ? `, ${m.criterion} ${measureStatusLabel(m.status)}` : ""}
                </li>,
              ];
            })}
          </ul>
        </>
      ) : (
        <p className="mt-1 text-sm text-slate-700">No checkpoint window has opened yet.</p>
      )}
      {next ? (
        <p className="mt-2 text-sm text-slate-600">
          Next: week {next.week}, window {formatDate(next.windowStart)} to {formatDate(next.windowEnd)}
        </p>
      ) : null}
    </div>
  );
}
