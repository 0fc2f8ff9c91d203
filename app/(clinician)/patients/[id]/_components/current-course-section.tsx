import type { PatientEvaluation } from "@/lib/clinical/types";
import type { FetchSummary } from "@/lib/fhir/patient-record-types";
import { currentCourse, earlierCourses } from "@/lib/patient-view/overview";
import { CourseSummaryCard } from "./course-summary-card";
import { DashboardSection } from "./dashboard-section";
import { EarlierCoursesList } from "./earlier-courses-list";
import { LabAttentionCard } from "./lab-attention-card";
import { LatestCheckpointCard } from "./latest-checkpoint-card";
import { NoCourseNotice } from "./no-course-notice";

/** Above the fold: the course and week, the latest verdict, and labs that need action. */
export function CurrentCourseSection({ evaluation, asOf, fetch }: { evaluation: PatientEvaluation; asOf: string; fetch: FetchSummary }) {
  const current = currentCourse(evaluation, asOf);
  return (
    <DashboardSection id="current-course" title="Current JAK course">
      {current ? (
        <div className="grid gap-3 md:grid-cols-3">
          <CourseSummaryCard current={current} />
          <LatestCheckpointCard course={current.course} />
          <LabAttentionCard course={current.course} flags={evaluation.flags} courseIndex={current.index} />
        </div>
      ) : (
        <NoCourseNotice evaluation={evaluation} fetch={fetch} />
      )}
      <EarlierCoursesList courses={earlierCourses(evaluation, current)} />
    </DashboardSection>
  );
}
