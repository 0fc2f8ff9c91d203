import type { PatientEvaluation } from "@/lib/clinical/types";
import type { FetchSummary } from "@/lib/fhir/patient-record-types";
import { MEASURE_INFO, therapyClassLabel, TREND_ORDER } from "@/lib/patient-view/format";

/** Empty state: no JAK course was found; say so and show what the record does hold. */
export function NoCourseNotice({ evaluation, fetch }: { evaluation: PatientEvaluation; fetch: FetchSummary }) {
  const measures = TREND_ORDER.filter((k) => (evaluation.trends?.[k]?.points.length ?? 0) > 0);
  const therapies = evaluation.therapyHistory ?? [];
  const counts = Object.entries(fetch.resourceCounts).filter(([, n]) => n > 0);
  return (
    <div className="rounded-md border border-dashed border-slate-400 p-3 text-sm text-slate-800" data-testid="no-course">
      <p className="font-semibold">No JAK inhibitor course found in this record.</p>
      <p className="mt-1 text-slate-700">
        The app looks for upadacitinib, abrocitinib, baricitinib and ruxolitinib cream in medication statements, orders and dispenses. Checkpoints and
        safety labs appear once a course is on record.
      </p>
      <h3 className="mt-2 font-semibold">What was found</h3>
      <ul className="list-disc pl-5 text-slate-700">
        <li>Scores: {measures.length > 0 ? measures.map((k) => `${MEASURE_INFO[k].label} (${evaluation.trends?.[k]?.points.length ?? 0})`).join(", ") : "none"}</li>
        <li>Other eczema therapy: {therapies.length > 0 ? therapies.map((t) => `${t.name} (${therapyClassLabel(t.therapyClass)})`).join(", ") : "none"}</li>
        <li>Resources read: {counts.length > 0 ? counts.map(([type, n]) => `${type} ${n}`).join(", ") : "none"}</li>
      </ul>
    </div>
  );
}
