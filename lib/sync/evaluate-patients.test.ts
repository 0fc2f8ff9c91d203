import os from "node:os";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluationThreads, keysetRanges, loopsFor, rangeEnds, splitIds, threadConnection, threadExecArgv } from "./evaluate-patients";

describe("evaluationThreads", () => {
  it("takes the option first, then EJM_EVALUATION_THREADS, then the cores available", () => {
    expect(evaluationThreads(3, { EJM_EVALUATION_THREADS: "5" })).toBe(3);
    expect(evaluationThreads(undefined, { EJM_EVALUATION_THREADS: "5" })).toBe(5);
    expect(evaluationThreads(undefined, {})).toBe(Math.max(1, os.availableParallelism()));
    expect(evaluationThreads(undefined, { EJM_EVALUATION_THREADS: " " })).toBe(Math.max(1, os.availableParallelism()));
  });

  it("never runs fewer than one loop", () => {
    expect(evaluationThreads(0, {})).toBe(1);
    expect(evaluationThreads(-2, {})).toBe(1);
    expect(evaluationThreads(undefined, { EJM_EVALUATION_THREADS: "0" })).toBe(1);
    expect(evaluationThreads(2.7, {})).toBe(2);
  });

  it("refuses a setting that is not a whole number with a clear error", () => {
    expect(() => evaluationThreads(undefined, { EJM_EVALUATION_THREADS: "two" })).toThrow(/EJM_EVALUATION_THREADS must be a whole number.*"two"/);
    expect(() => evaluationThreads(undefined, { EJM_EVALUATION_THREADS: "1.5" })).toThrow(/EJM_EVALUATION_THREADS/);
    expect(() => evaluationThreads(Number.NaN, {})).toThrow(/threads/);
  });
});

describe("loopsFor", () => {
  it("runs no more loops than batches, and one loop for a run of one batch or none", () => {
    expect(loopsFor(10_000, 500, 2)).toBe(2);
    expect(loopsFor(10_000, 500, 64)).toBe(20);
    expect(loopsFor(501, 500, 4)).toBe(2);
    expect(loopsFor(500, 500, 4)).toBe(1);
    expect(loopsFor(0, 500, 4)).toBe(1);
    expect(loopsFor(10_000, 500, 1)).toBe(1);
  });
});

describe("rangeEnds and keysetRanges", () => {
  it("ends ranges at the row numbers that split the patients evenly", () => {
    expect(rangeEnds(12, 2)).toEqual([6]);
    expect(rangeEnds(10, 3)).toEqual([3, 6]);
    expect(rangeEnds(2, 4)).toEqual([1]);
    expect(rangeEnds(1, 4)).toEqual([]);
    expect(rangeEnds(0, 4)).toEqual([]);
  });

  it("turns the ending ids into ranges that cover every id, each id in exactly one", () => {
    expect(keysetRanges("s", ["f", "m"])).toEqual([
      { source: "s", after: null, upTo: "f" },
      { source: "s", after: "f", upTo: "m" },
      { source: "s", after: "m", upTo: null },
    ]);
    expect(keysetRanges("s", [])).toEqual([{ source: "s", after: null, upTo: null }]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (raw, parts) => {
        const ids = [...raw].sort();
        const ends = rangeEnds(ids.length, parts).map((n) => ids[n - 1]!);
        const ranges = keysetRanges("s", ends);
        for (const id of ids) {
          const holders = ranges.filter((r) => "after" in r && (r.after === null || id > r.after) && (r.upTo === null || id <= r.upTo));
          expect(holders.length).toBe(1);
        }
        expect(ranges.length).toBe(Math.max(1, Math.min(parts, ids.length)));
      }),
    );
  });
});

describe("splitIds", () => {
  it("splits a sorted list into contiguous chunks of near-equal size, in order, dropping none", () => {
    expect(splitIds(["a", "b", "c", "d", "e"], 2)).toEqual([["a", "b"], ["c", "d", "e"]]);
    expect(splitIds(["a"], 3)).toEqual([["a"]]);
    expect(splitIds([], 3)).toEqual([]);
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 200 }), fc.integer({ min: 1, max: 10 }), (ids, parts) => {
        const chunks = splitIds(ids, parts);
        expect(chunks.flat()).toEqual(ids);
        expect(chunks.length).toBe(Math.min(parts, ids.length));
        const sizes = chunks.map((c) => c.length);
        if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe("threadConnection", () => {
  it("passes a pool's plain connection settings and leaves its pool settings behind", () => {
    expect(threadConnection({ connectionString: "postgres://u:p@h:5432/d", max: 10, idleTimeoutMillis: 10_000, application_name: "ejm" })).toEqual({
      connectionString: "postgres://u:p@h:5432/d",
      application_name: "ejm",
    });
    expect(threadConnection({ host: "h", port: 5433, user: "u", password: "p", database: "d", ssl: { rejectUnauthorized: false } })).toEqual({
      host: "h",
      port: 5433,
      user: "u",
      password: "p",
      database: "d",
      ssl: { rejectUnauthorized: false },
    });
  });

  it("says why settings that cannot cross into a thread keep the work in one loop", () => {
    expect(threadConnection({ connectionString: "postgres://h/d", password: () => "secret" })).toMatch(/"password" is a function/);
    expect(threadConnection({ connectionString: "postgres://h/d", types: { getTypeParser: () => (v: string) => v } })).toMatch(/"types"/);
  });
});

describe("threadExecArgv", () => {
  const loader = () => "file:///app/node_modules/tsx/dist/loader.mjs";

  it("keeps the process's own tsx loader (tsx CLI) without adding a second one", () => {
    const tsxCli = ["--require", "/app/node_modules/tsx/dist/preflight.cjs", "--import", "file:///app/node_modules/tsx/dist/loader.mjs"];
    expect(threadExecArgv(tsxCli, loader)).toEqual(tsxCli);
    expect(threadExecArgv(["--import=tsx"], loader)).toEqual(["--import=tsx"]);
    expect(threadExecArgv(["--import", "tsx"], loader)).toEqual(["--import", "tsx"]);
  });

  it("adds tsx's loader when the process loads TypeScript another way (vitest)", () => {
    expect(threadExecArgv(["--conditions", "node"], loader)).toEqual(["--conditions", "node", "--import", loader()]);
    expect(threadExecArgv(["--require", "/app/node_modules/tsxlike/x.cjs"], loader)).toEqual(["--require", "/app/node_modules/tsxlike/x.cjs", "--import", loader()]);
  });
});
