import type { FetchSummary } from "@/lib/fhir/patient-record-types";

/** Shown when some EHR searches failed: the page is built on incomplete data and must say which. */
export function PartialDataBanner({ fetch }: { fetch: FetchSummary }) {
  if (!fetch.partial) return null;
  return (
    <div role="alert" className="rounded-lg border-2 border-status-warn bg-amber-50 p-3 text-sm text-slate-900">
      <p className="font-semibold text-status-warn">
        <span aria-hidden="true">! </span>Incomplete data: {fetch.failures.length} EHR {fetch.failures.length === 1 ? "search" : "searches"} failed, so verdicts and lab statuses
        below may be wrong.
      </p>
      <ul className="mt-1 list-disc pl-5">
        {fetch.failures.map((f) => (
          <li key={f.search}>
            <code className="font-mono">{f.search}</code>: {f.status === null ? "no response" : `HTTP ${f.status}`}, {f.message}
          </li>
        ))}
      </ul>
      <p className="mt-1">Reload the page to try again.</p>
    </div>
  );
}
