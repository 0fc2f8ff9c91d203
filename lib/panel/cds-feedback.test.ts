import { describe, expect, it } from "vitest";
import { cdsRuleTitle } from "./cds-feedback";

describe("cdsRuleTitle", () => {
  it("names known rules for a person", () => {
    expect(cdsRuleTitle("labs.baseline-missing")).toBe("Baseline lab missing before the JAK inhibitor");
    expect(cdsRuleTitle("abnormal.anc-low")).toBe("Neutrophils below 1.0 x10^3/uL");
  });

  it("names checkpoint rules by drug, week and verdict", () => {
    expect(cdsRuleTitle("upadacitinib.week-16.non-response")).toBe("Upadacitinib week 16: not responded");
    expect(cdsRuleTitle("ruxolitinib-cream.week-2.early-signal")).toBe("Ruxolitinib cream week 2: no early response");
  });

  it("falls back to the rule id for a rule it does not know", () => {
    expect(cdsRuleTitle("site.custom-rule")).toBe("site.custom-rule");
  });
});
