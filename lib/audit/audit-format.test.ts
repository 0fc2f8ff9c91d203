import { describe, expect, it } from "vitest";
import { auditDetailPairs, auditRangeText, formatAuditTime } from "./audit-format";

describe("audit formatting", () => {
  it("writes times in UTC to the second", () => {
    expect(formatAuditTime("2026-11-30T08:12:54.123Z")).toBe("2026-11-30 08:12:54 UTC");
    expect(formatAuditTime("not a time")).toBe("not a time");
  });

  it("writes the detail as key=value pairs, nested objects and lists inline, long values cut", () => {
    expect(auditDetailPairs({ measureId: "easi-75", period: { from: "2026-01-01", to: "2026-06-30" }, ruleIds: ["a", "b"], shared: false, error: null, long: "x".repeat(200) }, 20)).toEqual([
      { key: "measureId", value: "easi-75" },
      { key: "period", value: "{from=2026-01-01 to…" },
      { key: "ruleIds", value: "a,b" },
      { key: "shared", value: "false" },
      { key: "error", value: "null" },
      { key: "long", value: `${"x".repeat(19)}…` },
    ]);
  });

  it("says which entries a page holds", () => {
    expect(auditRangeText(1, 50, 0)).toBe("No entries");
    expect(auditRangeText(2, 50, 1234)).toBe("51-100 of 1,234");
    expect(auditRangeText(25, 50, 1234)).toBe("1,201-1,234 of 1,234");
    expect(auditRangeText(30, 50, 1234)).toBe("Page 30 is past the last entry (1,234 in all)");
  });
});
