import { describe, expect, it } from "vitest";
import { roundTo } from "./round";

describe("roundTo", () => {
  it("rounds to the given decimals", () => {
    expect(roundTo(1.23456, 2)).toBe(1.23);
    expect(roundTo(-12.35, 1)).toBe(-12.3);
    expect(roundTo(7, 0)).toBe(7);
  });

  it("gives 0, not -0, for a small negative (a change of -0.004 points must equal its JSON)", () => {
    expect(Object.is(roundTo(-0.004, 2), 0)).toBe(true);
    expect(Object.is(roundTo(-0, 1), 0)).toBe(true);
  });
});
