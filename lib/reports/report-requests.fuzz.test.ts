/**
 * Fuzz tests of the quality reports' request parsers: filters, case list, direct export and audit queries, measure
 * ids, export bodies and the period rules take any input and give a value inside its rules or problems naming the
 * parameter; never a throw. Valid filters and lists survive serialising and parsing. Seeded (lib/testing/arbitraries.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { calendarDate, daysBetween } from "../clinical/dates";
import { DRUGS, ROUTES } from "../panel/filters";
import { anyFieldValue, anyJson, fuzzParameters, hostileString } from "../testing/arbitraries";
import { MEASURE_IDS } from "./measures";
import {
  CASE_OUTCOMES,
  exportIdSchema,
  EXPORT_FORMATS,
  MAX_PAGE_SIZE,
  MAX_PERIOD_YEARS,
  parseAuditQuery,
  parseCaseListQuery,
  parseExportBody,
  parseExportQuery,
  parseMeasureId,
  parseReportFilters,
  reportRequestFor,
  serializeCaseList,
  serializeReportFilters,
  type CaseListState,
  type ReportFilterState,
} from "./report-requests";

const NAMES = ["from", "to", "source", "drug", "route", "prescriber", "outcome", "page", "size", "format", "bom", "shared"];
const isoDay = fc.integer({ min: -6_000, max: 3_000 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));
const today = fc.integer({ min: -400, max: 400 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));

const valueFor = (name: string): fc.Arbitrary<string> => {
  const valid: Record<string, fc.Arbitrary<string>> = {
    from: isoDay,
    to: isoDay,
    source: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
    drug: fc.constantFrom(...DRUGS),
    route: fc.constantFrom(...ROUTES),
    prescriber: fc.string({ minLength: 1, maxLength: 30 }),
    outcome: fc.constantFrom(...CASE_OUTCOMES),
    page: fc.integer({ min: 1, max: 999_999 }).map(String),
    size: fc.integer({ min: 1, max: MAX_PAGE_SIZE }).map(String),
    format: fc.constantFrom(...EXPORT_FORMATS),
    bom: fc.constantFrom("1", "0", "true", "false"),
    shared: fc.constantFrom("1", "0", "true", "false"),
  };
  return fc.oneof({ weight: 4, arbitrary: Object.hasOwn(valid, name) ? valid[name]! : hostileString }, { weight: 1, arbitrary: fc.constantFrom("", " ", "0", "-1", "1e2", "0001-01-01", "9999-12-31", "2026-02-29", "x".repeat(500)) }, { weight: 2, arbitrary: hostileString });
};

const query = fc
  .array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: hostileString }).chain((name) => fc.tuple(fc.constant(name), valueFor(name))), { maxLength: 8 })
  .map((pairs) => {
    const params = new URLSearchParams();
    for (const [name, value] of pairs) params.append(name, value);
    return params;
  });

type Problems = { ok: false; problems: Array<{ param: string; reason: string }> };

function expectProblems(result: { ok: boolean }): void {
  const { problems } = result as Problems;
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    expect(p.param.length).toBeGreaterThan(0);
    expect(p.reason.length).toBeGreaterThan(0);
    expect(p.reason.length).toBeLessThan(400);
  }
}

describe("report request parsers under fuzzed input", () => {
  it("read any query as filters, a case list, export options and an audit page, or problems", () => {
    fc.assert(
      fc.property(query, today, (params, day) => {
        const filters = parseReportFilters(params);
        if (filters.ok) {
          const { from, to, drug, route } = filters.value;
          if (from) expect(calendarDate(from)).toBe(from);
          if (to) expect(calendarDate(to)).toBe(to);
          if (from && to) expect(from <= to).toBe(true);
          if (drug) expect(DRUGS).toContain(drug);
          if (route) expect(ROUTES).toContain(route);
          for (const measure of MEASURE_IDS) {
            const request = reportRequestFor(measure, filters.value, day);
            if (request.ok) {
              // Real days only: PostgreSQL refuses year 0, which a default period before 0002 used to reach.
              expect(calendarDate(request.value.period.from)).toBe(request.value.period.from);
              expect(request.value.period.from <= request.value.period.to).toBe(true);
              expect(daysBetween(request.value.period.from, request.value.period.to)).toBeLessThanOrEqual(MAX_PERIOD_YEARS * 366);
            } else expectProblems(request);
          }
        } else expectProblems(filters);

        const list = parseCaseListQuery(params);
        if (list.ok) {
          expect(CASE_OUTCOMES).toContain(list.value.outcome);
          expect(list.value.page).toBeGreaterThanOrEqual(1);
          expect(list.value.size).toBeGreaterThanOrEqual(1);
          expect(list.value.size).toBeLessThanOrEqual(MAX_PAGE_SIZE);
        } else expectProblems(list);

        const exportQuery = parseExportQuery(params);
        if (exportQuery.ok) expect(EXPORT_FORMATS).toContain(exportQuery.value.format);
        else expectProblems(exportQuery);

        const audit = parseAuditQuery(params);
        if (audit.ok) expect(audit.value.size).toBeLessThanOrEqual(MAX_PAGE_SIZE);
        else expectProblems(audit);
      }),
      fuzzParameters(400),
    );
  });

  it("never defaults a period into year 0, which PostgreSQL refuses (to=0001-01-01 gave from=0000-01-02)", () => {
    for (const to of ["0001-01-01", "0001-03-01", "0001-12-31", "0002-02-28"]) {
      const filters = parseReportFilters(new URLSearchParams({ to }));
      expect(filters.ok).toBe(true);
      const request = reportRequestFor(MEASURE_IDS[0], filters.ok ? filters.value : {}, "2026-06-01");
      if (request.ok) expect(calendarDate(request.value.period.from)).toBe(request.value.period.from);
      else expect(request.problems[0]?.param).toBe("from");
    }
  });

  it("read any export body as a request and options, or problems naming the field", () => {
    const exportBody = fc.oneof(
      anyJson,
      fc.record(
        { from: fc.oneof(isoDay, hostileString), to: fc.oneof(isoDay, hostileString), format: fc.oneof(fc.constantFrom(...EXPORT_FORMATS), hostileString), drug: fc.oneof(fc.constantFrom(...DRUGS), anyFieldValue), bom: fc.oneof(fc.boolean(), anyFieldValue), prescriber: hostileString, extra: anyFieldValue },
        { requiredKeys: ["from", "to", "format"] },
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...MEASURE_IDS), exportBody, today, (measure, raw, day) => {
        const parsed = parseExportBody(measure, raw, day);
        if (!parsed.ok) {
          expectProblems(parsed);
          return;
        }
        expect(parsed.value.request.measureId).toBe(measure);
        expect(EXPORT_FORMATS).toContain(parsed.value.options.format);
        expect(parsed.value.request.period.from <= parsed.value.request.period.to).toBe(true);
      }),
      fuzzParameters(400),
    );
  });

  it("take any path segment as a measure id or an export id only when it is one", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...MEASURE_IDS), hostileString, fc.constantFrom("1", "0", "9".repeat(19))), (segment) => {
        const measure = parseMeasureId(segment);
        expect(measure.ok).toBe((MEASURE_IDS as readonly string[]).includes(segment));
        const exportId = exportIdSchema.safeParse(segment);
        if (exportId.success) expect(BigInt(exportId.data) > 0n).toBe(true);
      }),
      fuzzParameters(300),
    );
  });

  it("read back what they wrote: valid filters and case lists survive serialising and parsing", () => {
    const filters: fc.Arbitrary<ReportFilterState> = fc
      .record(
        {
          dates: fc.tuple(isoDay, isoDay),
          source: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
          drug: fc.constantFrom(...DRUGS),
          route: fc.constantFrom(...ROUTES),
          prescriber: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map((s) => s.trim()).filter((s) => s.length > 0),
        },
        { requiredKeys: [] },
      )
      .map(({ dates, ...rest }) => (dates ? { ...rest, from: dates[0] < dates[1] ? dates[0] : dates[1], to: dates[0] < dates[1] ? dates[1] : dates[0] } : rest));
    const list: fc.Arbitrary<CaseListState> = fc.record({ outcome: fc.constantFrom(...CASE_OUTCOMES), page: fc.integer({ min: 1, max: 999_999 }), size: fc.integer({ min: 1, max: MAX_PAGE_SIZE }) });
    fc.assert(
      fc.property(filters, list, (f, l) => {
        expect(parseReportFilters(new URLSearchParams(serializeReportFilters(f)))).toEqual({ ok: true, value: f });
        expect(parseCaseListQuery(new URLSearchParams(serializeCaseList(l)))).toEqual({ ok: true, value: l });
      }),
      fuzzParameters(300),
    );
  });
});
