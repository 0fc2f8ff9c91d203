import { describe, expect, it } from "vitest";
import { LAB_ORDER_CODES, LOINC_SYSTEM, labOrderSuggestions, labServiceRequests, requirementLab } from "./lab-orders";

function counter(): () => string {
  let n = 0;
  return () => `s${++n}`;
}

describe("lab orders", () => {
  it("every requirement orders the LOINC codes of clinical-reference section 2", () => {
    const codes = Object.fromEntries(Object.entries(LAB_ORDER_CODES).map(([lab, list]) => [lab, list.map((c) => c.code)]));
    expect(codes).toEqual({
      "tb-screen": ["71773-6"],
      "hbv-screen": ["5196-1", "16933-4"],
      "hcv-screen": ["16128-1"],
      cbc: ["58410-2", "751-8", "731-0"],
      liver: ["1742-6", "1920-8"],
      lipids: ["57698-3"],
      pregnancy: ["21198-7"],
    });
  });

  it("a requirement becomes draft proposal ServiceRequests for the patient, one per code, with the reason", () => {
    const requests = labServiceRequests("hbv-screen", "p9", "Baseline screening for upadacitinib");
    expect(requests).toHaveLength(2);
    for (const r of requests) {
      expect(r).toMatchObject({ resourceType: "ServiceRequest", status: "draft", intent: "proposal", subject: { reference: "Patient/p9" }, reasonCode: [{ text: "Baseline screening for upadacitinib" }] });
      expect(r.code?.coding?.[0]?.system).toBe(LOINC_SYSTEM);
      expect(r).not.toHaveProperty("authoredOn");
    }
    expect(requests.map((r) => r.code?.coding?.[0]?.code)).toEqual(["5196-1", "16933-4"]);
  });

  it("suggestions order all labs first (recommended), then each lab alone, without duplicates", () => {
    const suggestions = labOrderSuggestions(["tb-screen", "cbc", "tb-screen"], { patientId: "p9", uuid: counter(), allLabel: "Order the missing baseline labs", reason: "r" });
    expect(suggestions.map((s) => [s.label, s.isRecommended, s.uuid, s.actions?.length])).toEqual([
      ["Order the missing baseline labs", true, "s1", 4],
      ["Order TB screening (IGRA)", false, "s2", 1],
      ["Order CBC with ANC, ALC, hemoglobin and platelets", false, "s3", 3],
    ]);
    expect(suggestions[0]!.actions!.map((a) => [a.type, a.description])).toEqual([
      ["create", "Order IGRA (LOINC 71773-6)"],
      ["create", "Order CBC (LOINC 58410-2)"],
      ["create", "Order ANC (LOINC 751-8)"],
      ["create", "Order ALC (LOINC 731-0)"],
    ]);
  });

  it("a single lab gives one recommended suggestion named after it, and no labs none", () => {
    expect(labOrderSuggestions(["lipids"], { patientId: "p9", uuid: counter(), allLabel: "Order the overdue labs", reason: "r" }).map((s) => [s.label, s.isRecommended])).toEqual([["Order lipid panel", true]]);
    expect(labOrderSuggestions([], { patientId: "p9", uuid: counter(), allLabel: "x", reason: "r" })).toEqual([]);
  });

  it("requirement ids are read as their lab; unknown labs are null", () => {
    expect(requirementLab("baseline:tb-screen")).toBe("tb-screen");
    expect(requirementLab("periodic:cbc")).toBe("cbc");
    expect(requirementLab("baseline:x-ray")).toBeNull();
  });
});
