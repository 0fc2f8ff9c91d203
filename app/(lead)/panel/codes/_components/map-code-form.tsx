"use client";

import { useMutation } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { MAPPABLE_CONCEPTS, type CoverageRow } from "@/lib/panel/code-classification";
import { postCodeMapping } from "@/lib/panel/panel-api-client";
import { ReevaluationProgress } from "./reevaluation-progress";

const OTHER = "__other__";

/**
 * Maps a site code (one of the row's codings) to an engine concept. The mapping is stored at once; a job then
 * re-evaluates the patients with the code, and the form follows it to the count.
 */
export function MapCodeForm({ row, onClose }: { row: CoverageRow; onClose: () => void }) {
  const id = useId();
  const codings = row.codings.filter((c) => c.system !== null && c.code !== null);
  const [codingIndex, setCodingIndex] = useState(0);
  const [concept, setConcept] = useState("");
  const [otherConcept, setOtherConcept] = useState("");
  const [display, setDisplay] = useState(row.display ?? "");
  const mutation = useMutation({ mutationFn: postCodeMapping });

  if (codings.length === 0) {
    return <p className="text-sm text-slate-700">This entry has no system and code, only text, so it cannot be mapped. Ask for it to be coded in the EHR.</p>;
  }
  const coding = codings[Math.min(codingIndex, codings.length - 1)]!;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosen = concept === OTHER ? otherConcept.trim() : concept;
    mutation.mutate({ system: coding.system!, code: coding.code!, concept: chosen, ...(display.trim() ? { display: display.trim() } : {}) });
  };

  return (
    <form onSubmit={submit} className="space-y-3 rounded border border-slate-300 bg-slate-50 p-3 text-sm" aria-label={`Map ${coding.system}|${coding.code}`} data-testid="map-code-form">
      {codings.length > 1 ? (
        <div>
          <label htmlFor={`${id}-coding`} className="block font-medium text-slate-800">
            Code to map
          </label>
          <select id={`${id}-coding`} value={codingIndex} onChange={(e) => setCodingIndex(Number(e.target.value))} className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1">
            {codings.map((c, i) => (
              <option key={`${c.system}|${c.code}`} value={i}>
                {c.system}|{c.code}
                {c.display ? ` (${c.display})` : ""}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <p className="text-slate-800">
          Code: <span className="break-all font-mono text-xs">{coding.system}|{coding.code}</span>
        </p>
      )}
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor={`${id}-concept`} className="block font-medium text-slate-800">
            Means
          </label>
          <select id={`${id}-concept`} value={concept} onChange={(e) => setConcept(e.target.value)} required className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1">
            <option value="">Choose a concept…</option>
            {MAPPABLE_CONCEPTS.map((group) => (
              <optgroup key={group.group} label={group.group}>
                {group.options.map((option) => (
                  <option key={option.id} value={option.id}>
                    {option.label}
                  </option>
                ))}
              </optgroup>
            ))}
            <option value={OTHER}>Another concept id…</option>
          </select>
          {concept === OTHER ? (
            <>
              <label htmlFor={`${id}-other`} className="mt-2 block font-medium text-slate-800">
                Concept id
              </label>
              <input
                id={`${id}-other`}
                value={otherConcept}
                onChange={(e) => setOtherConcept(e.target.value)}
                required
                placeholder="therapy:nemolizumab:biologic"
                aria-describedby={`${id}-other-help`}
                className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1 font-mono text-xs"
              />
              <p id={`${id}-other-help`} className="mt-1 text-xs text-slate-600">
                measure:&lt;code&gt;, lab:&lt;lab&gt;, drug:&lt;drug&gt;, therapy:&lt;name&gt;:&lt;class&gt; or vaccine:&lt;kind&gt; (README, Clinical engine).
              </p>
            </>
          ) : null}
        </div>
        <div>
          <label htmlFor={`${id}-display`} className="block font-medium text-slate-800">
            Label (optional)
          </label>
          <input id={`${id}-display`} value={display} onChange={(e) => setDisplay(e.target.value)} maxLength={300} className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1" />
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <button type="submit" disabled={mutation.isPending || mutation.isSuccess} className="rounded border border-brand bg-brand px-3 py-1.5 font-medium text-white disabled:opacity-50">
          {mutation.isPending ? "Saving…" : "Add mapping"}
        </button>
        <button type="button" onClick={onClose} className="rounded border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-800">
          {mutation.isSuccess ? "Close" : "Cancel"}
        </button>
      </div>
      <div aria-live="polite">
        {mutation.isSuccess ? (
          <>
            <p className={mutation.data.reevaluationQueued ? "text-status-ok" : "text-status-warn"} data-testid="map-code-result">
              {mutation.data.message}
            </p>
            {mutation.data.reevaluationJobId ? <ReevaluationProgress jobId={mutation.data.reevaluationJobId} /> : null}
          </>
        ) : null}
        {mutation.isError ? (
          <p role="alert" className="text-status-critical">
            {mutation.error.message}
          </p>
        ) : null}
      </div>
    </form>
  );
}

