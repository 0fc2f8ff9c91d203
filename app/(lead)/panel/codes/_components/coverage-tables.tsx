"use client";

import { useState } from "react";
import { conceptLabel, type CoverageRow } from "@/lib/panel/code-classification";
import { codePartLabel, formatCount, matchHowLabel } from "@/lib/panel/panel-format";
import { MapCodeForm } from "./map-code-form";
import { SortableTable, type Column } from "./sortable-table";

function CodeCell({ row }: { row: CoverageRow }) {
  if (row.system === null && row.code === null) return <span className="text-slate-600">no coding</span>;
  return (
    <span className="break-all font-mono text-xs">
      {row.system ?? "(no system)"}|{row.code ?? "(no code)"}
    </span>
  );
}

const partColumn: Column<CoverageRow> = { id: "part", header: "Resource", cell: (r) => codePartLabel(r.part), sortValue: (r) => r.part };
const codeColumn: Column<CoverageRow> = { id: "code", header: "System | code", cell: (r) => <CodeCell row={r} />, sortValue: (r) => `${r.system ?? ""}|${r.code ?? ""}` };
const displayColumn: Column<CoverageRow> = { id: "display", header: "Display or text", cell: (r) => r.display ?? <span className="text-slate-600">–</span>, sortValue: (r) => r.display };
const resourcesColumn: Column<CoverageRow> = { id: "resources", header: "Resources", cell: (r) => formatCount(r.resources), sortValue: (r) => r.resources, numeric: true };

const MATCHED_COLUMNS: Column<CoverageRow>[] = [
  partColumn,
  codeColumn,
  displayColumn,
  {
    id: "concept",
    header: "Concept",
    cell: (r) => (
      <>
        {r.concept ? conceptLabel(r.concept) : "–"}
        <span className="block font-mono text-xs text-slate-600">{r.concept}</span>
        {r.note ? <span className="block text-xs text-slate-600">{r.note}</span> : null}
      </>
    ),
    sortValue: (r) => r.concept,
  },
  {
    id: "how",
    header: "Matched by",
    cell: (r) => <span className={r.how === "text" ? "font-medium text-status-warn" : ""}>{matchHowLabel(r.how)}</span>,
    sortValue: (r) => r.how,
  },
  resourcesColumn,
];

/** Codes the engine uses, with how each matched and on how many resources. */
export function MatchedTable({ rows }: { rows: CoverageRow[] }) {
  if (rows.length === 0) return <p className="text-sm text-slate-700">No synced resource carries a code the engine uses yet.</p>;
  return <SortableTable caption="Matched codes" rows={rows} columns={MATCHED_COLUMNS} rowKey={(r) => r.key} initialSort={{ column: "resources", direction: "descending" }} rowTestId="coverage-matched-row" />;
}

/** Codes the engine leaves out, why, and a form to map one to a concept. */
export function IgnoredTable({ rows }: { rows: CoverageRow[] }) {
  const [open, setOpen] = useState<string | null>(null);
  if (rows.length === 0) return <p className="text-sm text-slate-700">Nothing was ignored.</p>;
  const columns: Column<CoverageRow>[] = [
    partColumn,
    codeColumn,
    displayColumn,
    { id: "reason", header: "Why ignored", cell: (r) => r.reasonText, sortValue: (r) => r.reason },
    resourcesColumn,
    {
      id: "map",
      header: "Site mapping",
      cell: (r) =>
        r.codings.some((c) => c.system !== null && c.code !== null) ? (
          <button
            type="button"
            aria-expanded={open === r.key}
            aria-label={`Map ${r.system ?? ""}|${r.code ?? ""} to a concept`}
            onClick={() => setOpen(open === r.key ? null : r.key)}
            className="whitespace-nowrap rounded border border-brand px-2 py-0.5 text-xs font-medium text-brand hover:bg-blue-50"
          >
            Map…
          </button>
        ) : (
          <span className="text-xs text-slate-600">no code</span>
        ),
    },
  ];
  return (
    <SortableTable
      caption="Ignored codes"
      rows={rows}
      columns={columns}
      rowKey={(r) => r.key}
      initialSort={{ column: "resources", direction: "descending" }}
      rowTestId="coverage-ignored-row"
      detail={(r) => (open === r.key ? <MapCodeForm row={r} onClose={() => setOpen(null)} /> : null)}
    />
  );
}
