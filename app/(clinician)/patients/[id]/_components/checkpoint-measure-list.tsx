import type { CheckpointEvaluation, MeasureAtCheckpoint } from "@/lib/clinical/types";
import { CHECKPOINT_MEASURE_ORDER, formatDate, formatImprovement, formatNumber, MEASURE_INFO, measureStatusLabel } from "@/lib/patient-view/format";

/** The measures behind a verdict: baseline, value, change and whether the criterion was met. */
export function CheckpointMeasureList({ checkpoint }: { checkpoint: CheckpointEvaluation }) {
  const keys = CHECKPOINT_MEASURE_ORDER.filter((k) => checkpoint.measures[k]);
  if (keys.length === 0) return <span className="text-slate-600">No measures assessed</span>;
  return (
    <ul className="space-y-1">
      {keys.map((key) => {
        const m = checkpoint.measures[key];
        if (!m) return null;
        const tone = m.status === "met" ? "font-semibold text-status-ok" : m.status === "not-met" ? "font-semibold text-status-critical" : "text-slate-600";
        return (
          <li key={key}>
            <span className="font-medium">{MEASURE_INFO[key].label}</span>{" "}
            <span className={tone}>
              {m.criterion} {measureStatusLabel(m.status)}
            </span>
            {m.baseline === null && m.value === null ? null : <MeasureNumbers m={m} />}
          </li>
        );
      })}
    </ul>
  );
}

function MeasureNumbers({ m }: { m: MeasureAtCheckpoint }) {
  const baselineNote = m.baselineDate ? ` (${formatDate(m.baselineDate)}${m.baselineFrom === "diary-mean" ? ", diary mean" : ""})` : "";
  const valueNote = m.valueDate ? ` (${formatDate(m.valueDate)}${m.valueFrom === "diary-mean" ? ", weekly diary mean" : ""})` : "";
  return (
    <span className="block text-slate-700">
      baseline {m.baseline === null ? "none" : formatNumber(m.baseline)}
      {baselineNote} → value {m.value === null ? "none in window" : formatNumber(m.value)}
      {valueNote}
      {m.improvement !== null ? `: ${formatImprovement(m.improvement, m.percentImprovement)}` : ""}
      {m.band ? `, ${m.band}` : ""}
    </span>
  );
}
