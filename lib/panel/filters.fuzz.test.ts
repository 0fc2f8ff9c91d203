/**
 * Fuzz tests of the worklist's URL parser: any query string (known and unknown parameters, repeated, empty, hostile
 * values, in URLSearchParams or Next's searchParams shape) gives filters inside their allowed sets or problems
 * naming the parameter and why; never a throw. Valid filters survive serialising and parsing unchanged. Seeded
 * (lib/testing/arbitraries.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzParameters, hostileString } from "../testing/arbitraries";
import {
  CHECKPOINT_WEEKS,
  DATE_FIELDS,
  DEFAULT_FILTERS,
  describeFilters,
  DRUGS,
  FLAG_KINDS,
  PAGE_SIZES,
  parsePanelFilters,
  parseSourceParam,
  PRESETS,
  ROUTES,
  SCOPES,
  serializePanelFilters,
  SEVERITIES,
  SORT_DIRECTIONS,
  SORT_KEYS,
  VERDICT_FILTERS,
  withFilters,
  worklistHref,
  type PanelFilters,
} from "./filters";

const PARAM_NAMES = Object.keys(DEFAULT_FILTERS);
const isoDay = fc.integer({ min: -3_000, max: 3_000 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));
const sourceId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);

/** A value for a parameter: one of its valid values, a near miss, or anything. */
const valueFor = (name: string): fc.Arbitrary<string> => {
  const valid: Record<string, fc.Arbitrary<string>> = {
    source: sourceId,
    scope: fc.constantFrom(...SCOPES),
    drug: fc.constantFrom(...DRUGS),
    route: fc.constantFrom(...ROUTES),
    week: fc.constantFrom(...CHECKPOINT_WEEKS.map(String)),
    verdict: fc.constantFrom(...VERDICT_FILTERS),
    flag: fc.constantFrom(...FLAG_KINDS),
    severity: fc.constantFrom(...SEVERITIES),
    prescriber: fc.string({ minLength: 1, maxLength: 30 }),
    dateOf: fc.constantFrom(...DATE_FIELDS),
    from: isoDay,
    to: isoDay,
    preset: fc.constantFrom(...PRESETS),
    sort: fc.constantFrom(...SORT_KEYS),
    dir: fc.constantFrom(...SORT_DIRECTIONS),
    page: fc.integer({ min: 1, max: 999_999 }).map(String),
    size: fc.constantFrom(...PAGE_SIZES.map(String)),
  };
  return fc.oneof({ weight: 4, arbitrary: Object.hasOwn(valid, name) ? valid[name]! : hostileString }, { weight: 1, arbitrary: fc.constantFrom("", " ", "0", "-1", "1e3", "00010", "2026-02-30", "x".repeat(300)) }, { weight: 2, arbitrary: hostileString });
};

const queryPairs = fc.array(
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PARAM_NAMES) }, { weight: 1, arbitrary: hostileString }).chain((name) => fc.tuple(fc.constant(name), valueFor(name))),
  { maxLength: 8 },
);

function expectFiltersInTheirSets(f: PanelFilters): void {
  const within = (value: unknown, allowed: readonly unknown[]) => expect(value === null || allowed.includes(value), `${String(value)} not in ${allowed.join(",")}`).toBe(true);
  within(f.scope, SCOPES);
  within(f.drug, DRUGS);
  within(f.route, ROUTES);
  within(f.week, CHECKPOINT_WEEKS);
  within(f.verdict, VERDICT_FILTERS);
  within(f.flag, FLAG_KINDS);
  within(f.severity, SEVERITIES);
  within(f.dateOf, DATE_FIELDS);
  within(f.preset, PRESETS);
  within(f.sort, SORT_KEYS);
  within(f.dir, SORT_DIRECTIONS);
  within(f.size, PAGE_SIZES);
  expect(Number.isInteger(f.page) && f.page >= 1).toBe(true);
  if (f.prescriber !== null) expect(f.prescriber.trim()).toBe(f.prescriber);
  if (f.from && f.to) expect(f.from <= f.to).toBe(true);
}

describe("worklist filters under fuzzed query strings", () => {
  it("give filters inside their sets, or problems naming the parameter and why", () => {
    fc.assert(
      fc.property(queryPairs, fc.boolean(), (pairs, asRecord) => {
        const params = new URLSearchParams();
        for (const [name, value] of pairs) params.append(name, value);
        // Next's searchParams shape: one string, or an array for a repeated name.
        const record: Record<string, string | string[]> = {};
        for (const [name, value] of pairs) {
          const existing = Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined;
          record[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
        }
        const parsed = parsePanelFilters(asRecord ? record : params);
        if (parsed.ok) {
          expectFiltersInTheirSets(parsed.filters);
          expect(() => describeFilters(parsed.filters)).not.toThrow();
          return;
        }
        expect(parsed.problems.length).toBeGreaterThan(0);
        for (const problem of parsed.problems) {
          expect(PARAM_NAMES).toContain(problem.param);
          expect(problem.reason.length).toBeGreaterThan(0);
          // The raw value is cut in the reason: a hostile megabyte does not come back in the 400.
          expect(problem.reason.length).toBeLessThan(400);
        }
      }),
      fuzzParameters(400),
    );
  });

  it("read back what they wrote: any valid filters survive serialising and parsing unchanged", () => {
    const filters: fc.Arbitrary<PanelFilters> = fc
      .record({
        source: fc.option(sourceId, { nil: null }),
        scope: fc.constantFrom(...SCOPES),
        drug: fc.option(fc.constantFrom(...DRUGS), { nil: null }),
        route: fc.option(fc.constantFrom(...ROUTES), { nil: null }),
        week: fc.option(fc.constantFrom(...CHECKPOINT_WEEKS), { nil: null }),
        verdict: fc.option(fc.constantFrom(...VERDICT_FILTERS), { nil: null }),
        flag: fc.option(fc.constantFrom(...FLAG_KINDS), { nil: null }),
        severity: fc.option(fc.constantFrom(...SEVERITIES), { nil: null }),
        prescriber: fc.option(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).map((s) => s.trim()).filter((s) => s.length > 0 && s.length <= 200), { nil: null }),
        dateOf: fc.constantFrom(...DATE_FIELDS),
        dates: fc.tuple(fc.option(isoDay, { nil: null }), fc.option(isoDay, { nil: null })),
        preset: fc.option(fc.constantFrom(...PRESETS), { nil: null }),
        sort: fc.constantFrom(...SORT_KEYS),
        dir: fc.constantFrom(...SORT_DIRECTIONS),
        page: fc.integer({ min: 1, max: 999_998 }), // the next page (below) is a page the parser takes too
        size: fc.constantFrom(...PAGE_SIZES),
      })
      .map(({ dates: [a, b], ...rest }) => ({ ...rest, from: a && b && a > b ? b : a, to: a && b && a > b ? a : b }));
    fc.assert(
      fc.property(filters, (f) => {
        const parsed = parsePanelFilters(new URLSearchParams(serializePanelFilters(f)));
        expect(parsed).toEqual({ ok: true, filters: f });
        expect(worklistHref(f).startsWith("/panel/worklist")).toBe(true);
        const next = withFilters(f, { page: f.page + 1 });
        expect(parsePanelFilters(new URLSearchParams(serializePanelFilters(next)))).toEqual({ ok: true, filters: next });
      }),
      fuzzParameters(300),
    );
  });

  it("read the source parameter alone as a source id, none, or a problem", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(sourceId, hostileString), { maxLength: 3 }), (values) => {
        const params = new URLSearchParams();
        for (const v of values) params.append("source", v);
        const parsed = parseSourceParam(params);
        if (!parsed.ok) {
          expect(parsed.problems[0]?.param).toBe("source");
          return;
        }
        if (parsed.source !== null) expect(parsed.source).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
        else expect(values).toEqual([]);
      }),
      fuzzParameters(300),
    );
  });
});
