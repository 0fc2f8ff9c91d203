"use client";

import { useEffect } from "react";

const DEFAULT_RETRY_SECONDS = 5;

/**
 * What a page shows while the app's database is not answering (lib/app/db-unavailable.ts): a plain notice that
 * retries by itself until the database is back. From a server page it reloads the page (a meta refresh, and a
 * script in case the refresh is not honoured); inside a client view `onRetry` refetches instead.
 */
export function DatabaseUnavailable({ retrySeconds = DEFAULT_RETRY_SECONDS, onRetry }: { retrySeconds?: number; onRetry?: () => void }) {
  useEffect(() => {
    if (onRetry) {
      // Until the view's request succeeds and this notice goes away.
      const interval = setInterval(onRetry, retrySeconds * 1000);
      return () => clearInterval(interval);
    }
    // The meta refresh normally reloads first; this is the fallback.
    const timer = setTimeout(() => window.location.reload(), (retrySeconds + 2) * 1000);
    return () => clearTimeout(timer);
  }, [retrySeconds, onRetry]);
  return (
    <section
      role="alert"
      aria-labelledby="database-unavailable-title"
      className="max-w-2xl space-y-3 rounded-lg border-2 border-status-warn bg-white p-5"
      data-testid="database-unavailable"
    >
      {onRetry ? null : <meta httpEquiv="refresh" content={String(retrySeconds)} />}
      <h1 id="database-unavailable-title" className="text-xl font-semibold">
        The app&apos;s database is not answering; this page will retry
      </h1>
      <p className="text-slate-700">
        Nothing was lost and you are still signed in. The page tries again every {retrySeconds} seconds and shows itself as soon as the database answers.
        If this lasts more than a few minutes, tell whoever runs the app (its health check, /api/health, shows the database&apos;s state).
      </p>
      <button
        type="button"
        onClick={() => (onRetry ? onRetry() : window.location.reload())}
        className="rounded bg-brand px-3 py-2 text-sm font-semibold text-white"
      >
        Try now
      </button>
    </section>
  );
}
