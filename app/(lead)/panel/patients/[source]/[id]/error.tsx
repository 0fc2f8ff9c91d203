"use client";

import { PanelError } from "../../../_components/panel-error";

/** Rendering errors inside the synced patient page; request errors are handled by SyncedPatientView itself. */
export default function PanelPatientError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <PanelError error={error} onRetry={reset} />;
}
