/** How the admin page writes an audit row: times in UTC, the detail as short key=value text, outcomes as words. */
import type { AuditDetail } from "./audit";

const pad = (n: number): string => String(n).padStart(2, "0");

/** "2026-11-30 08:12:54 UTC" (the filters' dates are UTC days too). */
export function formatAuditTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

function valueText(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(valueText).join(",");
  if (typeof value === "object") return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${valueText(v)}`).join(" ")}}`;
  return "";
}

/** The detail as "key=value" pairs, each value cut to `max` characters. */
export function auditDetailPairs(detail: AuditDetail, max = 120): { key: string; value: string }[] {
  return Object.entries(detail).map(([key, value]) => {
    const text = valueText(value);
    return { key, value: text.length > max ? `${text.slice(0, max - 1)}…` : text };
  });
}

export const AUDIT_OUTCOME_LABELS: Record<string, string> = { success: "Success", refused: "Refused", failure: "Failure" };

/** "1-50 of 1,234". */
export function auditRangeText(page: number, pageSize: number, total: number): string {
  if (total === 0) return "No entries";
  const first = (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  const fmt = (n: number): string => n.toLocaleString("en-US");
  return first > total ? `Page ${page} is past the last entry (${fmt(total)} in all)` : `${fmt(first)}-${fmt(last)} of ${fmt(total)}`;
}
