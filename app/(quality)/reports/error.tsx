"use client";

import { ReportError } from "./_components/report-error";

/** Rendering errors inside the report pages; request errors are shown by each view itself. */
export default function ReportsPageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <ReportError error={error} onRetry={reset} />;
}
