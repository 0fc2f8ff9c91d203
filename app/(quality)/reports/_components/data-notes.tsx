"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import type { MeasureId } from "@/lib/reports/measures";
import { notesQueryOptions } from "@/lib/reports/report-api-client";
import { formatCount } from "@/lib/reports/report-format";
import { ReportError } from "./report-error";

/** How many records the measure could not count, and (on demand) which and why. */
export function DataNotes({ measureId, filterQuery, count }: { measureId: MeasureId; filterQuery: string; count: number }) {
  const [open, setOpen] = useState(false);
  const notes = useQuery({ ...notesQueryOptions(measureId, filterQuery), enabled: open && count > 0 });
  return (
    <DashboardSection id="data-notes" title="Data notes" description="Records of the patients in the source filter that this measure could not count, said rather than dropped.">
      {count === 0 ? (
        <p className="text-sm text-slate-700" data-testid="data-notes-count">
          None: every record could be counted.
        </p>
      ) : (
        <details className="text-sm" onToggle={(e) => setOpen(e.currentTarget.open)}>
          <summary className="cursor-pointer font-medium text-brand" data-testid="data-notes-count">
            {formatCount(count)} data {count === 1 ? "note" : "notes"}: show them
          </summary>
          {notes.isPending ? (
            <p role="status" className="mt-1 text-slate-600">
              Loading the data notes…
            </p>
          ) : notes.isError ? (
            <ReportError error={notes.error} onRetry={() => void notes.refetch()} />
          ) : (
            <>
              <table className="mt-1 w-full border-collapse text-left text-sm" data-testid="data-notes-table">
                <caption className="sr-only">Data notes</caption>
                <thead>
                  <tr className="border-b border-slate-300">
                    <th scope="col" className="py-1 pr-2">Patient</th>
                    <th scope="col" className="py-1 pr-2">Record</th>
                    <th scope="col" className="py-1">Issue</th>
                  </tr>
                </thead>
                <tbody>
                  {notes.data.notes.map((n, i) => (
                    <tr key={`${n.source}/${n.patientId}/${i}`} className="border-b border-slate-100 align-top">
                      <td className="py-0.5 pr-2 font-mono text-xs">{n.patientId}</td>
                      <td className="py-0.5 pr-2 font-mono text-xs">{n.resource ?? "–"}</td>
                      <td className="py-0.5">{n.issue}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {count > notes.data.notes.length ? <p className="mt-1 text-xs text-slate-600">The first {formatCount(notes.data.notes.length)} of {formatCount(count)} are listed.</p> : null}
            </>
          )}
        </details>
      )}
    </DashboardSection>
  );
}
