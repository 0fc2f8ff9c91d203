import { describe, expect, it } from "vitest";
import type { MeasureTrend } from "../clinical/types";
import {
  availableTrendRanges,
  buildTrendChart,
  defaultTrendRange,
  HISTORY_DAYS,
  responseThresholds,
  trendRangeStartDay,
  YEAR_DAYS,
} from "./chart-series";
import { dayNumberToIso, isoToDayNumber } from "./format";
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

  describe("range control", () => {
    /** A daily itch diary from 2023-11-01 to asOf 2026-11-01: three years, over a thousand points. */
    function threeYearDiary(): MeasureTrend {
      const first = isoToDayNumber("2023-11-01");
      const last = isoToDayNumber("2026-11-01");
      const points = [];
      for (let day = first; day <= last; day++) points.push({ date: dayNumberToIso(day), value: day % 10, resource: `Observation/d${day}`, excluded: false });
      return { measure: "itch", points, baseline: { value: 8, date: "2026-05-28", from: "single" }, latest: { value: 1, date: "2026-11-01" }, change: -7, percentChange: null };
    }

    it("starts the current course's range half a year before its start, the year range a year before today, and leaves all unbounded", () => {
      expect(trendRangeStartDay("course", course, "2026-11-01")).toBe(isoToDayNumber("2026-06-01") - HISTORY_DAYS);
      expect(HISTORY_DAYS).toBeGreaterThanOrEqual(181);
      expect(HISTORY_DAYS).toBeLessThanOrEqual(184);
      expect(trendRangeStartDay("year", course, "2026-11-01")).toBe(isoToDayNumber("2026-11-01") - YEAR_DAYS);
      expect(trendRangeStartDay("year", null, "2026-11-01")).toBe(isoToDayNumber("2025-11-01"));
      expect(trendRangeStartDay("all", course, "2026-11-01")).toBeNull();
      // Without a course, "This course" has nothing to start from.
      expect(trendRangeStartDay("course", null, "2026-11-01")).toBeNull();
      expect(trendRangeStartDay("year", null, "not a date")).toBeNull();
    });

    it("opens on the current course when there is one, else on everything, and offers This course only with a course", () => {
      expect(defaultTrendRange(course)).toBe("course");
      expect(defaultTrendRange(null)).toBe("all");
      expect(availableTrendRanges(course)).toEqual(["course", "year", "all"]);
      expect(availableTrendRanges(null)).toEqual(["year", "all"]);
    });

    it("shows a three-year diary as the current course and six months before it by default", () => {
      const diary = threeYearDiary();
      const chart = buildTrendChart(diary, course, "2026-11-01");
      expect(chart.range).toBe("course");
      expect(chart.xDomain[0]).toBe(isoToDayNumber("2026-06-01") - HISTORY_DAYS - 3);
      expect(chart.xDomain[1]).toBe(isoToDayNumber("2026-11-01") + 3);
      const shown = diary.points.length - chart.hiddenBefore;
      // The domain keeps 3 days' margin on each side, so 3 more days of the diary show before the range's start.
      expect(shown).toBe(isoToDayNumber("2026-11-01") - (isoToDayNumber("2026-06-01") - HISTORY_DAYS) + 1 + 3);
      expect(chart.description).toContain(`${chart.hiddenBefore} older than the period shown`);
    });

    it("shows the last year, or everything, when chosen", () => {
      const diary = threeYearDiary();
      const year = buildTrendChart(diary, course, "2026-11-01", "year");
      expect(year.xDomain[0]).toBe(isoToDayNumber("2026-11-01") - YEAR_DAYS - 3);
      expect(diary.points.length - year.hiddenBefore).toBe(YEAR_DAYS + 1 + 3);
      const all = buildTrendChart(diary, course, "2026-11-01", "all");
      expect(all.xDomain[0]).toBe(isoToDayNumber("2023-11-01") - 3);
      expect(all.hiddenBefore).toBe(0);
      expect(all.description).not.toContain("older than the period shown");
    });

    it("keeps the course start in view when the course began before the last year", () => {
      const longCourse = { ...course, start: "2024-05-15", checkpoints: [] };
      const diary = threeYearDiary();
      expect(buildTrendChart(diary, longCourse, "2026-11-01", "course").xDomain[0]).toBe(isoToDayNumber("2024-05-15") - HISTORY_DAYS - 3);
      // "1 year" is narrower than a long course: it cuts the course's early weeks.
      expect(buildTrendChart(diary, longCourse, "2026-11-01", "year").xDomain[0]).toBe(isoToDayNumber("2025-11-01") - 3);
    });

    it("never widens the period beyond the data: a short record shows the same in every range", () => {
      const itch = evaluation.trends!.itch!;
      const domains = (["course", "year", "all"] as const).map((r) => buildTrendChart(itch, course, "2026-11-01", r).xDomain);
      // The itch values start in late May 2026, inside every range's start.
      expect(domains[0]).toEqual(domains[2]);
      expect(domains[1]).toEqual(domains[2]);
    });
  });
});
