"use client";

import { PatientViewError } from "./_components/patient-view-error";

/** Rendering errors inside the patient page; request errors are handled by PatientView itself. */
export default function PatientPageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <PatientViewError error={error} onRetry={reset} />;
}
