import { describe, expect, it } from "vitest";
import { buildTrendChart, HISTORY_DAYS, responseThresholds } from "./chart-series";
import { isoToDayNumber } from "./format";
import { upadacitinibNonResponderEvaluation } from "./fixtures.test-helper";

describe("chart series", () => {
  const evaluation = upadacitinibNonResponderEvaluation();
  const course = evaluation.courses[1]!;

  it("draws response thresholds from the baseline", () => {
    expect(responseThresholds("itch", 8)).toEqual([{ value: 4, label: "4 points better (itch-4)" }]);
    expect(responseThresholds("itch", 3)).toEqual([]);
    expect(responseThresholds("pain", 3)).toEqual([{ value: 0, label: "3 points better (pain-3)" }]);
    expect(responseThresholds("easi", 20).map((t) => [t.label, t.value])).toEqual([
      ["EASI-50", 10],
      ["EASI-75", 5],
      ["EASI-90", 2],
    ]);
    expect(responseThresholds("easi", 0)).toEqual([]);
    expect(responseThresholds("dlqi", 12)).toEqual([]);
    expect(responseThresholds("itch", null)).toEqual([]);
  });

  it("separates excluded points and keeps their reason", () => {
    const chart = buildTrendChart(evaluation.trends!.itch!, course, "2026-11-01");
    expect(chart.included.map((p) => p.value)).toEqual([8, 3, 6]);
    expect(chart.excluded).toHaveLength(1);
    expect(chart.excluded[0]).toMatchObject({ value: 11, reason: "out of range 0-10", date: "2026-06-20" });
    // An out-of-range value is drawn on the axis edge, not off the chart; its real value stays for the tooltip.
    expect(chart.excluded[0]!.plotValue).toBe(10);
    expect(chart.included.map((p) => p.plotValue)).toEqual([8, 3, 6]);
    expect(chart.baseline).toEqual({ value: 8, date: "2026-05-28" });
    expect(chart.yDomain).toEqual([0, 10]);
  });

  it("shades checkpoint windows inside the shown period and clips the ones that run past it", () => {
    const chart = buildTrendChart(evaluation.trends!.itch!, course, "2026-11-01");
    expect(chart.bands.map((b) => [b.week, b.verdict])).toEqual([
      [2, "responded"],
      [16, "not-responded"],
    ]);
    const week16 = chart.bands[1]!;
    expect(week16.startDay).toBe(isoToDayNumber("2026-09-08"));
    expect(chart.xDomain[1]).toBeGreaterThanOrEqual(isoToDayNumber("2026-11-01"));
    expect(chart.xDomain[0]).toBeLessThan(isoToDayNumber("2026-05-28"));
  });

  it("shows at most half a year before the course start, counting the older values it leaves out", () => {
    const trend = structuredClone(evaluation.trends!.easi!);
    trend.points.unshift({ date: "2025-01-05", value: 30, resource: "Observation/old", excluded: false });
    const chart = buildTrendChart(trend, course, "2026-11-01");
    expect(chart.xDomain[0]).toBe(isoToDayNumber("2026-06-01") - HISTORY_DAYS - 3);
    expect(chart.hiddenBefore).toBe(1);
    expect(chart.description).toContain("1 older than the period shown");
    expect(buildTrendChart(trend, null, "2026-11-01").hiddenBefore).toBe(0);
  });

  it("draws weekly means only for a real daily diary", () => {
    const sparse = structuredClone(evaluation.trends!.itch!);
    sparse.weekly = [{ weekStart: "2026-06-01", mean: 5, count: 1 }];
    expect(buildTrendChart(sparse, course, "2026-11-01").weekly).toEqual([]);
    const diary = structuredClone(evaluation.trends!.itch!);
    diary.weekly = [
      { weekStart: "2026-06-01", mean: 7.5, count: 7 },
      { weekStart: "2026-06-08", mean: 6, count: 2 },
    ];
    const chart = buildTrendChart(diary, course, "2026-11-01");
    expect(chart.weekly.map((w) => [w.day, w.mean, w.count])).toEqual([
      [isoToDayNumber("2026-06-04"), 7.5, 7],
      [isoToDayNumber("2026-06-11"), 6, 2],
    ]);
    expect(chart.description).toContain("weekly means drawn for 2 weeks");
  });

  it("describes the chart in one sentence for screen readers", () => {
    const chart = buildTrendChart(evaluation.trends!.itch!, course, "2026-11-01");
    expect(chart.description).toBe(
      "Itch NRS trend: 3 points; 1 excluded; baseline 8 on 2026-05-28; latest 6 on 2026-09-20; checkpoints: week 2 responded, week 16 not responded.",
    );
  });

  it("zooms long scales to the data but never past the instrument's maximum", () => {
    const chart = buildTrendChart(evaluation.trends!.easi!, course, "2026-11-01");
    expect(chart.yDomain[0]).toBe(0);
    expect(chart.yDomain[1]).toBeGreaterThanOrEqual(24);
    expect(chart.yDomain[1]).toBeLessThanOrEqual(72);
  });

  it("works without a course: no bands and no response thresholds, domain from the data", () => {
    const chart = buildTrendChart(evaluation.trends!.easi!, null, "2026-11-01");
    expect(chart.bands).toEqual([]);
    expect(chart.thresholds).toEqual([]);
    expect(buildTrendChart(evaluation.trends!.easi!, course, "2026-11-01").thresholds).toHaveLength(3);
    expect(chart.included).toHaveLength(2);
  });
});
