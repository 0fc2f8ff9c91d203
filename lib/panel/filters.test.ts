import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINT_WEEKS,
  DATE_FIELDS,
  DEFAULT_FILTERS,
  describeFilters,
  hasNarrowingFilters,
  DRUGS,
  FLAG_KINDS,
  NATURAL_DIRECTION,
  PAGE_SIZES,
  panelPatientHref,
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

function parsed(query: string): PanelFilters {
  const result = parsePanelFilters(new URLSearchParams(query));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.filters;
}

function problems(query: string | Record<string, string | string[]>) {
  const result = parsePanelFilters(typeof query === "string" ? new URLSearchParams(query) : query);
  if (result.ok) throw new Error("expected problems");
  return result.problems;
}

const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const isoDate = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2039-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));

const filtersArb: fc.Arbitrary<PanelFilters> = fc
  .record({
    source: nullable(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/)),
    scope: fc.constantFrom(...SCOPES),
    drug: nullable(fc.constantFrom(...DRUGS)),
    route: nullable(fc.constantFrom(...ROUTES)),
    week: nullable(fc.constantFrom(...CHECKPOINT_WEEKS)),
    verdict: nullable(fc.constantFrom(...VERDICT_FILTERS)),
    flag: nullable(fc.constantFrom(...FLAG_KINDS)),
    severity: nullable(fc.constantFrom(...SEVERITIES)),
    prescriber: nullable(fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.trim()).filter((s) => s.length > 0)),
    dateOf: fc.constantFrom(...DATE_FIELDS),
    dates: fc.tuple(nullable(isoDate), nullable(isoDate)),
    preset: nullable(fc.constantFrom(...PRESETS)),
    sort: fc.constantFrom(...SORT_KEYS),
    dir: fc.constantFrom(...SORT_DIRECTIONS),
    page: fc.integer({ min: 1, max: 999_999 }),
    size: fc.constantFrom(...PAGE_SIZES),
  })
  .map(({ dates: [a, b], ...rest }) => {
    const [from, to] = a && b && a > b ? [b, a] : [a, b];
    return { ...rest, from, to };
  });

describe("worklist URL state", () => {
  it("reads an empty query as the defaults: running courses, most severe first, page 1 of 25", () => {
    expect(parsed("")).toEqual(DEFAULT_FILTERS);
    expect(DEFAULT_FILTERS).toMatchObject({ scope: "on-jak", sort: "severity", dir: "desc", page: 1, size: 25 });
    expect(serializePanelFilters(DEFAULT_FILTERS)).toBe("");
  });

  it("reads every filter from a shared link", () => {
    const f = parsed(
      "source=sandbox&scope=all&drug=upadacitinib&route=oral&week=16&verdict=not-responded&flag=overdue-lab&severity=warning&prescriber=Dr%20Ada%20Lee&dateOf=due&from=2026-01-01&to=2026-06-30&preset=overdue-labs&sort=name&dir=desc&page=3&size=50&utm_source=mail",
    );
    expect(f).toEqual({
      source: "sandbox",
      scope: "all",
      drug: "upadacitinib",
      route: "oral",
      week: 16,
      verdict: "not-responded",
      flag: "overdue-lab",
      severity: "warning",
      prescriber: "Dr Ada Lee",
      dateOf: "due",
      from: "2026-01-01",
      to: "2026-06-30",
      preset: "overdue-labs",
      sort: "name",
      dir: "desc",
      page: 3,
      size: 50,
    });
  });

  it("writes filters back in one canonical order without the defaults", () => {
    const f = { ...DEFAULT_FILTERS, preset: "not-responded" as const, drug: "abrocitinib" as const, page: 2 };
    expect(serializePanelFilters(f)).toBe("drug=abrocitinib&preset=not-responded&page=2");
    expect(worklistHref(f)).toBe("/panel/worklist?drug=abrocitinib&preset=not-responded&page=2");
    expect(worklistHref(DEFAULT_FILTERS)).toBe("/panel/worklist");
  });

  it("leaves out the sort direction when it is the sort's natural one", () => {
    expect(parsed("sort=name").dir).toBe("asc");
    expect(parsed("sort=due").dir).toBe("asc");
    expect(parsed("sort=week").dir).toBe("desc");
    expect(serializePanelFilters(parsed("sort=name&dir=asc"))).toBe("sort=name");
    expect(serializePanelFilters(parsed("sort=name&dir=desc"))).toBe("sort=name&dir=desc");
    expect(serializePanelFilters(parsed("dir=asc"))).toBe("dir=asc");
    for (const key of SORT_KEYS) expect(parsed(`sort=${key}`).dir).toBe(NATURAL_DIRECTION[key]);
  });

  it("round-trips any filters through the query string unchanged", () => {
    fc.assert(
      fc.property(filtersArb, (filters) => {
        expect(parsed(serializePanelFilters(filters))).toEqual(filters);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips the query string of parsed filters unchanged (a bookmark stays the same link)", () => {
    fc.assert(
      fc.property(filtersArb, (filters) => {
        const query = serializePanelFilters(filters);
        expect(serializePanelFilters(parsed(query))).toBe(query);
      }),
      { numRuns: 200 },
    );
  });

  it("accepts the searchParams object Next gives a page", () => {
    const result = parsePanelFilters({ drug: "baricitinib", page: "2", other: ["a", "b"] });
    expect(result.ok && result.filters).toMatchObject({ drug: "baricitinib", page: 2 });
  });

  it("rejects values outside their set, each with a reason naming the parameter and the allowed values", () => {
    expect(problems("drug=penicillin")).toEqual([{ param: "drug", reason: 'drug "penicillin" must be one of upadacitinib, abrocitinib, baricitinib, ruxolitinib-cream' }]);
    expect(problems("week=3")[0]).toEqual({ param: "week", reason: 'week "3" must be one of 2, 4, 8, 12, 16, 24' });
    expect(problems("verdict=open")[0]!.reason).toContain("must be one of responded, not-responded, not-assessable, none");
    expect(problems("severity=high")[0]!.param).toBe("severity");
    expect(problems("flag=rash")[0]!.param).toBe("flag");
    expect(problems("preset=everything")[0]!.param).toBe("preset");
    expect(problems("sort=age")[0]!.reason).toContain("must be one of severity, name, drug, week, verdict, due");
    expect(problems("dir=up")[0]!.param).toBe("dir");
    expect(problems("size=1000")[0]).toEqual({ param: "size", reason: 'size "1000" must be one of 10, 25, 50, 100' });
    expect(problems("scope=everyone")[0]!.param).toBe("scope");
    expect(problems("dateOf=end")[0]!.param).toBe("dateOf");
  });

  it("rejects pages that are not whole numbers from 1", () => {
    for (const page of ["0", "-1", "1.5", "x", "", "10000000"]) {
      expect(problems(`page=${page}`)[0]!.param).toBe("page");
    }
  });

  it("rejects dates that are not real calendar dates, and a range that ends before it starts", () => {
    expect(problems("from=2026-02-30")[0]).toEqual({ param: "from", reason: 'from "2026-02-30" must be a date written YYYY-MM-DD' });
    expect(problems("to=01/02/2026")[0]!.param).toBe("to");
    expect(problems("from=2026-06-01&to=2026-05-01")).toEqual([{ param: "to", reason: "to 2026-05-01 is before from 2026-06-01" }]);
    expect(parsed("from=2026-06-01&to=2026-06-01").to).toBe("2026-06-01");
  });

  it("rejects a source id with characters outside its alphabet, an empty prescriber and a parameter given twice", () => {
    expect(problems("source=a%20b")[0]!.param).toBe("source");
    expect(problems("source=x'%3B--")[0]!.param).toBe("source");
    expect(problems("prescriber=%20%20")[0]).toEqual({ param: "prescriber", reason: 'prescriber "  " must not be empty' });
    expect(problems("drug=abrocitinib&drug=baricitinib")).toEqual([{ param: "drug", reason: "drug is given 2 times; give it once" }]);
  });

  it("reports every bad parameter at once", () => {
    expect(problems("drug=x&route=y&page=0").map((p) => p.param)).toEqual(["drug", "route", "page"]);
  });

  it("goes back to page 1 when a filter changes, and to the natural direction when the sort changes", () => {
    const onPage3 = { ...DEFAULT_FILTERS, page: 3 };
    expect(withFilters(onPage3, { drug: "upadacitinib" }).page).toBe(1);
    expect(withFilters(onPage3, { page: 4 }).page).toBe(4);
    expect(withFilters(DEFAULT_FILTERS, { sort: "name" })).toMatchObject({ sort: "name", dir: "asc" });
    expect(withFilters(DEFAULT_FILTERS, { sort: "name", dir: "desc" })).toMatchObject({ sort: "name", dir: "desc" });
  });

  it("describes the active filters in words, saying what the date range applies to", () => {
    const f = parsed("drug=upadacitinib&verdict=not-responded&flag=overdue-lab&dateOf=due&from=2026-03-01&to=2026-03-31");
    expect(describeFilters(f)).toEqual([
      "on a JAK inhibitor now",
      "Upadacitinib (Rinvoq)",
      "latest verdict not responded",
      "flag: overdue lab",
      "next due date 1 Mar 2026 to 31 Mar 2026",
    ]);
    expect(describeFilters(parsed("from=2026-03-01"))).toContain("course start on or after 1 Mar 2026");
    expect(describeFilters(parsed("flag=abnormal-lab&severity=critical"))).toContain("flag: abnormal lab (critical)");
    expect(describeFilters(parsed("severity=info"))).toContain("flag severity: info");
    expect(describeFilters(parsed("source=ehr-a&scope=all"), (id) => `EHR ${id}`)).toEqual(["source EHR ehr-a", "every synced patient"]);
  });

  it("tells filters that narrow the list from those that only order or page it", () => {
    expect(hasNarrowingFilters(DEFAULT_FILTERS)).toBe(false);
    expect(hasNarrowingFilters(parsed("source=ehr-a&sort=name&page=3&size=10"))).toBe(false);
    expect(hasNarrowingFilters(parsed("preset=due-7-days"))).toBe(true);
    expect(hasNarrowingFilters(parsed("scope=all"))).toBe(true);
    expect(hasNarrowingFilters(parsed("to=2026-01-01"))).toBe(true);
  });

  it("links a row to the panel patient view with both ids encoded", () => {
    expect(panelPatientHref("sandbox", "pt-000001")).toBe("/panel/patients/sandbox/pt-000001");
    expect(panelPatientHref("a b", "x/y")).toBe("/panel/patients/a%20b/x%2Fy");
  });

  it("reads the source alone for the summary and the charts", () => {
    expect(parseSourceParam(new URLSearchParams(""))).toEqual({ ok: true, source: null });
    expect(parseSourceParam(new URLSearchParams("source=sandbox&drug=x"))).toEqual({ ok: true, source: "sandbox" });
    const bad = parseSourceParam(new URLSearchParams("source=%2F%2F"));
    expect(bad.ok).toBe(false);
  });
});
