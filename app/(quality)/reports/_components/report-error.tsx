import Link from "next/link";
import { Alert } from "@/app/(lead)/panel/_components/panel-error";
import { ReportApiError } from "@/lib/reports/report-api-client";

/**
 * What went wrong with a report request, and what to do: relaunch (no session), the role it needs (forbidden),
 * the rejected parameters with a way back (bad link), or a retry.
 */
export function ReportError({ error, onRetry, resetHref }: { error: Error; onRetry?: () => void; resetHref?: string }) {
  if (error instanceof ReportApiError && error.status === 401) {
    return (
      <Alert title="Your session has ended" tone="info">
        <p>Open the app again from the EHR (a standalone launch with the quality analyst or clinic lead role).</p>
        <Link href={error.relaunch ?? "/relaunch"} className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Relaunch from the EHR
        </Link>
      </Alert>
    );
  }
  if (error instanceof ReportApiError && error.status === 403) {
    return (
      <Alert title="This is not available for your role" tone="critical">
        <p>{error.message}</p>
      </Alert>
    );
  }
  if (error instanceof ReportApiError && error.status === 400 && error.problems.length > 0) {
    return (
      <Alert title="This link holds filters the report does not understand" tone="warn">
        <ul className="list-disc pl-5">
          {error.problems.map((p) => (
            <li key={`${p.param}-${p.reason}`}>{p.reason}</li>
          ))}
        </ul>
        {resetHref ? (
          <Link href={resetHref} className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
            Clear the filters
          </Link>
        ) : null}
      </Alert>
    );
  }
  return (
    <Alert title="Could not load the report" tone="warn">
      <p>{error.message}</p>
      {error instanceof ReportApiError && error.status > 0 ? <p className="text-xs text-slate-600">HTTP {error.status}</p> : null}
      {onRetry ? (
        <button type="button" onClick={onRetry} className="rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Try again
        </button>
      ) : null}
    </Alert>
  );
}
