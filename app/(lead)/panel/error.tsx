"use client";

import { PanelError } from "./_components/panel-error";

/** Rendering errors inside the panel's pages; request errors are shown by each page's own views. */
export default function PanelPageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <PanelError error={error} onRetry={reset} />;
}
