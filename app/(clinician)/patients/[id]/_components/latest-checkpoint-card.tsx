import type { CheckpointEvaluation, CourseEvaluation } from "@/lib/clinical/types";
import { CHECKPOINT_MEASURE_ORDER, formatDate, formatImprovement, formatNumber, MEASURE_INFO, measureStatusLabel } from "@/lib/patient-view/format";
import { latestDecidedVerdict, latestVerdict, nextCheckpoint, openCheckpoints } from "@/lib/patient-view/overview";
import { VerdictBadge } from "./verdict-badge";

/** The latest decided verdict with the measures behind it, a window open now, and when the next opens. */
export function LatestCheckpointCard({ course }: { course: CourseEvaluation }) {
  const headline = latestDecidedVerdict(course) ?? latestVerdict(course);
  const openNow = openCheckpoints(course).filter((c) => c.week !== headline?.week);
  const next = nextCheckpoint(course);
  return (
    <div className="rounded-md border border-slate-200 p-3" data-testid="latest-checkpoint">
      <p className="text-xs font-semibold uppercase tracking-wide text-slate-600">Latest checkpoint</p>
      {headline ? (
        <>
          <p className="mt-1 flex items-center gap-2 text-lg font-semibold text-slate-900">
            Week {headline.week} <VerdictBadge verdict={headline.verdict} />
          </p>
          <MeasureLines checkpoint={headline} />
        </>
      ) : (
        <p className="mt-1 text-sm text-slate-700">No checkpoint window has opened yet.</p>
      )}
      {openNow.map((c) => (
        <p key={c.week} className="mt-2 flex flex-wrap items-center gap-1 text-sm text-slate-700">
          Week {c.week} <VerdictBadge verdict={c.verdict} /> until {formatDate(c.windowEnd)}
        </p>
      ))}
      {next ? (
        <p className="mt-2 text-sm text-slate-600">
          Next: week {next.week}, window {formatDate(next.windowStart)} to {formatDate(next.windowEnd)}
        </p>
      ) : null}
    </div>
  );
}

function MeasureLines({ checkpoint }: { checkpoint: CheckpointEvaluation }) {
  return (
    <ul className="mt-1 space-y-0.5 text-sm text-slate-700">
      {CHECKPOINT_MEASURE_ORDER.flatMap((key) => {
        const m = checkpoint.measures[key];
        if (!m) return [];
        const numbers = m.baseline !== null && m.value !== null ? `${formatNumber(m.baseline)} → ${formatNumber(m.value)}, ${formatImprovement(m.improvement, m.percentImprovement)}` : measureStatusLabel(m.status);
        const verdict = m.status === "met" || m.status === "not-met" ? `, ${m.criterion} ${measureStatusLabel(m.status)}` : "";
        return [
          <li key={key}>
            {MEASURE_INFO[key].label}: {numbers}
            {verdict}
          </li>,
        ];
      })}
    </ul>
  );
}
