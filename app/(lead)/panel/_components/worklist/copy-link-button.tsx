"use client";

import { useState } from "react";

/** Copies the page's address (which holds every filter) for sharing. */
export function CopyLinkButton() {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      setState("copied");
    } catch {
      setState("failed");
    }
  };
  return (
    <span className="inline-flex items-center gap-2">
      <button type="button" onClick={() => void copy()} className="rounded border border-slate-300 bg-white px-2 py-1 font-medium text-slate-800 hover:bg-slate-100">
        Copy link to this list
      </button>
      <span role="status" className="text-xs text-slate-600">
        {state === "copied" ? "Link copied" : state === "failed" ? "Copy failed: use the address bar" : ""}
      </span>
    </span>
  );
}
