import type { CourseEvaluation } from "@/lib/clinical/types";
import { DRUG_LABELS, formatDate, formatDose, formatNumber } from "@/lib/patient-view/format";
import type { CurrentCourse } from "@/lib/patient-view/overview";

/** Drug, route, dose, start and where the start came from, and the course week today. */
export function CourseSummaryCard({ current }: { current: CurrentCourse }) {
  const { course, active, weekToday } = current;
  return (
    <div className="rounded-md border border-slate-200 p-3" data-testid="current-course">
      <p className="text-xs font-semibold uppercase tracking-wide text-slate-600">{active ? "On treatment" : "Last course (ended)"}</p>
      <p className="mt-1 text-lg font-semibold text-slate-900">{DRUG_LABELS[course.drug] ?? course.drug}</p>
      <p className="text-sm text-slate-700">
        {course.route}
        {formatDose(course.doseMg) ? `, ${formatDose(course.doseMg)}${(course.doseChanges ?? []).length > 0 ? " (current dose)" : ""}` : ""}
      </p>
      {active && weekToday !== null ? (
        <p className="mt-2 text-3xl font-bold text-brand" aria-label={`Week ${weekToday} of treatment today`}>
          Week {weekToday}
        </p>
      ) : null}
      <CourseDates course={course} />
      {(course.doseChanges ?? []).length > 0 ? (
        <ul className="mt-1 text-sm text-slate-700" aria-label="Dose changes">
          {(course.doseChanges ?? []).map((d) => (
            <li key={`${d.date}-${d.resource}`}>
              Dose {d.fromMg === null ? "changed" : `${formatNumber(d.fromMg)} mg`} → {formatNumber(d.toMg)} mg on {formatDate(d.date)}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function CourseDates({ course }: { course: CourseEvaluation }) {
  return (
    <p className="mt-1 text-sm text-slate-700">
      Started {formatDate(course.start)} <span className="text-slate-600">(from {course.startSource})</span>
      {course.end ? <> · ended {formatDate(course.end)}</> : null}
    </p>
  );
}
