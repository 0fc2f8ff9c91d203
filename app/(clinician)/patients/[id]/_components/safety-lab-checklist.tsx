import type { CourseEvaluation, Flag } from "@/lib/clinical/types";
import { formatDate, requirementLabel } from "@/lib/patient-view/format";
import { abnormalFlagsForRequirement, abnormalResults, flagsForCourse, sortFlagsBySeverity } from "@/lib/patient-view/overview";
import { DashboardSection } from "./dashboard-section";
import { FlagList } from "./flag-list";
import { LabResultValues } from "./lab-result-values";
import { LabStatusBadge } from "./lab-status-badge";
import { RuleCitation } from "./rule-citation";
import { SeverityBadge } from "./severity-badge";

const LAB_FLAG_KINDS = new Set(["missing-lab", "overdue-lab", "abnormal-lab"]);

/** Each lab requirement with status, due date and the satisfying result; abnormal results with their threshold. */
export function SafetyLabChecklist({ course, courseIndex, flags }: { course: CourseEvaluation | null; courseIndex: number | null; flags: Flag[] }) {
  const courseFlags = flagsForCourse(flags, courseIndex);
  const abnormal = courseFlags.filter((f) => f.kind === "abnormal-lab");
  const labFlagsWithoutRow = sortFlagsBySeverity(courseFlags.filter((f) => LAB_FLAG_KINDS.has(f.kind) && f.kind !== "abnormal-lab" && !course?.labs.some((l) => l.requirement === f.requirement)));

  if (!course) {
    return (
      <DashboardSection id="safety-labs" title="Safety labs">
        <p className="text-sm text-slate-700">No JAK course, so no lab requirements.</p>
      </DashboardSection>
    );
  }
  const rows = [...course.labs]
    .sort((a, b) => (a.dueBy < b.dueBy ? -1 : a.dueBy > b.dueBy ? 1 : 0))
    .map((lab) => ({
      lab,
      abnormalHere: abnormalFlagsForRequirement(lab, abnormal),
      // The missing/overdue flag of this requirement, so its rule id and source show on the row.
      statusFlags: courseFlags.filter((f) => (f.kind === "missing-lab" || f.kind === "overdue-lab") && f.requirement === lab.requirement),
    }));
  const linkedAbnormal = new Set(rows.flatMap((r) => r.abnormalHere));
  return (
    <DashboardSection id="safety-labs" title="Safety labs" description="Requirements from the drug's label for this course. Results outside the label's thresholds are highlighted.">
      {rows.length === 0 ? (
        <p className="text-sm text-slate-700">No lab requirements for this drug.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-left text-sm">
            <caption className="sr-only">Safety-lab checklist for the current course</caption>
            <thead>
              <tr className="border-b-2 border-slate-300 text-slate-700">
                <th scope="col" className="py-2 pr-3">Requirement</th>
                <th scope="col" className="py-2 pr-3">Status</th>
                <th scope="col" className="py-2 pr-3">Due by</th>
                <th scope="col" className="py-2">Result (value, date)</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ lab, abnormalHere, statusFlags }) => {
                const highlight = abnormalHere.length > 0 || abnormalResults(lab).length > 0;
                return (
                  <tr key={`${lab.requirement}-${lab.occurrence ?? 0}`} data-testid="lab-row" className={`border-b border-slate-200 align-top ${highlight ? "bg-red-50" : ""}`}>
                    <th scope="row" className="py-2 pr-3 font-medium">
                      {requirementLabel(lab.requirement, lab.occurrence)}
                      {lab.windowStart && lab.windowEnd ? (
                        <span className="block text-xs font-normal text-slate-600">
                          window {formatDate(lab.windowStart)} to {formatDate(lab.windowEnd)}
                        </span>
                      ) : null}
                    </th>
                    <td className="py-2 pr-3">
                      <span className="flex flex-wrap gap-1">
                        <LabStatusBadge status={lab.status} />
                        {highlight ? <SeverityBadge severity={abnormalHere[0]?.severity ?? abnormalResults(lab)[0]?.abnormal?.severity ?? "warning"} /> : null}
                      </span>
                      {highlight ? <span className="mt-0.5 block text-xs font-semibold text-status-critical">abnormal</span> : null}
                    </td>
                    <td className="py-2 pr-3">{formatDate(lab.dueBy)}</td>
                    <td className="py-2">
                      {(lab.results ?? []).length > 0 ? (
                        <LabResultValues results={lab.results!} />
                      ) : (lab.satisfiedBy ?? []).length > 0 ? (
                        <p className="font-mono text-xs text-slate-700">{(lab.satisfiedBy ?? []).join(", ")}</p>
                      ) : (
                        <p className="text-slate-600">No result on record</p>
                      )}
                      {statusFlags.map((f, i) => (
                        <div key={`${f.ruleId}-${i}`} className="mt-1">
                          <p className="text-slate-800">{f.message}</p>
                          <RuleCitation ruleId={f.ruleId} source={f.source} sourceLabel={f.sourceLabel} sourceUrl={f.sourceUrl} />
                        </div>
                      ))}
                      {abnormalHere.map((f, i) => (
                        <div key={`${f.ruleId}-${i}`} className="mt-1">
                          <p className="font-semibold text-status-critical">{f.message}</p>
                          <RuleCitation ruleId={f.ruleId} source={f.source} sourceLabel={f.sourceLabel} sourceUrl={f.sourceUrl} />
                        </div>
                      ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <OtherLabFlags flags={[...sortFlagsBySeverity(abnormal.filter((f) => !linkedAbnormal.has(f))), ...labFlagsWithoutRow]} />
    </DashboardSection>
  );
}

function OtherLabFlags({ flags }: { flags: Flag[] }) {
  if (flags.length === 0) return null;
  return (
    <div className="mt-3">
      <h3 className="text-sm font-semibold text-slate-800">Other lab findings</h3>
      <div className="mt-1">
        <FlagList flags={flags} label="Other lab findings" />
      </div>
    </div>
  );
}
