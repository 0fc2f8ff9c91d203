import { describe, expect, it } from "vitest";
import { num, numericString } from "./json";

describe("num and numericString", () => {
  it("read -0 as 0, so a value is the same before and after a JSON round trip", () => {
    expect(Object.is(num(-0), 0)).toBe(true);
    expect(Object.is(numericString("-0"), 0)).toBe(true);
    expect(Object.is(numericString("-0.0"), 0)).toBe(true);
    expect(num(-1.5)).toBe(-1.5);
    expect(numericString("-2")).toBe(-2);
  });

  it("refuse what is not a finite number", () => {
    for (const x of [Number.NaN, Number.POSITIVE_INFINITY, "3", null, undefined, {}]) expect(num(x)).toBeNull();
    for (const x of ["", "abc", "1e999", 3]) expect(numericString(x)).toBeNull();
  });
});
