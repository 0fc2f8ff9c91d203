import type { CourseEvaluation, Flag } from "@/lib/clinical/types";
import { formatDate, requirementLabel } from "@/lib/patient-view/format";
import { labAttention } from "@/lib/patient-view/overview";
import { LabStatusBadge } from "./lab-status-badge";
import { RuleCitation } from "./rule-citation";
import { SeverityBadge } from "./severity-badge";

/** Labs that need action now: abnormal results first, then overdue, missing and due requirements. */
export function LabAttentionCard({ course, flags, courseIndex }: { course: CourseEvaluation; flags: Flag[]; courseIndex: number }) {
  const a = labAttention(course, flags, courseIndex);
  const requirements = [...a.overdue, ...a.missing, ...a.due];
  const nothing = requirements.length === 0 && a.abnormal.length === 0;
  return (
    <div className="rounded-md border border-slate-200 p-3" data-testid="lab-attention">
      <p className="text-xs font-semibold uppercase tracking-wide text-slate-600">Safety labs needing action</p>
      {nothing ? (
        <p className="mt-1 text-sm text-slate-700">{course.labs.length === 0 ? "No labs required for this drug." : "None: every required lab is done or not yet due."}</p>
      ) : (
        <ul className="mt-1 space-y-1 text-sm">
          {a.abnormal.map((f, i) => (
            <li key={`${f.ruleId}-${f.resource ?? i}`} className="flex items-start gap-2">
              <SeverityBadge severity={f.severity} />
              <div className="text-slate-900">
                {f.message}
                <RuleCitation ruleId={f.ruleId} source={f.source} sourceLabel={f.sourceLabel} sourceUrl={f.sourceUrl} />
              </div>
            </li>
          ))}
          {requirements.map((l) => (
            <li key={`${l.requirement}-${l.occurrence ?? 0}`} className="flex flex-wrap items-center gap-2">
              <LabStatusBadge status={l.status} />
              <span className="text-slate-900">{requirementLabel(l.requirement, l.occurrence)}</span>
              <span className="text-slate-600">due by {formatDate(l.dueBy)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
