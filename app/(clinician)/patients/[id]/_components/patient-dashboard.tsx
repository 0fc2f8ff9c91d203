"use client";

import { useMemo, type ReactNode } from "react";
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

/**
 * The whole patient page for one API response, most important facts first. The panel shows the same page for
 * a synced patient: `banner` says where the data came from, and `recordScores={false}` leaves out score recording.
 */
export function PatientDashboard({ view, banner, recordScores = true }: { view: PatientViewResponse; banner?: ReactNode; recordScores?: boolean }) {
  const { evaluation, asOf } = view;
  const current = currentCourse(evaluation, asOf);
  const summaryText = useMemo(() => buildSummaryText(view), [view]);
  const timeline = useMemo(() => buildTherapyTimeline(evaluation.therapyHistory ?? [], evaluation.courses, asOf), [evaluation, asOf]);

  return (
    <div className="space-y-4 print:space-y-2">
      <PatientHeader patient={view.patient} asOf={asOf} summaryText={summaryText} />
      {banner}
      <PartialDataBanner fetch={view.fetch} />
      <CurrentCourseSection evaluation={evaluation} asOf={asOf} fetch={view.fetch} />
      <FlagsSection flags={evaluation.flags} courseIndex={current?.index ?? null} />
      <TrendsSection evaluation={evaluation} course={current?.course ?? null} asOf={asOf} />
      {recordScores ? <RecordScorePanel view={view} /> : null}
      <CheckpointTable course={current?.course ?? null} courseIndex={current?.index ?? null} flags={evaluation.flags} />
      <SafetyLabChecklist course={current?.course ?? null} courseIndex={current?.index ?? null} flags={evaluation.flags} />
      <TherapyHistoryTimeline timeline={timeline} />
      <DataQualityPanel evaluation={evaluation} fetch={view.fetch} />
      <p className="text-xs text-slate-600">
        Rules version {view.rulesVersion}
        {view.fetch.requests > 0 ? ` · ${view.fetch.requests} EHR requests in ${Math.round(view.fetch.ms)} ms` : ""} · source {view.access.fhirServer}
      </p>
    </div>
  );
}
