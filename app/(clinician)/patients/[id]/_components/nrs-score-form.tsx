"use client";

import { useState, type FormEvent } from "react";
import type { ScoreMeasure } from "@/lib/fhir/score-types";
import { RecordScoreStatus } from "./record-score-status";
import { ScoreRadioGroup } from "./score-radio-group";
import { useRecordScore } from "./use-record-score";

/** One 0-10 numeric rating scale (itch or skin pain, worst in the last 24 h) and its submit button. */
export function NrsScoreForm({
  patientId,
  measure,
  legend,
  submitLabel,
  anchors,
  date,
}: {
  patientId: string;
  measure: Extract<ScoreMeasure, "itch-nrs" | "skin-pain-nrs">;
  legend: string;
  submitLabel: string;
  anchors: { low: string; high: string };
  date: string;
}) {
  const [value, setValue] = useState<number | null>(null);
  const [missing, setMissing] = useState(false);
  const mutation = useRecordScore(patientId);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (value === null) {
      setMissing(true);
      return;
    }
    setMissing(false);
    mutation.mutate({ measure, value, effectiveDateTime: date }, { onSuccess: () => setValue(null) });
  }

  return (
    <form onSubmit={submit} noValidate className="rounded-md border border-slate-200 p-3" aria-label={submitLabel}>
      <ScoreRadioGroup
        legend={legend}
        max={10}
        value={value}
        onChange={(v) => {
          setValue(v);
          setMissing(false);
        }}
        anchors={anchors}
        disabled={mutation.isPending}
      />
      <button
        type="submit"
        disabled={mutation.isPending}
        className="mt-2 rounded bg-brand px-3 py-1.5 text-sm font-semibold text-white hover:bg-brand/90 focus-visible:outline-offset-2 disabled:opacity-60"
      >
        {mutation.isPending ? "Recording…" : submitLabel}
      </button>
      {missing ? (
        <p role="alert" className="mt-2 text-sm font-medium text-status-critical">
          Choose a score from 0 to 10 first.
        </p>
      ) : (
        <RecordScoreStatus result={mutation.data} error={mutation.error} />
      )}
    </form>
  );
}
