/** Words and numbers for the panel's pages. Pure; deterministic (no locale or time zone of the browser). */
import { requirementLabel } from "../patient-view/format";
import type { RateFigure } from "./types";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-11-01T02:05:00.000Z" -> "1 Nov 2026, 02:05 UTC": the same on the server and in every browser. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return "never";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** "2026-03" -> "Mar 2026". */
export function formatMonth(month: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  return m ? `${MONTHS[Number(m[2]) - 1] ?? m[2]} ${m[1]}` : month;
}

/** "12.5%" or "-" without a denominator. */
export function formatPercent(percent: number | null): string {
  return percent === null ? "-" : `${Number(percent.toFixed(1))}%`;
}

/** "50% (3 of 6)", and how many were not assessable when any. */
export function rateText(rate: RateFigure): { main: string; excluded: string | null } {
  const main = rate.denominator === 0 ? "no assessable checkpoints" : `${formatPercent(rate.percent)} (${rate.numerator} of ${rate.denominator})`;
  return { main, excluded: rate.notAssessable > 0 ? `${rate.notAssessable} not assessable` : null };
}

/** The next due item in words: "checkpoint:16" -> "Week 16 checkpoint", "lab:week-12:lipids" -> "Week 12: Lipids". */
export function nextDueKindLabel(kind: string): string {
  if (kind.startsWith("checkpoint:")) return `Week ${kind.slice("checkpoint:".length)} checkpoint`;
  if (kind.startsWith("lab:")) return requirementLabel(kind.slice("lab:".length));
  return kind;
}

/** "1 patient", "3 patients". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? one : many}`;
}
