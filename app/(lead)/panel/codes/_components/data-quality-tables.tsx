"use client";

import type { DataQualityCount, SyncIssueCount } from "@/lib/panel/code-coverage";
import { formatCount, formatInstant } from "@/lib/panel/panel-format";
import { SortableTable, type Column } from "./sortable-table";

const NOTE_COLUMNS: Column<DataQualityCount>[] = [
  { id: "type", header: "Resource", cell: (n) => n.resourceType, sortValue: (n) => n.resourceType },
  { id: "issue", header: "Issue", cell: (n) => <span className="font-mono text-xs">{n.issue}</span>, sortValue: (n) => n.issue },
  { id: "example", header: "Example", cell: (n) => <span className="text-slate-700">{n.example ?? "–"}</span> },
  { id: "notes", header: "Notes", cell: (n) => formatCount(n.notes), sortValue: (n) => n.notes, numeric: true },
  { id: "patients", header: "Patients", cell: (n) => formatCount(n.patients), sortValue: (n) => n.patients, numeric: true },
];

const ISSUE_COLUMNS: Column<SyncIssueCount>[] = [
  { id: "issue", header: "Issue", cell: (i) => <span className="font-mono text-xs">{i.issue}</span>, sortValue: (i) => i.issue },
  { id: "example", header: "Example", cell: (i) => <span className="font-mono text-xs">{i.example ?? "–"}</span> },
  { id: "count", header: "Lines", cell: (i) => formatCount(i.count), sortValue: (i) => i.count, numeric: true },
  { id: "runs", header: "Runs", cell: (i) => formatCount(i.runs), sortValue: (i) => i.runs, numeric: true },
  { id: "last", header: "Last seen", cell: (i) => formatInstant(i.lastSeen), sortValue: (i) => i.lastSeen },
];

/** Data the evaluations left out (status, dates, values, units), counted by issue. */
export function DataQualityTable({ notes }: { notes: DataQualityCount[] }) {
  if (notes.length === 0) return <p className="text-sm text-slate-700">The stored evaluations recorded no data-quality notes.</p>;
  return <SortableTable caption="Data-quality notes by issue" rows={notes} columns={NOTE_COLUMNS} rowKey={(n) => `${n.resourceType}|${n.issue}`} initialSort={{ column: "notes", direction: "descending" }} />;
}

/** Input lines the syncs could not use, counted by issue. */
export function SyncIssuesTable({ issues }: { issues: SyncIssueCount[] }) {
  if (issues.length === 0) return <p className="text-sm text-slate-700">Every synced line could be read.</p>;
  return <SortableTable caption="Sync issues by issue" rows={issues} columns={ISSUE_COLUMNS} rowKey={(i) => i.issue} initialSort={{ column: "count", direction: "descending" }} />;
}
