"use client";

import { useMemo } from "react";
import type { PatientViewResponse } from "@/lib/fhir/patient-record-types";
import { currentCourse } from "@/lib/patient-view/overview";
import { buildSummaryText } from "@/lib/patient-view/summary-text";
import { buildTherapyTimeline } from "@/lib/patient-view/therapy-timeline";
import { CheckpointTable } from "./checkpoint-table";
import { CurrentCourseSection } from "./current-course-section";
import { DataQualityPanel } from "./data-quality-panel";
import { FlagsSection } from "./flags-section";
import { PartialDataBanner } from "./partial-data-banner";
import { PatientHeader } from "./patient-header";
import { RecordScorePanel } from "./record-score-panel";
import { SafetyLabChecklist } from "./safety-lab-checklist";
import { TherapyHistoryTimeline } from "./therapy-history-timeline";
import { TrendsSection } from "./trends-section";

/** The whole patient page for one API response, most important facts first. */
export function PatientDashboard({ view }: { view: PatientViewResponse }) {
  const { evaluation, asOf } = view;
  const current = currentCourse(evaluation, asOf);
  const summaryText = useMemo(() => buildSummaryText(view), [view]);
  const timeline = useMemo(() => buildTherapyTimeline(evaluation.therapyHistory ?? [], evaluation.courses, asOf), [evaluation, asOf]);

  return (
    <div className="space-y-4 print:space-y-2">
      <PatientHeader patient={view.patient} asOf={asOf} summaryText={summaryText} />
      <PartialDataBanner fetch={view.fetch} />
      <CurrentCourseSection evaluation={evaluation} asOf={asOf} fetch={view.fetch} />
      <FlagsSection flags={evaluation.flags} courseIndex={current?.index ?? null} />
      <TrendsSection evaluation={evaluation} course={current?.course ?? null} asOf={asOf} />
      <RecordScorePanel view={view} />
      <CheckpointTable course={current?.course ?? null} courseIndex={current?.index ?? null} flags={evaluation.flags} />
      <SafetyLabChecklist course={current?.course ?? null} courseIndex={current?.index ?? null} flags={evaluation.flags} />
      <TherapyHistoryTimeline timeline={timeline} />
      <DataQualityPanel evaluation={evaluation} fetch={view.fetch} />
      <p className="text-xs text-slate-600">
        Rules version {view.rulesVersion} · {view.fetch.requests} EHR requests in {Math.round(view.fetch.ms)} ms · source {view.access.fhirServer}
      </p>
    </div>
  );
}
