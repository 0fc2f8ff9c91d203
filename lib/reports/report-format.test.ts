import { describe, expect, it } from "vitest";
import { measureDefinition } from "./measures";
import {
  auditFiltersText,
  caseOutcomeLabel,
  describeReportFilters,
  exclusionLabel,
  exportProgressPercent,
  firstSentence,
  formatBytes,
  formatPeriod,
  formatRate,
  improvementText,
  rateSentence,
  stratumLabel,
} from "./report-format";

describe("report numbers", () => {
  it("writes a rate in 0..1 as a percent with at most one decimal, and a dash without one", () => {
    expect(formatRate(0.625)).toBe("62.5%");
    expect(formatRate(2 / 3)).toBe("66.7%");
    expect(formatRate(1)).toBe("100%");
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(null)).toBe("–");
  });

  it("says numerator of denominator with the rate, or that the denominator is empty", () => {
    expect(rateSentence({ numerator: 1234, denominator: 2000, rate: 0.617 })).toBe("1,234 of 2,000 (61.7%)");
    expect(rateSentence({ numerator: 0, denominator: 0, rate: null })).toBe("no case in the denominator");
  });

  it("writes sizes in B, KB and MB", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(3_500_000)).toBe("3.3 MB");
  });

  it("shows a background export's progress, never 100% before it is done", () => {
    expect(exportProgressPercent({ status: "running", rowsWritten: 5_000, rowsTotal: 20_000 })).toBe(25);
    expect(exportProgressPercent({ status: "running", rowsWritten: 20_000, rowsTotal: 20_000 })).toBe(99);
    expect(exportProgressPercent({ status: "queued", rowsWritten: 0, rowsTotal: null })).toBe(0);
    expect(exportProgressPercent({ status: "done", rowsWritten: 0, rowsTotal: 20_000 })).toBe(100);
  });
});

describe("report words", () => {
  it("labels strata by drug, symptom checkpoint or lab requirement", () => {
    expect(stratumLabel(measureDefinition("baseline-screening"), "ruxolitinib-cream")).toBe("Ruxolitinib cream");
    expect(stratumLabel(measureDefinition("symptom-response"), "itch")).toMatch(/^Itch NRS/);
    expect(stratumLabel(measureDefinition("follow-up-labs"), "week-12:lipids")).toMatch(/^Week 12: /);
    expect(stratumLabel(measureDefinition("baseline-screening"), "unknown-drug")).toBe("unknown-drug");
  });

  it("names a case's outcome and its exclusion reason as the measure labels it", () => {
    expect(caseOutcomeLabel({ inNumerator: true, excludedReason: null })).toBe("In numerator");
    expect(caseOutcomeLabel({ inNumerator: false, excludedReason: "window-open" })).toBe("Excluded");
    expect(caseOutcomeLabel({ inNumerator: false, excludedReason: null })).toBe("Not met");
    expect(exclusionLabel(measureDefinition("follow-up-labs"), "course-ended-before-window-closed")).toBe("Course ended first");
    expect(exclusionLabel(measureDefinition("follow-up-labs"), null)).toBe("");
  });

  it("says which way a measure should move", () => {
    expect(improvementText(measureDefinition("zoster-vaccination"))).toBe("Higher is better");
    expect(improvementText(measureDefinition("possible-missed-switch"))).toMatch(/^Lower is better/);
  });

  it("cuts a description to its first sentence, keeping decimals and abbreviations inside it", () => {
    expect(firstSentence("Share of courses. More detail here.")).toBe("Share of courses.");
    expect(firstSentence("EASI 2.5 points or more. Then.")).toBe("EASI 2.5 points or more.");
    expect(firstSentence("No full stop")).toBe("No full stop");
  });

  it("describes the period and the filters, saying so when there are none", () => {
    expect(formatPeriod({ from: "2025-11-16", to: "2026-11-15" })).toBe("16 Nov 2025 to 15 Nov 2026");
    expect(describeReportFilters({})).toEqual(["all sources, drugs, routes and prescribers"]);
    expect(describeReportFilters({ source: "main", drug: "abrocitinib", route: "oral", prescriber: "Dr A" }, () => "Main EHR")).toEqual(["source Main EHR", "Abrocitinib", "oral route", "prescriber Dr A"]);
    expect(auditFiltersText({ drug: "upadacitinib", route: "oral" })).toBe("drug Upadacitinib · route oral");
    expect(auditFiltersText({})).toBe("none");
  });
});
