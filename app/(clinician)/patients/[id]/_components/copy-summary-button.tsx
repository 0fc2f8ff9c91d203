"use client";

import { useState } from "react";

/**
 * Copies the note-ready summary. When the clipboard is not available (http, denied permission), the text
 * is shown selected in a box so it can be copied by hand.
 */
export function CopySummaryButton({ text }: { text: string }) {
  const [state, setState] = useState<"idle" | "copied" | "manual">("idle");

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("manual");
    }
  }

  return (
    <div className="print:hidden">
      <button
        type="button"
        onClick={() => void copy()}
        className="rounded bg-brand px-3 py-2 text-sm font-semibold text-white hover:bg-brand/90 focus-visible:outline-offset-2"
      >
        Copy summary
      </button>
      <p role="status" aria-live="polite" className="mt-1 min-h-4 text-xs text-status-ok">
        {state === "copied" ? "Summary copied to the clipboard." : ""}
      </p>
      {state === "manual" ? (
        <div className="mt-2">
          <label htmlFor="summary-text" className="block text-xs font-medium text-slate-700">
            Copying is blocked here: select the text and copy it.
          </label>
          <textarea
            id="summary-text"
            readOnly
            value={text}
            rows={12}
            autoFocus
            onFocus={(e) => e.currentTarget.select()}
            className="mt-1 w-full max-w-3xl rounded border border-slate-300 p-2 font-mono text-xs"
          />
        </div>
      ) : null}
    </div>
  );
}
