import type { CourseEvaluation, Flag } from "@/lib/clinical/types";
import { DRUG_LABELS, formatDate } from "@/lib/patient-view/format";
import { checkpointRule } from "@/lib/patient-view/overview";
import { CheckpointRuleCell } from "./checkpoint-rule-cell";
import { CheckpointMeasureList } from "./checkpoint-measure-list";
import { DashboardSection } from "./dashboard-section";
import { VerdictBadge } from "./verdict-badge";

/** Every checkpoint of the current course: verdict, the measures behind it, and the rule with its source. */
export function CheckpointTable({ course, courseIndex, flags }: { course: CourseEvaluation | null; courseIndex: number | null; flags: Flag[] }) {
  if (!course || courseIndex === null) {
    return (
      <DashboardSection id="checkpoints" title="Checkpoints">
        <p className="text-sm text-slate-700">No JAK course, so no checkpoints.</p>
      </DashboardSection>
    );
  }
  const checkpoints = [...course.checkpoints].sort((a, b) => a.week - b.week);
  return (
    <DashboardSection id="checkpoints" title="Checkpoints" description={`${DRUG_LABELS[course.drug] ?? course.drug}, started ${formatDate(course.start)}. A checkpoint is responded as soon as one criterion is met.`}>
      {checkpoints.length === 0 ? (
        <p className="text-sm text-slate-700">The rules define no checkpoints for this drug.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-left text-sm">
            <caption className="sr-only">Checkpoint verdicts for the current course</caption>
            <thead>
              <tr className="border-b-2 border-slate-300 text-slate-700">
                <th scope="col" className="py-2 pr-3">Checkpoint</th>
                <th scope="col" className="py-2 pr-3">Verdict</th>
                <th scope="col" className="py-2 pr-3">Measures</th>
                <th scope="col" className="py-2">Rule</th>
              </tr>
            </thead>
            <tbody>
              {checkpoints.map((c) => {
                const rule = checkpointRule(course, courseIndex, c.week, flags);
                return (
                  <tr key={c.week} className="border-b border-slate-200 align-top" data-testid="checkpoint-row">
                    <th scope="row" className="py-2 pr-3 font-semibold">
                      Week {c.week}
                      <span className="block text-xs font-normal text-slate-600">
                        {formatDate(c.windowStart)} to {formatDate(c.windowEnd)}
                      </span>
                    </th>
                    <td className="py-2 pr-3">
                      <VerdictBadge verdict={c.verdict} />
                    </td>
                    <td className="py-2 pr-3">{c.verdict === "not-due" ? <span className="text-slate-600">Window not open yet</span> : <CheckpointMeasureList checkpoint={c} />}</td>
                    <td className="py-2 text-slate-800">
                      {rule ? <CheckpointRuleCell rule={rule} /> : <span className="text-slate-600">No rule for this week</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </DashboardSection>
  );
}
