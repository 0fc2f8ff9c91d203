import Link from "next/link";
import type { FilterProblem } from "@/lib/panel/filters";
import { DatabaseUnavailable } from "./database-unavailable";

/** What the API helpers throw (PanelRequestError, ReportApiError): an HTTP status, rejected parameters, a relaunch link. */
interface ApiFailure extends Error {
  status: number;
  problems: FilterProblem[];
  relaunch: string | undefined;
}

function isApiFailure(error: Error): error is ApiFailure {
  return typeof (error as Partial<ApiFailure>).status === "number" && Array.isArray((error as Partial<ApiFailure>).problems);
}

/** The API's 503 while the app's database is not answering (lib/app/db-unavailable.ts): retry, never relaunch. */
function isDatabaseOutage(error: Error): boolean {
  return (error as { status?: unknown }).status === 503 && (error as { code?: unknown }).code === "database-unavailable";
}

/** How one area of the app (the panel, the reports) words its request errors. */
export interface RequestErrorWording {
  /** Who may launch it, for the "session ended" message: "the clinic lead role". */
  roles: string;
  /** The 403 title and text (the error's own message when text is omitted). */
  forbiddenTitle: string;
  forbiddenText?: string;
  /** "the panel", "the report": in "filters ... does not understand". */
  subject: string;
  /** The title of any other failure: "Could not load the panel's data". */
  failedTitle: string;
}

/**
 * What went wrong with an API request, and what to do: relaunch (no session), the role it needs (forbidden), the
 * rejected parameters with a way back (bad link), a retry by itself (the database is not answering), or a retry.
 */
export function RequestError({ error, wording, onRetry, resetHref }: { error: Error; wording: RequestErrorWording; onRetry?: () => void; resetHref?: string }) {
  const api = isApiFailure(error) ? error : null;
  if (isDatabaseOutage(error)) return <DatabaseUnavailable onRetry={onRetry} />;
  if (api?.status === 401) {
    return (
      <Alert title="Your session has ended" tone="info">
        <p>Open the app again from the EHR (a standalone launch with {wording.roles}).</p>
        <Link href={api.relaunch ?? "/relaunch"} className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Relaunch from the EHR
        </Link>
      </Alert>
    );
  }
  if (api?.status === 403) {
    return (
      <Alert title={wording.forbiddenTitle} tone="critical">
        <p>{wording.forbiddenText ?? api.message}</p>
      </Alert>
    );
  }
  if (api?.status === 400 && api.problems.length > 0) {
    return (
      <Alert title={`This link holds filters ${wording.subject} does not understand`} tone="warn">
        <ul className="list-disc pl-5">
          {api.problems.map((p) => (
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
    <Alert title={wording.failedTitle} tone="warn">
      <p>{error.message}</p>
      {api && api.status > 0 ? <p className="text-xs text-slate-600">HTTP {api.status}</p> : null}
      {onRetry ? (
        <button type="button" onClick={onRetry} className="rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Try again
        </button>
      ) : null}
    </Alert>
  );
}

const TONES = { info: "border-status-info", warn: "border-status-warn", critical: "border-status-critical" } as const;

export function Alert({ title, tone, children }: { title: string; tone: keyof typeof TONES; children: React.ReactNode }) {
  return (
    <section role="alert" aria-label={title} className={`max-w-3xl space-y-2 rounded-lg border-2 ${TONES[tone]} bg-white p-4 text-sm text-slate-800`}>
      <h2 className="text-lg font-semibold text-slate-900">{title}</h2>
      {children}
    </section>
  );
}
