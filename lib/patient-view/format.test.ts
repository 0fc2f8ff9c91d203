import { describe, expect, it } from "vitest";
import { courseWeekAt, daysBetween, formatDate, formatImprovement, requirementLabel, verdictLabel, labStatusLabel, isoToDayNumber, dayNumberToIso } from "./format";

describe("format", () => {
  it("writes dates as day, month name and year, whatever the locale", () => {
    expect(formatDate("2026-03-05")).toBe("5 Mar 2026");
    expect(formatDate("2026-12-31T23:00:00+02:00")).toBe("31 Dec 2026");
    expect(formatDate(null)).toBe("unknown date");
  });

  it("counts calendar days and course weeks from the dates as written", () => {
    expect(daysBetween("2026-02-27", "2026-03-01")).toBe(2);
    expect(courseWeekAt("2026-06-01", "2026-06-07")).toBe(0);
    expect(courseWeekAt("2026-06-01", "2026-06-08")).toBe(1);
    expect(courseWeekAt("2026-06-01", "2026-11-01")).toBe(21);
    expect(dayNumberToIso(isoToDayNumber("2024-02-29"))).toBe("2024-02-29");
  });

  it("spells verdicts and lab statuses as the clinician reads them", () => {
    expect(verdictLabel("not-responded")).toBe("not responded");
    expect(verdictLabel("not-due")).toBe("not yet due");
    expect(labStatusLabel("overdue")).toBe("overdue");
  });

  it("names lab requirements by phase and lab, with the periodic occurrence", () => {
    expect(requirementLabel("baseline:tb-screen")).toBe("Baseline: TB screen");
    expect(requirementLabel("periodic:cbc", 2)).toBe("Periodic #2: CBC");
    expect(requirementLabel("odd:thing")).toBe("odd: thing");
  });

  it("states the direction of a change in words", () => {
    expect(formatImprovement(5)).toBe("5 better");
    expect(formatImprovement(-2)).toBe("2 worse");
    expect(formatImprovement(0)).toBe("no change");
    expect(formatImprovement(8, 33.33)).toBe("8 better (33%)");
    expect(formatImprovement(null)).toBe("-");
  });
});
