"use client";

import { PRESET_LABELS, PRESETS, withFilters, type PanelFilters, type Preset } from "@/lib/panel/filters";

const SHORT: Record<Preset, string> = {
  "not-responded": "Not responded",
  "overdue-labs": "Overdue or missing labs",
  "abnormal-labs": "Abnormal labs",
  "due-7-days": "Due in 7 days",
};

/** The lead's standing worklists: one press turns a preset on (another press turns it off). */
export function WorklistPresets({ filters, navigate }: { filters: PanelFilters; navigate: (next: PanelFilters) => void }) {
  return (
    <div role="group" aria-label="Worklists" className="flex flex-wrap gap-2">
      {PRESETS.map((preset) => {
        const on = filters.preset === preset;
        return (
          <button
            key={preset}
            type="button"
            aria-pressed={on}
            title={PRESET_LABELS[preset]}
            onClick={() => navigate(withFilters(filters, { preset: on ? null : preset }))}
            className={`rounded-full border px-3 py-1.5 text-sm font-medium ${on ? "border-brand bg-brand text-white" : "border-slate-300 bg-white text-slate-800 hover:bg-slate-100"}`}
          >
            {SHORT[preset]}
          </button>
        );
      })}
    </div>
  );
}
