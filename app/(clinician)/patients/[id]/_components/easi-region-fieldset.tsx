"use client";

import { EASI_AREA_BANDS, EASI_REGION_LABELS, EASI_SIGN_LABELS, EASI_SIGNS, type EasiRegion, type EasiRegionInput, type EasiSign } from "@/lib/clinical/easi";
import { ScoreRadioGroup } from "./score-radio-group";

const SIGN_LEVELS = ["none", "mild", "moderate", "severe"] as const;

/** One EASI body region: four signs 0-3 and the area score 0-6, with the region's weighted contribution. */
export function EasiRegionFieldset({
  region,
  value,
  weight,
  score,
  onChange,
  disabled,
}: {
  region: EasiRegion;
  value: EasiRegionInput;
  weight: number;
  score: number;
  onChange: (next: EasiRegionInput) => void;
  disabled: boolean;
}) {
  const label = EASI_REGION_LABELS[region];
  const set = (key: EasiSign | "area", v: number) => onChange({ ...value, [key]: v });
  return (
    <fieldset disabled={disabled} className="min-w-0 rounded border border-slate-200 p-2">
      <legend className="px-1 text-sm font-semibold text-slate-900">
        {label} <span className="font-normal text-slate-600">(× {weight})</span>
      </legend>
      <div className="grid gap-2 sm:grid-cols-2">
        {EASI_SIGNS.map((sign) => (
          <ScoreRadioGroup
            key={sign}
            legend={`${EASI_SIGN_LABELS[sign]}, ${label.toLowerCase()}`}
            max={3}
            value={value[sign]}
            onChange={(v) => set(sign, v)}
            optionLabels={SIGN_LEVELS}
            size="sm"
          />
        ))}
      </div>
      <div className="mt-2">
        <ScoreRadioGroup legend={`Area affected, ${label.toLowerCase()}`} max={6} value={value.area} onChange={(v) => set("area", v)} optionLabels={EASI_AREA_BANDS} size="sm" />
        <p className="mt-0.5 text-xs text-slate-600">0 = none, 1 = 1-9 %, 2 = 10-29 %, 3 = 30-49 %, 4 = 50-69 %, 5 = 70-89 %, 6 = 90-100 %</p>
      </div>
      <p className="mt-1 text-xs text-slate-700">
        Region score: <span className="font-semibold tabular-nums">{score}</span>
      </p>
    </fieldset>
  );
}
