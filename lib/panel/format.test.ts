import { describe, expect, it } from "vitest";
import { formatMonth, formatPercent, formatTimestamp, nextDueKindLabel, plural, rateText } from "./format";

describe("panel formatting", () => {
  it("writes timestamps in UTC with the zone named, so server and browser agree", () => {
    expect(formatTimestamp("2026-11-01T02:05:09.000Z")).toBe("1 Nov 2026, 02:05 UTC");
    expect(formatTimestamp(null)).toBe("never");
    expect(formatTimestamp("yesterday")).toBe("yesterday");
  });

  it("writes a rate with its numerator, denominator and the not-assessable count", () => {
    expect(rateText({ numerator: 3, denominator: 6, notAssessable: 2, percent: 50 })).toEqual({ main: "50% (3 of 6)", excluded: "2 not assessable" });
    expect(rateText({ numerator: 1, denominator: 3, notAssessable: 0, percent: 33.3 })).toEqual({ main: "33.3% (1 of 3)", excluded: null });
    expect(rateText({ numerator: 0, denominator: 0, notAssessable: 4, percent: null }).main).toBe("no assessable checkpoints");
    expect(formatPercent(null)).toBe("-");
  });

  it("names what is due next", () => {
    expect(nextDueKindLabel("checkpoint:16")).toBe("Week 16 checkpoint");
    expect(nextDueKindLabel("lab:week-12:lipids")).toBe("Week 12: Lipids");
    expect(nextDueKindLabel("lab:periodic:cbc")).toBe("Periodic: CBC");
    expect(nextDueKindLabel("other")).toBe("other");
  });

  it("writes months and counted nouns", () => {
    expect(formatMonth("2026-03")).toBe("Mar 2026");
    expect(plural(1, "patient")).toBe("1 patient");
    expect(plural(12000, "patient")).toBe("12,000 patients");
  });
});
