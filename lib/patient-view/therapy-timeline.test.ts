import { describe, expect, it } from "vitest";
import { buildTherapyTimeline } from "./therapy-timeline";
import { upadacitinibNonResponderEvaluation } from "./fixtures.test-helper";

describe("therapy timeline", () => {
  const evaluation = upadacitinibNonResponderEvaluation();

  it("puts prior therapy and JAK courses on one axis in start order", () => {
    const timeline = buildTherapyTimeline(evaluation.therapyHistory!, evaluation.courses, "2026-11-01")!;
    expect(timeline.bars.map((b) => b.name)).toEqual(["triamcinolone 0.1% cream", "dupilumab", "Abrocitinib (Cibinqo)", "Upadacitinib (Rinvoq)"]);
    expect(timeline.axisStart).toBe("2024-02-01");
    expect(timeline.axisEnd).toBe("2026-11-01");
    expect(timeline.bars[0]!.leftPercent).toBe(0);
    expect(timeline.yearTicks.map((t) => t.year)).toEqual([2025, 2026]);
  });

  it("runs an ongoing course to asOf, at the right edge", () => {
    const timeline = buildTherapyTimeline(evaluation.therapyHistory!, evaluation.courses, "2026-11-01")!;
    const upa = timeline.bars.find((b) => b.name.startsWith("Upadacitinib"))!;
    expect(upa.end).toBeNull();
    expect(upa.leftPercent + upa.widthPercent).toBeCloseTo(100, 5);
    expect(upa.therapyClass).toBe("jak-ad");
  });

  it("does not list a JAK course twice when the history also carries it", () => {
    const history = [...evaluation.therapyHistory!, { therapyClass: "jak-ad" as const, name: "upadacitinib", route: "oral" as const, start: "2026-06-01", end: null, resources: [] }];
    const timeline = buildTherapyTimeline(history, evaluation.courses, "2026-11-01")!;
    expect(timeline.bars.filter((b) => b.therapyClass === "jak-ad")).toHaveLength(2);
  });

  it("keeps a one-day therapy visible and returns null when there is nothing", () => {
    const timeline = buildTherapyTimeline([{ therapyClass: "phototherapy", name: "NB-UVB", route: null, start: "2026-01-01", end: "2026-01-01", resources: [] }], [], "2026-11-01")!;
    expect(timeline.bars[0]!.widthPercent).toBeGreaterThan(0);
    expect(buildTherapyTimeline([], [], "2026-11-01")).toBeNull();
  });
});
