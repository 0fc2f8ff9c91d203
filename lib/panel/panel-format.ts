/**
 * Words and numbers for the sync and code-coverage pages. Deterministic (explicit time zone, no locale data), so
 * the server's HTML and the browser's render agree.
 */
import type { SyncRunCounts, SyncRunTimings } from "./sync-types";

/** 1234567 -> "1,234,567"; null -> "–". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const sign = n < 0 ? "-" : "";
  const [whole, fraction] = Math.abs(n).toString().split(".");
  const grouped = (whole ?? "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${grouped}${fraction ? `.${fraction}` : ""}`;
}

/** 950 -> "950 ms", 42_000 -> "42 s", 754_000 -> "12 min 34 s", 3_720_000 -> "1 h 2 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/** An instant as "2026-11-01 09:05" in the given IANA zone (the source's clinic zone), with the zone named. */
export function formatInstant(iso: string | null | undefined, timeZone = "UTC"): string {
  if (!iso) return "never";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(date);
  } catch {
    return formatInstant(iso, "UTC");
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")} ${timeZone === "UTC" ? "UTC" : timeZone}`;
}

export const RUN_STATUS_LABELS: Record<string, string> = {
  queued: "Queued",
  exporting: "Exporting",
  downloading: "Downloading",
  evaluating: "Evaluating",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function runStatusLabel(status: string): string {
  return RUN_STATUS_LABELS[status] ?? status;
}

export const TRIGGER_LABELS: Record<string, string> = { manual: "Sync now", schedule: "Schedule", startup: "App start", mapping: "Code mapping" };

export function triggerLabel(trigger: string): string {
  return TRIGGER_LABELS[trigger] ?? trigger;
}

export function kindLabel(kind: string): string {
  return kind === "full" ? "Full" : kind === "incremental" ? "Incremental" : kind === "search" ? "FHIR search" : kind;
}

/** "Observation 4,000 · Patient 60", largest first. */
export function resourceCountsText(counts: SyncRunCounts): string {
  const entries = Object.entries(counts.resources).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return entries.length === 0 ? "–" : entries.map(([type, n]) => `${type} ${formatCount(n)}`).join(" · ");
}

/** "4,060 inserted · 2 updated · ..." with the counts the run wrote. */
export function ingestCountsText(counts: SyncRunCounts): string {
  const parts: string[] = [];
  for (const [label, n] of [["inserted", counts.inserted], ["updated", counts.updated], ["unchanged", counts.unchanged], ["deleted", counts.deleted], ["malformed", counts.malformed]] as const) {
    if (n !== null) parts.push(`${formatCount(n)} ${label}`);
  }
  return parts.length === 0 ? "–" : parts.join(" · ");
}

export function patientCountsText(counts: SyncRunCounts): string {
  const parts: string[] = [];
  if (counts.patientsChanged !== null) parts.push(`${formatCount(counts.patientsChanged)} changed`);
  if (counts.evaluated !== null) parts.push(`${formatCount(counts.evaluated)} evaluated`);
  return parts.length === 0 ? "–" : parts.join(" · ");
}

/** "kick-off 40 ms · export 2 s · download 30 s · ingest 50 s · evaluate 8 s" for the phases the run timed. */
export function timingsText(timings: SyncRunTimings): string {
  const parts: string[] = [];
  for (const [label, ms] of [["kick-off", timings.kickoffMs], ["export", timings.exportMs], ["download", timings.downloadMs], ["ingest", timings.ingestMs], ["evaluate", timings.evaluateMs]] as const) {
    if (ms !== null) parts.push(`${label} ${formatDuration(ms)}`);
  }
  return parts.length === 0 ? "–" : parts.join(" · ");
}

/** Progress 0..1 as a whole percent for the progress bar. */
export function progressPercent(progress: number): number {
  return Math.round(Math.min(1, Math.max(0, Number.isFinite(progress) ? progress : 0)) * 100);
}

export function matchHowLabel(how: string | null): string {
  return how === "system-code" ? "System and code" : how === "site-mapping" ? "Site mapping" : how === "text" ? "Text only" : "–";
}

export function codePartLabel(part: string): string {
  return part === "Observation.component" ? "Observation component" : part;
}
