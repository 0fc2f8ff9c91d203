import type { CourseEvaluation } from "@/lib/clinical/types";
import { DRUG_LABELS, formatDate, formatDose, verdictLabel } from "@/lib/patient-view/format";
import { latestVerdict } from "@/lib/patient-view/overview";

export function EarlierCoursesList({ courses }: { courses: { course: CourseEvaluation; index: number }[] }) {
  if (courses.length === 0) return null;
  return (
    <div className="mt-3">
      <h3 className="text-sm font-semibold text-slate-800">Earlier JAK courses</h3>
      <ul className="mt-1 space-y-0.5 text-sm text-slate-700">
        {courses.map(({ course, index }) => {
          const verdict = latestVerdict(course);
          return (
            <li key={index}>
              {DRUG_LABELS[course.drug] ?? course.drug}, {course.route}
              {formatDose(course.doseMg) ? ` ${formatDose(course.doseMg)}` : ""}: {formatDate(course.start)} to {course.end ? formatDate(course.end) : "no end recorded"}{" "}
              <span className="text-slate-600">(from {course.startSource})</span>
              {verdict ? `; last checkpoint week ${verdict.week}: ${verdictLabel(verdict.verdict)}` : ""}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
