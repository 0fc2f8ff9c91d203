import { describe, expect, it } from "vitest";
import { auditFiltersDetail, auditQueryString, parseAuditQuery } from "./audit-query";

describe("parseAuditQuery", () => {
  it("reads every filter, the page and the size, and defaults to page 1 of 50", () => {
    const parsed = parseAuditQuery(new URLSearchParams("action=cds.&actor=Practitioner/d1&role=clinic-lead&outcome=refused&from=2026-11-01&to=2026-11-30&page=3&size=100"));
    expect(parsed).toEqual({
      ok: true,
      value: { action: "cds.", actor: "Practitioner/d1", role: "clinic-lead", outcome: "refused", from: "2026-11-01", to: "2026-11-30", page: 3, size: 100 },
    });
    expect(parseAuditQuery(new URLSearchParams(""))).toEqual({ ok: true, value: { page: 1, size: 50 } });
  });

  it("treats empty fields (what an unfilled GET form sends) as absent and takes a Next searchParams object", () => {
    expect(parseAuditQuery({ action: "", actor: "", role: "", outcome: "", from: "", to: "", size: "50" })).toEqual({ ok: true, value: { page: 1, size: 50 } });
    expect(parseAuditQuery({ role: ["admin", "quality"] })).toEqual({ ok: true, value: { role: "admin", page: 1, size: 50 } });
  });

  it("names each rejected parameter: unknown keys, bad outcomes, impossible dates, a range that ends before it starts, sizes above 200", () => {
    const problems = (query: string) => {
      const parsed = parseAuditQuery(new URLSearchParams(query));
      return parsed.ok ? [] : parsed.problems.map((p) => p.param);
    };
    expect(problems("patient=pt-1")).toEqual(["(query)"]);
    expect(problems("outcome=maybe")).toEqual(["outcome"]);
    expect(problems("from=2026-02-30")).toEqual(["from"]);
    expect(problems("from=2026-11-30&to=2026-11-01")).toEqual(["to"]);
    expect(problems("size=500")).toEqual(["size"]);
    expect(problems("page=0")).toEqual(["page"]);
    expect(problems("action=report%20export")).toEqual(["action"]);
  });
});

describe("auditQueryString", () => {
  it("writes the filters back so they parse to the same query, leaving out page 1 and the default size", () => {
    const query = { action: "sync", role: "system", from: "2026-11-01", page: 2, size: 25 };
    const text = auditQueryString(query, { page: true });
    expect(text).toBe("?action=sync&role=system&from=2026-11-01&page=2&size=25");
    expect(parseAuditQuery(new URLSearchParams(text.slice(1)))).toEqual({ ok: true, value: query });
    expect(auditQueryString({ page: 1, size: 50 }, { page: true })).toBe("");
    expect(auditQueryString({ outcome: "failure", page: 4 })).toBe("?outcome=failure");
  });

  it("gives the audit of a read only the filters", () => {
    expect(auditFiltersDetail({ action: "cds.", outcome: "refused" })).toEqual({ action: "cds.", outcome: "refused" });
  });
});
