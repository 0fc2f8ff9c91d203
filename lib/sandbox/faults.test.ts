import { describe, expect, it } from "vitest";
import { FaultInjector, seededRandom, truncateNdjsonText } from "./faults";

describe("fault injection decisions", () => {
  it("does nothing by default", () => {
    const injector = new FaultInjector(undefined, ["/fhir/"]);
    for (let index = 0; index < 100; index++) expect(injector.decide("/fhir/r4/Patient")).toEqual({ kind: "none", latencyMs: 0 });
    expect(injector.truncateNdjson()).toBe(false);
    expect(injector.earlyExpirySeconds()).toBeUndefined();
  });

  it("applies only to the configured path prefixes", () => {
    const injector = new FaultInjector({ rate503: 1 }, ["/fhir/"]);
    expect(injector.decide("/auth/token").kind).toBe("none");
    expect(injector.decide("/fhir/r4/Patient").kind).toBe("503");
    injector.set({ rate503: 1, paths: ["/auth/"] });
    expect(injector.decide("/auth/token").kind).toBe("503");
    expect(injector.decide("/fhir/r4/Patient").kind).toBe("none");
  });

  it("repeats the same sequence for the same seed, and hits the rates roughly", () => {
    const run = (seed: number): string[] => {
      const injector = new FaultInjector({ rate429: 0.25, rate503: 0.25, seed }, ["/"]);
      return Array.from({ length: 2000 }, () => injector.decide("/x").kind);
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
    const kinds = run(3);
    const share429 = kinds.filter((kind) => kind === "429").length / kinds.length;
    expect(share429).toBeGreaterThan(0.2);
    expect(share429).toBeLessThan(0.3);
  });

  it("carries Retry-After and latency in the decision", () => {
    const injector = new FaultInjector({ rate429: 1, retryAfterSeconds: 7, latencyMs: 40 }, ["/"]);
    expect(injector.decide("/x")).toEqual({ kind: "429", latencyMs: 40, retryAfterSeconds: 7 });
  });

  it("seededRandom stays in [0, 1)", () => {
    const random = seededRandom(99);
    for (let index = 0; index < 1000; index++) {
      const value = random();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });
});

describe("truncateNdjsonText", () => {
  it("cuts the last record in half so it no longer parses, keeping earlier lines intact", () => {
    const text = `${JSON.stringify({ a: 1 })}\n${JSON.stringify({ resourceType: "Observation", id: "abc" })}\n`;
    const cut = truncateNdjsonText(text);
    const lines = cut.split("\n");
    expect(JSON.parse(lines[0] ?? "")).toEqual({ a: 1 });
    expect(() => JSON.parse(lines[1] ?? "")).toThrow();
    expect(text.startsWith(cut)).toBe(true);
  });
});
