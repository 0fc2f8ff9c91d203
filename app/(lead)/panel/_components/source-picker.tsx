"use client";

import { useId } from "react";
import type { SourceSummary } from "@/lib/panel/types";

/** One source or all of them; hidden when there is only one to choose. */
export function SourcePicker({ sources, value, onChange }: { sources: SourceSummary[]; value: string | null; onChange: (source: string | null) => void }) {
  const id = useId();
  if (sources.length <= 1 && !value) return null;
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className="text-sm font-medium text-slate-900">
        Source
      </label>
      <select id={id} value={value ?? ""} onChange={(e) => onChange(e.target.value || null)} className="rounded border border-slate-300 bg-white px-2 py-1 text-sm">
        <option value="">All sources</option>
        {sources.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
        {value && !sources.some((s) => s.id === value) ? <option value={value}>{value} (not configured)</option> : null}
      </select>
    </div>
  );
}
