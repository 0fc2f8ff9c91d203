"use client";

import { useId, useState } from "react";
import type { PatientViewResponse } from "@/lib/fhir/patient-record-types";
import { DashboardSection } from "./dashboard-section";
import { EasiCalculator } from "./easi-calculator";
import { NrsScoreForm } from "./nrs-score-form";

/**
 * Recording scores (itch NRS, skin-pain NRS, EASI) as Observations at the EHR. Shown only when the EHR
 * granted Observation create; otherwise one line says so. The date defaults to the page's as-of date.
 */
export function RecordScorePanel({ view }: { view: PatientViewResponse }) {
  const [date, setDate] = useState(view.asOf);
  const dateId = useId();
  if (!view.access.canWriteObservations) {
    return (
      <p className="text-sm text-slate-600 print:hidden" data-testid="record-score-unavailable">
        Recording scores is not available: the EHR did not grant this app write access to Observations.
      </p>
    );
  }
  const validDate = /^\d{4}-\d{2}-\d{2}$/.test(date) && date <= view.asOf;
  return (
    <DashboardSection id="record-score" title="Record a score" description="Saved to the EHR as an Observation; the trend updates when it is saved." className="print:hidden">
      <div className="mb-3">
        <label htmlFor={dateId} className="block text-sm font-medium text-slate-900">
          Date of the scores
        </label>
        <input
          id={dateId}
          type="date"
          value={date}
          max={view.asOf}
          onChange={(e) => setDate(e.target.value)}
          aria-invalid={!validDate}
          aria-describedby={validDate ? undefined : `${dateId}-error`}
          className="mt-1 rounded border border-slate-300 px-2 py-1 text-sm"
        />
        {validDate ? null : (
          <p id={`${dateId}-error`} role="alert" className="mt-1 text-sm font-medium text-status-critical">
            Choose a date on or before {view.asOf}.
          </p>
        )}
      </div>
      <fieldset disabled={!validDate} className="min-w-0 space-y-3">
        <legend className="sr-only">Scores</legend>
        <div className="grid gap-3 lg:grid-cols-2">
          <NrsScoreForm patientId={view.patient.id} measure="itch-nrs" legend="Itch NRS (worst itch, past 24 h)" submitLabel="Record itch score" anchors={{ low: "no itch", high: "worst imaginable itch" }} date={date} />
          <NrsScoreForm patientId={view.patient.id} measure="skin-pain-nrs" legend="Skin pain NRS (worst, past 24 h)" submitLabel="Record skin pain score" anchors={{ low: "no pain", high: "worst imaginable pain" }} date={date} />
        </div>
        <EasiCalculator patientId={view.patient.id} ageYears={view.patient.age} date={date} />
      </fieldset>
    </DashboardSection>
  );
}
