"use client";

import { useMutation } from "@tanstack/react-query";
import { conceptLabel, type MappingCoverage } from "@/lib/panel/code-classification";
import { deleteCodeMapping } from "@/lib/panel/panel-api-client";
import { formatCount, formatInstant } from "@/lib/panel/panel-format";
import { ReevaluationProgress } from "./reevaluation-progress";
import { SortableTable, type Column } from "./sortable-table";

/**
 * The site's code mappings as of the view's computation, what each matched, and a button to remove one (a job
 * re-evaluates its patients, then the view is recomputed).
 */
export function MappingsTable({ mappings }: { mappings: MappingCoverage[] }) {
  const remove = useMutation({ mutationFn: deleteCodeMapping });
  const columns: Column<MappingCoverage>[] = [
    { id: "code", header: "System | code", cell: (m) => <span className="break-all font-mono text-xs">{m.system}|{m.code}</span>, sortValue: (m) => `${m.system}|${m.code}` },
    { id: "display", header: "Label", cell: (m) => m.display ?? "–", sortValue: (m) => m.display },
    {
      id: "concept",
      header: "Concept",
      cell: (m) => (
        <>
          {conceptLabel(m.concept)}
          <span className="block font-mono text-xs text-slate-600">{m.concept}</span>
          {m.invalidConcept ? <span className="block text-xs font-medium text-status-critical">Not a concept the engine knows: ignored. Remove it and map again.</span> : null}
          {m.shadowedBy ? <span className="block text-xs font-medium text-status-warn">Never applies: the built-in table already matches this code as {m.shadowedBy}.</span> : null}
        </>
      ),
      sortValue: (m) => m.concept,
    },
    { id: "resources", header: "Resources matched", cell: (m) => formatCount(m.resources), sortValue: (m) => m.resources, numeric: true },
    {
      id: "added",
      header: "Added",
      cell: (m) => (
        <>
          {formatInstant(m.createdAt)}
          {m.createdBy ? <span className="block break-all text-xs text-slate-600">by {m.createdBy}</span> : null}
        </>
      ),
      sortValue: (m) => m.createdAt,
    },
    {
      id: "remove",
      header: "Remove",
      cell: (m) =>
        remove.isSuccess && remove.data.mapping.id === m.id ? (
          <span className="text-xs text-slate-600">Removed; gone from this list when the view is recomputed.</span>
        ) : (
          <button
            type="button"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(`Remove the mapping of ${m.system}|${m.code} to ${m.concept}? Patients with this code are re-evaluated without it.`)) remove.mutate(m.id);
            }}
            className="rounded border border-status-critical px-2 py-0.5 text-xs font-medium text-status-critical hover:bg-red-50 disabled:opacity-50"
            aria-label={`Remove the mapping of ${m.system}|${m.code}`}
          >
            Remove
          </button>
        ),
    },
  ];
  return (
    <div className="space-y-2">
      <div aria-live="polite">
        {remove.isSuccess ? (
          <div className="text-sm">
            <p className={remove.data.reevaluationQueued ? "text-status-ok" : "text-status-warn"}>{remove.data.message}</p>
            {remove.data.reevaluationJobId ? <ReevaluationProgress key={remove.data.reevaluationJobId} jobId={remove.data.reevaluationJobId} /> : null}
          </div>
        ) : null}
        {remove.isError ? (
          <p role="alert" className="text-sm text-status-critical">
            {remove.error.message}
          </p>
        ) : null}
      </div>
      {mappings.length === 0 ? (
        <p className="text-sm text-slate-700">No site mappings yet. Map an ignored code below to add one.</p>
      ) : (
        <SortableTable caption="Site code mappings" rows={mappings} columns={columns} rowKey={(m) => m.id} initialSort={{ column: "code", direction: "ascending" }} rowTestId="code-mapping-row" />
      )}
    </div>
  );
}
