import { describe, expect, it } from "vitest";
import { formatCount, formatDuration, formatInstant, ingestCountsText, progressPercent, resourceCountsText, timingsText } from "./panel-format";
import { parseCounts, parseTimings } from "./sync-status";

describe("sync page formatting", () => {
  it("groups thousands without locale data", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(999)).toBe("999");
    expect(formatCount(-4200)).toBe("-4,200");
    expect(formatCount(null)).toBe("–");
  });

  it("writes durations a person reads at a glance", () => {
    expect(formatDuration(950)).toBe("950 ms");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(754_000)).toBe("12 min 34 s");
    expect(formatDuration(3_720_000)).toBe("1 h 2 min");
    expect(formatDuration(-1)).toBe("–");
  });

  it("shows an instant in the source's time zone, and falls back to UTC for an unknown zone", () => {
    expect(formatInstant("2026-11-01T08:05:00.000Z", "UTC")).toBe("2026-11-01 08:05 UTC");
    expect(formatInstant("2026-11-01T23:30:00.000Z", "Europe/Berlin")).toBe("2026-11-02 00:30 Europe/Berlin");
    expect(formatInstant("2026-11-01T08:05:00.000Z", "Not/AZone")).toBe("2026-11-01 08:05 UTC");
    expect(formatInstant(null)).toBe("never");
  });

  it("summarises counts and timings, leaving out what the run did not write", () => {
    const counts = parseCounts({ resources: { Patient: 60, Observation: 4000, Bogus: "x" }, inserted: 4060, malformed: 1 });
    expect(resourceCountsText(counts)).toBe("Observation 4,000 · Patient 60");
    expect(ingestCountsText(counts)).toBe("4,060 inserted · 1 malformed");
    expect(timingsText(parseTimings({ exportMs: 2000, ingestMs: 50_000, totalMs: 52_000 }))).toBe("export 2 s · ingest 50 s");
    expect(timingsText(parseTimings(null))).toBe("–");
  });

  it("clamps progress to 0-100 percent", () => {
    expect(progressPercent(0.404)).toBe(40);
    expect(progressPercent(1.7)).toBe(100);
    expect(progressPercent(Number.NaN)).toBe(0);
  });
});
