/**
 * Colour, symbol and words for each status. Colour is never the only cue (a symbol and the text always go
 * with it); the palette is Okabe-Ito based and each text colour passes WCAG AA on white.
 */
import type { CheckpointVerdict, LabStatus, Severity } from "@/lib/clinical/types";

export interface StatusStyle {
  symbol: string;
  className: string;
}

export const VERDICT_STYLES: Record<CheckpointVerdict, StatusStyle> = {
  responded: { symbol: "✓", className: "border-status-ok text-status-ok" },
  "not-responded": { symbol: "✗", className: "border-status-critical text-status-critical" },
  "not-assessable": { symbol: "?", className: "border-status-muted text-status-muted" },
  open: { symbol: "◷", className: "border-status-info text-status-info" },
  "not-due": { symbol: "–", className: "border-slate-300 text-status-muted" },
};

export const LAB_STATUS_STYLES: Record<LabStatus, StatusStyle> = {
  done: { symbol: "✓", className: "border-status-ok text-status-ok" },
  due: { symbol: "◷", className: "border-status-info text-status-info" },
  overdue: { symbol: "!", className: "border-status-critical text-status-critical" },
  missing: { symbol: "!", className: "border-status-warn text-status-warn" },
  "not-due": { symbol: "–", className: "border-slate-300 text-status-muted" },
};

export const SEVERITY_STYLES: Record<Severity, StatusStyle> = {
  critical: { symbol: "‼", className: "border-status-critical bg-red-50 text-status-critical" },
  warning: { symbol: "!", className: "border-status-warn bg-amber-50 text-status-warn" },
  info: { symbol: "i", className: "border-status-info bg-sky-50 text-status-info" },
};

/** Chart fills for checkpoint windows (Okabe-Ito: bluish green, vermillion, grey, sky blue). */
export const VERDICT_FILLS: Record<CheckpointVerdict, { fill: string; opacity: number }> = {
  responded: { fill: "#009E73", opacity: 0.14 },
  "not-responded": { fill: "#D55E00", opacity: 0.16 },
  "not-assessable": { fill: "#999999", opacity: 0.16 },
  open: { fill: "#56B4E9", opacity: 0.18 },
  "not-due": { fill: "#CCCCCC", opacity: 0.1 },
};
