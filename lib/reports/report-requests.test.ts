import { describe, expect, it } from "vitest";
import {
  canOpenPatient,
  defaultReportPeriod,
  directExportUrl,
  parseAuditQuery,
  parseCaseListQuery,
  parseExportBody,
  parseExportQuery,
  parseMeasureId,
  parseReportFilters,
  reportHref,
  reportRequestFor,
  serializeCaseList,
  serializeReportFilters,
} from "./report-requests";

const q = (s: string) => new URLSearchParams(s);

describe("report filters in a URL", () => {
  it("reads every filter, leaving out empty ones and ignoring unknown parameters", () => {
    const parsed = parseReportFilters(q("from=2026-01-01&to=2026-06-30&source=main&drug=abrocitinib&route=oral&prescriber=%20Dr%20Who%20&utm=x&drug2="));
    expect(parsed).toEqual({ ok: true, value: { from: "2026-01-01", to: "2026-06-30", source: "main", drug: "abrocitinib", route: "oral", prescriber: "Dr Who" } });
    expect(parseReportFilters(q("drug=&route="))).toEqual({ ok: true, value: {} });
  });

  it("rejects each bad value with the parameter and a reason", () => {
    const parsed = parseReportFilters(q("from=2026-02-30&drug=dupilumab&route=iv&source=a%20b&drug=x"));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => p.param).sort()).toEqual(["drug", "from", "route", "source"]);
    expect(parsed.problems.find((p) => p.param === "from")?.reason).toMatch(/YYYY-MM-DD/);
    expect(parsed.problems.find((p) => p.param === "drug")?.reason).toMatch(/given 2 times/);
  });

  it("rejects a period that ends before it starts", () => {
    expect(parseReportFilters(q("from=2026-06-01&to=2026-05-31"))).toMatchObject({ ok: false, problems: [{ param: "to" }] });
  });

  it("reads a Next searchParams record, arrays included", () => {
    expect(parseReportFilters({ drug: "baricitinib", route: ["oral", "topical"] })).toMatchObject({ ok: false, problems: [{ param: "route" }] });
    expect(parseReportFilters({ drug: "baricitinib" })).toEqual({ ok: true, value: { drug: "baricitinib" } });
  });

  it("serializes to the canonical order and reads it back equal", () => {
    const filters = { prescriber: "Dr A&B", route: "topical" as const, from: "2025-12-01", source: "main" };
    const query = serializeReportFilters(filters);
    expect(query).toBe("from=2025-12-01&source=main&route=topical&prescriber=Dr+A%26B");
    expect(parseReportFilters(q(query))).toEqual({ ok: true, value: filters });
    expect(reportHref("follow-up-labs", {})).toBe("/reports/follow-up-labs");
    expect(reportHref("follow-up-labs", { drug: "upadacitinib" }, { outcome: "excluded", page: 2, size: 25 })).toBe("/reports/follow-up-labs?drug=upadacitinib&outcome=excluded&page=2");
  });
});

describe("the report period", () => {
  it("defaults to the 12 months ending today", () => {
    expect(defaultReportPeriod("2026-11-15")).toEqual({ from: "2025-11-16", to: "2026-11-15" });
    expect(defaultReportPeriod("2026-12-31")).toEqual({ from: "2026-01-01", to: "2026-12-31" });
    // A leap day goes back to 28 February of the year before, then one day on.
    expect(defaultReportPeriod("2028-02-29")).toEqual({ from: "2027-03-01", to: "2028-02-29" });
  });

  it("fills in what the URL leaves out, the start from the given end", () => {
    expect(reportRequestFor("baseline-screening", {}, "2026-11-15")).toEqual({ ok: true, value: { measureId: "baseline-screening", period: { from: "2025-11-16", to: "2026-11-15" }, filters: {} } });
    expect(reportRequestFor("baseline-screening", { to: "2026-06-30", drug: "abrocitinib" }, "2026-11-15")).toEqual({
      ok: true,
      value: { measureId: "baseline-screening", period: { from: "2025-07-01", to: "2026-06-30" }, filters: { drug: "abrocitinib" } },
    });
    expect(reportRequestFor("baseline-screening", { from: "2026-01-01" }, "2026-11-15")).toMatchObject({ ok: true, value: { period: { from: "2026-01-01", to: "2026-11-15" } } });
  });

  it("refuses a start after today's default end and a period over ten years", () => {
    expect(reportRequestFor("baseline-screening", { from: "2027-01-01" }, "2026-11-15")).toMatchObject({ ok: false, problems: [{ param: "from" }] });
    expect(reportRequestFor("baseline-screening", { from: "2000-01-01", to: "2026-01-01" }, "2026-11-15")).toMatchObject({ ok: false, problems: [{ reason: expect.stringMatching(/10 years/) }] });
  });

  it("knows the eight measure ids only", () => {
    expect(parseMeasureId("zoster-vaccination")).toEqual({ ok: true, value: "zoster-vaccination" });
    expect(parseMeasureId("exports").ok).toBe(false);
  });
});

describe("the patient list and the audit pages", () => {
  it("defaults to all cases, page 1, 25 a page, and writes defaults back as nothing", () => {
    const parsed = parseCaseListQuery(q(""));
    expect(parsed).toEqual({ ok: true, value: { outcome: "all", page: 1, size: 25 } });
    if (parsed.ok) expect(serializeCaseList(parsed.value)).toBe("");
    expect(parseCaseListQuery(q("outcome=not-met&page=3&size=100"))).toEqual({ ok: true, value: { outcome: "not-met", page: 3, size: 100 } });
  });

  it("rejects an unknown outcome, page 0 and a page size above 200", () => {
    for (const bad of ["outcome=met", "page=0", "page=-1", "size=500", "size=ten"]) expect(parseCaseListQuery(q(bad)).ok, bad).toBe(false);
    expect(parseAuditQuery(q("page=2"))).toEqual({ ok: true, value: { page: 2, size: 50 } });
    expect(parseAuditQuery(q("size=0")).ok).toBe(false);
  });
});

describe("export requests", () => {
  const body = { from: "2026-01-01", to: "2026-06-30", drug: "upadacitinib", format: "csv", bom: true, shared: true, outcome: "numerator" };

  it("turns a valid body into the report request and the export options", () => {
    expect(parseExportBody("follow-up-labs", body, "2026-11-15")).toEqual({
      ok: true,
      value: {
        request: { measureId: "follow-up-labs", period: { from: "2026-01-01", to: "2026-06-30" }, filters: { drug: "upadacitinib" } },
        options: { format: "csv", bom: true, shared: true, outcome: "numerator" },
      },
    });
  });

  it("drops options that do not apply: a BOM outside CSV, the default outcome, false flags", () => {
    expect(parseExportBody("follow-up-labs", { ...body, format: "pdf", shared: false, outcome: "all" }, "2026-11-15")).toMatchObject({ ok: true, value: { options: { format: "pdf" } } });
  });

  it("refuses unknown fields, a missing period or format, a bad format and a reversed period", () => {
    for (const bad of [{ ...body, patientId: "p1" }, { ...body, from: undefined }, { ...body, format: undefined }, { ...body, format: "docx" }, { ...body, bom: "yes" }]) {
      expect(parseExportBody("follow-up-labs", bad, "2026-11-15").ok, JSON.stringify(bad)).toBe(false);
    }
    expect(parseExportBody("follow-up-labs", { ...body, from: "2026-07-01" }, "2026-11-15")).toMatchObject({ ok: false, problems: [{ param: "from" }] });
    expect(parseExportBody("follow-up-labs", "not an object", "2026-11-15")).toMatchObject({ ok: false, problems: [{ param: "(body)" }] });
  });

  it("writes a direct export's URL that reads back as the same request and options", () => {
    const parsed = parseExportBody("follow-up-labs", body, "2026-11-15");
    if (!parsed.ok) throw new Error("valid body refused");
    const url = new URL(directExportUrl(parsed.value.request, parsed.value.options), "http://app");
    expect(url.pathname).toBe("/api/reports/follow-up-labs/export");
    expect(parseReportFilters(url.searchParams)).toEqual({ ok: true, value: { from: "2026-01-01", to: "2026-06-30", drug: "upadacitinib" } });
    expect(parseExportQuery(url.searchParams)).toEqual({ ok: true, value: parsed.value.options });
  });

  it("requires a known format in an export URL and reads flags as 1/0", () => {
    expect(parseExportQuery(q("bom=1")).ok).toBe(false);
    expect(parseExportQuery(q("format=xls")).ok).toBe(false);
    expect(parseExportQuery(q("format=csv&bom=0&shared=1"))).toEqual({ ok: true, value: { format: "csv", shared: true } });
    expect(parseExportQuery(q("format=csv&shared=maybe")).ok).toBe(false);
  });
});

describe("who may open a patient from the drill-down", () => {
  it("lets clinic leads open the synced patient view, not quality analysts", () => {
    expect(canOpenPatient("clinic-lead")).toBe(true);
    expect(canOpenPatient("quality")).toBe(false);
    expect(canOpenPatient("dermatologist")).toBe(false);
  });
});
