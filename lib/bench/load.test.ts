import { describe, expect, it } from "vitest";
import { CookieJar, growthOf, loadSeconds } from "./load";
import { quantile } from "./stats";

describe("CookieJar", () => {
  it("sends a cookie only under its path, as a browser does", () => {
    const jar = new CookieJar();
    jar.store(["ejm_launch_abc=launch1; Path=/callback; HttpOnly; SameSite=Lax", "ejm_session=s1; Path=/; HttpOnly"]);
    expect(jar.header("/callback")).toBe("ejm_launch_abc=launch1; ejm_session=s1");
    expect(jar.header("/api/panel/summary")).toBe("ejm_session=s1");
    expect(jar.header("/callbackx")).toBe("ejm_session=s1");
  });

  it("forgets a cookie the server clears (empty value, Max-Age=0 or an Expires in the past) and replaces one it sets again", () => {
    const jar = new CookieJar();
    jar.store(["a=1; Path=/", "b=2; Path=/", "c=3; Path=/", "d=4; Path=/"]);
    jar.store(["a=; Path=/", "b=x; Max-Age=0; Path=/", "c=y; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/", "d=5; Path=/"]);
    expect(jar.names()).toEqual(["d"]);
    expect(jar.header("/")).toBe("d=5");
  });
});

describe("growthOf", () => {
  it("finds no growth in a flat series with noise, and the growth of a rising one", () => {
    const flat = growthOf([100, 104, 98, 101, 99, 103, 100, 97, 102]);
    expect(flat.factor).toBeCloseTo(1, 1);
    expect(Math.abs(flat.slopePerSample)).toBeLessThan(1);
    const rising = growthOf([100, 110, 120, 130, 140, 150]);
    expect(rising.factor).toBeCloseTo(145 / 105, 5);
    expect(rising.slopePerSample).toBeCloseTo(10, 5);
  });

  it("gives no figure for fewer than three samples", () => {
    expect(growthOf([1, 2]).factor).toBeNaN();
  });
});

describe("load settings and figures", () => {
  it("reads LOAD_SECONDS from 5 to 600, 60 by default, and refuses anything else", () => {
    expect(loadSeconds({})).toBe(60);
    expect(loadSeconds({ LOAD_SECONDS: "15" })).toBe(15);
    expect(() => loadSeconds({ LOAD_SECONDS: "4" })).toThrow(/5 to 600/);
    expect(() => loadSeconds({ LOAD_SECONDS: "1e3" })).toThrow(/whole number/);
  });

  it("takes the nearest-rank quantile", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.95)).toBe(95);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
