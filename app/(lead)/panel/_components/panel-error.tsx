import Link from "next/link";
import { PanelRequestError } from "@/lib/panel/panel-query";

/**
 * What went wrong with a panel request, and what to do: relaunch (no session), the role it needs
 * (forbidden), the rejected parameters with a way back (bad link), or a retry.
 */
export function PanelError({ error, onRetry, resetHref }: { error: Error; onRetry?: () => void; resetHref?: string }) {
  if (error instanceof PanelRequestError && error.status === 401) {
    return (
      <Alert title="Your session has ended" tone="info">
        <p>Open the app again from the EHR (a standalone launch with the clinic lead role).</p>
        <Link href={error.relaunch ?? "/relaunch"} className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Relaunch from the EHR
        </Link>
      </Alert>
    );
  }
  if (error instanceof PanelRequestError && error.status === 403) {
    return (
      <Alert title="The panel is not available for your role" tone="critical">
        <p>The panel is for the clinic lead role. Ask your clinic&apos;s administrator for it, then launch the app again.</p>
      </Alert>
    );
  }
  if (error instanceof PanelRequestError && error.code === "bad-request") {
    return (
      <Alert title="This link holds filters the panel does not understand" tone="warn">
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
    <Alert title="Could not load the panel's data" tone="warn">
      <p>{error.message}</p>
      {error instanceof PanelRequestError ? <p className="text-xs text-slate-600">HTTP {error.status}</p> : null}
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
