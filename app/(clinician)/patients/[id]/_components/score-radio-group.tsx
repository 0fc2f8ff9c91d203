"use client";

import { useId } from "react";

/**
 * A segmented 0..max choice built from native radio inputs (one fieldset, one legend), so arrow keys move
 * between options and screen readers announce the group. `anchors` labels the ends ("0 none").
 */
export function ScoreRadioGroup({
  legend,
  max,
  value,
  onChange,
  anchors,
  optionLabels,
  disabled = false,
  size = "md",
}: {
  legend: string;
  max: number;
  value: number | null;
  onChange: (value: number) => void;
  anchors?: { low: string; high: string };
  /** Accessible name per option (e.g. area bands), else the number. */
  optionLabels?: readonly string[];
  disabled?: boolean;
  size?: "md" | "sm";
}) {
  const name = useId();
  const hintId = `${name}-hint`;
  const options = Array.from({ length: max + 1 }, (_, i) => i);
  const cell = size === "sm" ? "min-w-8 px-2 py-1 text-xs" : "min-w-9 px-2.5 py-1.5 text-sm";
  return (
    <fieldset disabled={disabled} aria-describedby={anchors ? hintId : undefined} className="min-w-0">
      <legend className={size === "sm" ? "text-xs font-medium text-slate-700" : "text-sm font-medium text-slate-900"}>{legend}</legend>
      <div className="mt-1 inline-flex flex-wrap overflow-hidden rounded border border-slate-300">
        {options.map((option) => (
          <label
            key={option}
            title={optionLabels?.[option]}
            className={`${cell} cursor-pointer border-r border-slate-300 text-center tabular-nums last:border-r-0 hover:bg-slate-100 has-checked:bg-brand has-checked:font-semibold has-checked:text-white has-focus-visible:outline-2 has-focus-visible:outline-offset-[-2px] has-focus-visible:outline-brand has-disabled:cursor-not-allowed has-disabled:opacity-60`}
          >
            <input
              type="radio"
              name={name}
              value={option}
              checked={value === option}
              onChange={() => onChange(option)}
              className="sr-only"
              aria-label={optionLabels?.[option] ? `${option}: ${optionLabels[option]}` : undefined}
            />
            {option}
          </label>
        ))}
      </div>
      {anchors ? (
        <p id={hintId} className="mt-0.5 text-xs text-slate-600">
          0 = {anchors.low}, {max} = {anchors.high}
        </p>
      ) : null}
    </fieldset>
  );
}
