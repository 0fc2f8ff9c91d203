"use client";

import { useId, useState, type ReactNode } from "react";
import type { ReportPeriod } from "@/lib/reports/compute";
import { DRUGS, ROUTES } from "@/lib/panel/filters";
import { DRUG_LABELS } from "@/lib/reports/measures";
import type { ReportFilterChoices } from "@/lib/reports/report-handlers";
import { defaultReportPeriod, type ReportFilterState } from "@/lib/reports/report-requests";

const CONTROL = "mt-0.5 w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm";

function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="min-w-0">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      {children(id)}
    </div>
  );
}

function Choice({ label, value, anyLabel, options, onChange }: { label: string; value: string | undefined; anyLabel: string; options: ReadonlyArray<{ value: string; label: string }>; onChange: (value: string | undefined) => void }) {
  // A value from a shared link that is not among today's choices stays selectable, so the form shows what applies.
  const all = value !== undefined && !options.some((o) => o.value === value) ? [...options, { value, label: value }] : options;
  return (
    <Field label={label}>
      {(id) => (
        <select id={id} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)} className={CONTROL}>
          <option value="">{anyLabel}</option>
          {all.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** The report's period and filters; each change applies at once (a new URL). The period applies once both dates are valid and in order. */
export function ReportFilterBar({
  filters,
  choices,
  defaultPeriod,
  onChange,
  updating,
}: {
  filters: ReportFilterState;
  choices: ReportFilterChoices;
  defaultPeriod: ReportPeriod;
  onChange: (next: ReportFilterState) => void;
  updating: boolean;
}) {
  const set = (change: Partial<ReportFilterState>) => {
    const next: ReportFilterState = { ...filters, ...change };
    for (const key of Object.keys(next) as Array<keyof ReportFilterState>) if (next[key] === undefined) delete next[key];
    onChange(next);
  };
  const to = filters.to ?? defaultPeriod.to;
  const from = filters.from ?? defaultReportPeriod(to).from;
  const customPeriod = filters.from !== undefined || filters.to !== undefined;
  return (
    <form aria-label="Report filters" onSubmit={(e) => e.preventDefault()} className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm print:hidden">
      <div className="grid gap-3 sm:grid-cols-2 md:grid-cols-3 xl:grid-cols-6">
        {/* Keyed by the URL's period: Back, Forward and the reset start it afresh. */}
        <PeriodFields key={`${from}|${to}`} from={from} to={to} onApply={(period) => set(period)} />
        <Choice label="Source" value={filters.source} anyLabel="All sources" options={choices.sources.map((s) => ({ value: s.id, label: s.name }))} onChange={(source) => set({ source })} />
        <Choice label="Drug" value={filters.drug} anyLabel="Any drug" options={DRUGS.map((d) => ({ value: d, label: DRUG_LABELS[d] }))} onChange={(drug) => set({ drug: drug as ReportFilterState["drug"] })} />
        <Choice label="Route" value={filters.route} anyLabel="Any route" options={ROUTES.map((r) => ({ value: r, label: r }))} onChange={(route) => set({ route: route as ReportFilterState["route"] })} />
        <Choice label="Prescriber" value={filters.prescriber} anyLabel="Any prescriber" options={choices.prescribers.map((p) => ({ value: p, label: p }))} onChange={(prescriber) => set({ prescriber })} />
      </div>
      <div className="mt-2 flex flex-wrap items-center gap-3 text-sm">
        {customPeriod ? (
          <button type="button" onClick={() => set({ from: undefined, to: undefined })} className="font-medium text-brand underline underline-offset-2">
            Back to the last 12 months
          </button>
        ) : (
          <span className="text-slate-600">Period: the last 12 months (the default).</span>
        )}
        {Object.keys(filters).length > 0 ? (
          <button type="button" onClick={() => onChange({})} className="font-medium text-brand underline underline-offset-2">
            Clear all filters
          </button>
        ) : null}
        {updating ? (
          <span role="status" className="font-medium text-status-info">
            Updating…
          </span>
        ) : null}
      </div>
    </form>
  );
}

function PeriodFields({ from, to, onApply }: { from: string; to: string; onApply: (period: { from: string; to: string }) => void }) {
  const [draft, setDraft] = useState({ from, to });
  const errorId = useId();
  const valid = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);
  const inOrder = !valid(draft.from) || !valid(draft.to) || draft.from <= draft.to;
  const change = (next: { from: string; to: string }) => {
    setDraft(next);
    if (valid(next.from) && valid(next.to) && next.from <= next.to) onApply(next);
  };
  return (
    <fieldset className="min-w-0 sm:col-span-2 md:col-span-3 xl:col-span-2" aria-describedby={inOrder ? undefined : errorId}>
      <legend className="text-xs font-medium text-slate-700">Period (the date each measure names)</legend>
      <div className="mt-0.5 grid grid-cols-2 gap-2">
        <Field label="From">{(id) => <input id={id} type="date" value={draft.from} onChange={(e) => change({ ...draft, from: e.target.value })} className={CONTROL} />}</Field>
        <Field label="To">{(id) => <input id={id} type="date" value={draft.to} onChange={(e) => change({ ...draft, to: e.target.value })} className={CONTROL} />}</Field>
      </div>
      {inOrder ? null : (
        <p id={errorId} role="alert" className="mt-0.5 text-xs font-medium text-status-critical">
          From is after To: the period is not applied.
        </p>
      )}
    </fieldset>
  );
}
