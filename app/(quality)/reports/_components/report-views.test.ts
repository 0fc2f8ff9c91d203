import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { measureDefinition } from "@/lib/reports/measures";
import type { ReportSummary } from "@/lib/reports/report-queries";
import { MeasureFigures } from "./measure-figures";
import { ReportHeadline } from "./report-headline";
import { StrataTable } from "./strata-table";
import { TrendChart } from "./trend-chart";

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&#x27;|&apos;/g, "'").replace(/\s+/g, " ");

function summary(): ReportSummary {
  return {
    measureId: "follow-up-labs",
    reportsVersion: "2026.11.1",
    period: { from: "2026-01-01", to: "2026-03-31" },
    filters: { drug: "abrocitinib" },
    initialPopulation: 12,
    denominator: 9,
    numerator: 6,
    rate: 6 / 9,
    exclusions: [
      { reason: "course-ended-before-window-closed", label: "Course ended first", count: 1 },
      { reason: "window-open", label: "Window still open", count: 2 },
      { reason: "not-yet-due", label: "Not yet due", count: 0 },
    ],
    strata: [{ key: "week-4:cbc", label: "week-4:cbc", initialPopulation: 12, denominator: 9, numerator: 6, rate: 6 / 9, exclusions: [{ reason: "window-open", label: "Window still open", count: 3 }] }],
    trend: [
      { month: "2026-01", numerator: 2, denominator: 4, rate: 0.5 },
      { month: "2026-02", numerator: 0, denominator: 0, rate: null },
      { month: "2026-03", numerator: 4, denominator: 5, rate: 0.8 },
    ],
    dataNotes: 0,
    evaluations: { patients: 40, asOfFrom: "2026-04-01", asOfTo: "2026-04-01", rulesVersions: ["2026.10.2"], evaluatedAt: null },
  };
}

describe("report page sections", () => {
  const definition = measureDefinition("follow-up-labs");

  it("shows the rate with numerator of denominator, the period, the filters and what the figures rest on", () => {
    const t = text(renderToStaticMarkup(createElement(ReportHeadline, { definition, summary: summary(), filters: { drug: "abrocitinib" }, sourceName: (id: string) => id })));
    expect(t).toContain("66.7% 6 of 9 (66.7%)");
    expect(t).toContain("1 Jan 2026 to 31 Mar 2026");
    expect(t).toContain("Filters: Abrocitinib");
    expect(t).toContain("Evaluations of 40 patients as of 1 Apr 2026 · rules 2026.10.2 · reports 2026.11.1");
  });

  it("puts each figure beside its definition, every exclusion with its count and rule, and the sources", () => {
    const t = text(renderToStaticMarkup(createElement(MeasureFigures, { definition, summary: summary() })));
    expect(t).toContain(`Initial population 12 cases ${definition.initialPopulation}`);
    expect(t).toContain(`Denominator 9 cases ${definition.denominator}`);
    expect(t).toContain(`Numerator 6 of 9 in the denominator ${definition.numerator}`);
    expect(t).toContain("Excluded 3 cases, by reason below");
    expect(t).toContain(`Course ended first 1 ${definition.exclusions[0]!.description}`);
    expect(t).toContain("Not yet due 0");
    for (const source of definition.sources) expect(t).toContain(source.citation);
  });

  it("labels requirement strata in words with their rate", () => {
    const t = text(renderToStaticMarkup(createElement(StrataTable, { definition, strata: summary().strata })));
    expect(t).toMatch(/Week 4: \S.* 12 3 9 6 66\.7%/);
  });

  it("lists every month in the trend's table, a month without a denominator without a rate", () => {
    const t = text(renderToStaticMarkup(createElement(TrendChart, { trend: summary().trend })));
    expect(t).toContain("Jan 2026 2 4 50%");
    expect(t).toContain("Feb 2026 0 0 –");
    expect(t).toContain("Mar 2026 4 5 80%");
  });
});
