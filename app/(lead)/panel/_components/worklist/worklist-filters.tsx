"use client";

import { useId, useState, type ReactNode } from "react";
import {
  CHECKPOINT_WEEKS,
  DATE_FIELD_LABELS,
  DATE_FIELDS,
  DRUGS,
  FLAG_KINDS,
  PAGE_SIZES,
  ROUTES,
  SEVERITIES,
  VERDICT_FILTERS,
  withFilters,
  type PanelFilters,
} from "@/lib/panel/filters";
import type { FilterOptions } from "@/lib/panel/types";
import { DRUG_LABELS, flagKindLabel, verdictLabel } from "@/lib/patient-view/format";
import type { CheckpointVerdict } from "@/lib/clinical/types";

const CONTROL = "mt-0.5 w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm";

function Field({ label, children, hint }: { label: string; children: (id: string) => ReactNode; hint?: string }) {
  const id = useId();
  return (
    <div className="min-w-0">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      {children(id)}
      {hint ? <p className="mt-0.5 text-xs text-slate-500">{hint}</p> : null}
    </div>
  );
}

function Select<T extends string | number>({
  label,
  value,
  options,
  onChange,
  anyLabel = "Any",
  hint,
}: {
  label: string;
  value: T | null;
  options: ReadonlyArray<{ value: T; label: string }>;
  onChange: (value: T | null) => void;
  anyLabel?: string | null;
  hint?: string;
}) {
  return (
    <Field label={label} hint={hint}>
      {(id) => (
        <select
          id={id}
          value={value === null ? "" : String(value)}
          onChange={(e) => {
            const chosen = options.find((o) => String(o.value) === e.target.value);
            onChange(chosen ? chosen.value : null);
          }}
          className={CONTROL}
        >
          {anyLabel !== null ? <option value="">{anyLabel}</option> : null}
          {options.map((o) => (
            <option key={String(o.value)} value={String(o.value)}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/**
 * Every server-side filter of the worklist. Each change applies at once (a new URL, page 1); the date range
 * applies once both ends are valid dates in order.
 */
export function WorklistFilters({ filters, options, navigate }: { filters: PanelFilters; options: FilterOptions; navigate: (next: PanelFilters) => void }) {
  const set = (change: Partial<PanelFilters>) => navigate(withFilters(filters, change));
  const prescribers = filters.prescriber && !options.prescribers.includes(filters.prescriber) ? [filters.prescriber, ...options.prescribers] : options.prescribers;
  return (
    <form aria-label="Filters" onSubmit={(e) => e.preventDefault()} className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
      <div className="grid gap-3 sm:grid-cols-2 md:grid-cols-3 xl:grid-cols-6">
        <Select
          label="Source"
          value={filters.source}
          anyLabel="All sources"
          options={[...options.sources.map((s) => ({ value: s.id, label: s.name })), ...(filters.source && !options.sources.some((s) => s.id === filters.source) ? [{ value: filters.source, label: filters.source }] : [])]}
          onChange={(source) => set({ source })}
        />
        <Select
          label="Patients"
          value={filters.scope}
          anyLabel={null}
          options={[
            { value: "on-jak", label: "On a JAK inhibitor now" },
            { value: "all", label: "Every synced patient" },
          ]}
          onChange={(scope) => set({ scope: scope ?? "on-jak" })}
        />
        <Select label="Drug" value={filters.drug} options={DRUGS.map((d) => ({ value: d, label: DRUG_LABELS[d] }))} onChange={(drug) => set({ drug })} />
        <Select label="Route" value={filters.route} options={ROUTES.map((r) => ({ value: r, label: r }))} onChange={(route) => set({ route })} />
        <Select
          label="Latest checkpoint"
          value={filters.week}
          options={CHECKPOINT_WEEKS.map((w) => ({ value: w, label: `Week ${w}` }))}
          onChange={(week) => set({ week })}
          hint="The latest decided one"
        />
        <Select
          label="Latest verdict"
          value={filters.verdict}
          options={VERDICT_FILTERS.map((v) => ({ value: v, label: v === "none" ? "None decided yet" : verdictLabel(v as CheckpointVerdict) }))}
          onChange={(verdict) => set({ verdict })}
        />
        <Select label="Flag" value={filters.flag} options={FLAG_KINDS.map((k) => ({ value: k, label: flagKindLabel(k) }))} onChange={(flag) => set({ flag })} />
        <Select
          label="Severity"
          value={filters.severity}
          options={SEVERITIES.map((s) => ({ value: s, label: s }))}
          onChange={(severity) => set({ severity })}
          hint={filters.flag ? "Of that flag" : "Of any flag"}
        />
        <Select label="Prescriber" value={filters.prescriber} options={prescribers.map((p) => ({ value: p, label: p }))} onChange={(prescriber) => set({ prescriber })} />
        {/* Keyed by the URL's range: Back, Forward and "Clear filters" start it afresh. */}
        <DateRange key={`${filters.from ?? ""}|${filters.to ?? ""}`} filters={filters} onApply={set} />
        <Select
          label="Rows per page"
          value={filters.size}
          anyLabel={null}
          options={PAGE_SIZES.map((n) => ({ value: n, label: String(n) }))}
          onChange={(size) => set({ size: size ?? 25 })}
        />
      </div>
    </form>
  );
}

/** From and to, and what they apply to (course start or next due date). */
function DateRange({ filters, onApply }: { filters: PanelFilters; onApply: (change: Partial<PanelFilters>) => void }) {
  const [from, setFrom] = useState(filters.from ?? "");
  const [to, setTo] = useState(filters.to ?? "");
  const valid = (v: string) => v === "" || /^\d{4}-\d{2}-\d{2}$/.test(v);
  const inOrder = from === "" || to === "" || from <= to;
  const apply = (nextFrom: string, nextTo: string) => {
    if (valid(nextFrom) && valid(nextTo) && (nextFrom === "" || nextTo === "" || nextFrom <= nextTo)) onApply({ from: nextFrom || null, to: nextTo || null });
  };
  const errorId = useId();
  return (
    <fieldset className="min-w-0 sm:col-span-2 md:col-span-3 xl:col-span-2" aria-describedby={inOrder ? undefined : errorId}>
      <legend className="text-xs font-medium text-slate-700">Date range</legend>
      <div className="mt-0.5 grid grid-cols-3 gap-2">
        <Field label="Applies to">
          {(id) => (
            <select id={id} value={filters.dateOf} onChange={(e) => onApply({ dateOf: e.target.value as PanelFilters["dateOf"] })} className={CONTROL}>
              {DATE_FIELDS.map((f) => (
                <option key={f} value={f}>
                  {DATE_FIELD_LABELS[f]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From">
          {(id) => (
            <input
              id={id}
              type="date"
              value={from}
              onChange={(e) => {
                setFrom(e.target.value);
                apply(e.target.value, to);
              }}
              className={CONTROL}
            />
          )}
        </Field>
        <Field label="To">
          {(id) => (
            <input
              id={id}
              type="date"
              value={to}
              onChange={(e) => {
                setTo(e.target.value);
                apply(from, e.target.value);
              }}
              className={CONTROL}
            />
          )}
        </Field>
      </div>
      {inOrder ? null : (
        <p id={errorId} role="alert" className="mt-0.5 text-xs font-medium text-status-critical">
          From is after To: the range is not applied.
        </p>
      )}
    </fieldset>
  );
}
