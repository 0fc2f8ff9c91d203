import { Fragment } from "react";
import { formatCount, formatDuration, formatInstant, ingestCountsText, kindLabel, patientCountsText, resourceCountsText, timingsText, triggerLabel } from "@/lib/panel/panel-format";
import type { SyncRunView } from "@/lib/panel/sync-types";
import { RunStatusBadge } from "./run-status-badge";

/** The latest runs: what each did, how long it took, and below a run what went wrong and what to do. */
export function RunsTable({ runs, timeZones, showSource }: { runs: SyncRunView[]; timeZones: ReadonlyMap<string, string>; showSource: boolean }) {
  if (runs.length === 0) return <p className="text-sm text-slate-700">No sync has run yet. Press “Sync now” to start the first one.</p>;
  const columns = showSource ? 9 : 8;
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-left text-sm">
        <caption className="sr-only">Latest sync runs, newest first</caption>
        <thead>
          <tr className="border-b-2 border-slate-300 align-bottom text-slate-700">
            <th scope="col" className="py-2 pr-3">Run</th>
            {showSource ? <th scope="col" className="py-2 pr-3">Source</th> : null}
            <th scope="col" className="py-2 pr-3">Status</th>
            <th scope="col" className="py-2 pr-3">Started</th>
            <th scope="col" className="py-2 pr-3">Duration</th>
            <th scope="col" className="py-2 pr-3">Resources received</th>
            <th scope="col" className="py-2 pr-3">Stored</th>
            <th scope="col" className="py-2 pr-3">Patients</th>
            <th scope="col" className="py-2">Time per phase</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const zone = timeZones.get(run.source) ?? "UTC";
            const problems = run.error !== null || run.issueCount > 0;
            return (
              <Fragment key={run.id}>
                <tr className={`align-top ${problems ? "" : "border-b border-slate-200"}`} data-testid="sync-run-row" data-run-id={run.id} data-status={run.status}>
                  <th scope="row" className="py-2 pr-3 font-semibold">
                    {run.id}
                    <span className="block text-xs font-normal text-slate-600">
                      {kindLabel(run.kind)} · {triggerLabel(run.trigger)}
                    </span>
                    {run.requestedBy ? <span className="block break-all text-xs font-normal text-slate-600">by {run.requestedBy}</span> : null}
                  </th>
                  {showSource ? <td className="py-2 pr-3 font-mono text-xs">{run.source}</td> : null}
                  <td className="py-2 pr-3">
                    <RunStatusBadge status={run.status} />
                  </td>
                  <td className="whitespace-nowrap py-2 pr-3">{formatInstant(run.startedAt, zone)}</td>
                  <td className="whitespace-nowrap py-2 pr-3 tabular-nums">{formatDuration(run.durationMs)}</td>
                  <td className="py-2 pr-3">{resourceCountsText(run.counts)}</td>
                  <td className="py-2 pr-3">{ingestCountsText(run.counts)}</td>
                  <td className="py-2 pr-3">{patientCountsText(run.counts)}</td>
                  <td className="py-2">{timingsText(run.timings)}</td>
                </tr>
                {problems ? (
                  <tr className="border-b border-slate-200" data-testid="sync-run-problems" data-run-id={run.id}>
                    <td colSpan={columns} className="pb-3">
                      <RunProblems run={run} />
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The run's error with what to do about it, and the first input lines it could not use. */
function RunProblems({ run }: { run: SyncRunView }) {
  return (
    <div className="space-y-2 rounded border border-slate-200 bg-slate-50 p-2">
      {run.error ? (
        <div className={run.status === "failed" ? "text-status-critical" : "text-slate-800"}>
          <p className="font-semibold">{run.error}</p>
          {run.errorHint ? <p className="text-slate-800">What to do: {run.errorHint}</p> : null}
        </div>
      ) : null}
      {run.issueCount > 0 ? (
        <details>
          <summary className="cursor-pointer font-semibold text-slate-800">
            {formatCount(run.issueCount)} input {run.issueCount === 1 ? "line" : "lines"} could not be used
          </summary>
          <table className="mt-1 w-full border-collapse text-left text-xs">
            <caption className="sr-only">Input the run could not use (first {run.issues.length})</caption>
            <thead>
              <tr className="border-b border-slate-300 text-slate-700">
                <th scope="col" className="py-1 pr-3">File</th>
                <th scope="col" className="py-1 pr-3">Line</th>
                <th scope="col" className="py-1 pr-3">Issue</th>
                <th scope="col" className="py-1">Detail</th>
              </tr>
            </thead>
            <tbody>
              {run.issues.map((issue, i) => (
                <tr key={`${issue.file}-${issue.line}-${i}`} className="border-b border-slate-100 align-top">
                  <td className="py-1 pr-3 font-mono">{issue.file ?? "–"}</td>
                  <td className="py-1 pr-3 tabular-nums">{issue.line ?? "–"}</td>
                  <td className="py-1 pr-3">{issue.issue}</td>
                  <td className="py-1 text-slate-700">{issue.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.issueCount > run.issues.length ? (
            <p className="mt-1 text-xs text-slate-600">
              Showing the first {run.issues.length} of {formatCount(run.issueCount)}; the code coverage page counts them by issue.
            </p>
          ) : null}
        </details>
      ) : null}
    </div>
  );
}
