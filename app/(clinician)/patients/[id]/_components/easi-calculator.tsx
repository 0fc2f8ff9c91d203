"use client";

import { useMemo, useState, type FormEvent } from "react";
import { EASI_REGIONS, easiScore, emptyEasiInput, type EasiInput } from "@/lib/clinical/easi";
import { EasiRegionFieldset } from "./easi-region-fieldset";
import { RecordScoreStatus } from "./record-score-status";
import { useRecordScore } from "./use-record-score";

/**
 * EASI: 4 regions x (4 signs 0-3 and area 0-6), weighted for the patient's age (0-7 years: head/neck 0.2,
 * lower limbs 0.3; from 8 years, or age unknown: 0.1 and 0.4). The total updates as the user chooses.
 */
export function EasiCalculator({ patientId, ageYears, date }: { patientId: string; ageYears: number | null; date: string }) {
  const [input, setInput] = useState<EasiInput>(emptyEasiInput);
  const result = useMemo(() => easiScore(input, { ageYears }), [input, ageYears]);
  const mutation = useRecordScore(patientId);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    mutation.mutate({ measure: "easi", value: result.total, effectiveDateTime: date, components: result.regions }, { onSuccess: () => setInput(emptyEasiInput()) });
  }

  const weighting =
    result.weighting === "child" ? "Weights for children 0-7 years." : ageYears === null ? "Age unknown: weights for 8 years and over." : "Weights for 8 years and over.";
  return (
    <form onSubmit={submit} noValidate aria-label="Record EASI" className="rounded-md border border-slate-200 p-3">
      <fieldset disabled={mutation.isPending} className="min-w-0">
        <legend className="text-sm font-medium text-slate-900">EASI calculator</legend>
        <p className="text-xs text-slate-600">Signs: 0 none, 1 mild, 2 moderate, 3 severe. {weighting}</p>
        <div className="mt-2 grid gap-3 xl:grid-cols-2">
          {EASI_REGIONS.map((region) => (
            <EasiRegionFieldset
              key={region}
              region={region}
              value={input[region]}
              weight={result.weights[region]}
              score={result.regions[region]}
              onChange={(next) => setInput((current) => ({ ...current, [region]: next }))}
              disabled={mutation.isPending}
            />
          ))}
        </div>
      </fieldset>
      <div className="mt-3 flex flex-wrap items-center gap-3">
        <p className="text-sm text-slate-900">
          EASI total:{" "}
          <output aria-live="polite" data-testid="easi-total" className="text-lg font-semibold tabular-nums">
            {result.total}
          </output>{" "}
          <span className="text-slate-600">/ 72</span>
        </p>
        <button
          type="submit"
          disabled={mutation.isPending}
          className="rounded bg-brand px-3 py-1.5 text-sm font-semibold text-white hover:bg-brand/90 focus-visible:outline-offset-2 disabled:opacity-60"
        >
          {mutation.isPending ? "Recording…" : "Record EASI"}
        </button>
      </div>
      <RecordScoreStatus result={mutation.data} error={mutation.error} />
    </form>
  );
}
