import type { Observation, Resource } from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { generateCohort } from "./index";

// Written by hand from the stories in README.md (not computed by the oracle), for asOf 2026-11-01.
const EXPECTED = [
  {
    patientId: "pt-000001",
    asOf: "2026-11-01",
    archetype: "responder",
    courses: [
      {
        drug: "upadacitinib",
        route: "oral",
        start: "2026-06-04",
        checkpoints: { "2": "responded", "4": "responded", "12": "responded", "16": "responded" },
        labs: { "baseline:tb-screen": "done", "baseline:hbv-screen": "done", "baseline:hcv-screen": "done", "baseline:cbc": "done", "baseline:liver": "done", "week-12:lipids": "done" },
      },
    ],
    flagKinds: [],
  },
  {
    patientId: "pt-000002",
    asOf: "2026-11-01",
    archetype: "non-responder",
    courses: [
      {
        drug: "abrocitinib",
        route: "oral",
        start: "2026-05-25",
        checkpoints: { "2": "not-responded", "4": "not-responded", "12": "not-responded", "16": "not-responded", "24": "open" },
        labs: {
          "baseline:tb-screen": "done",
          "baseline:hbv-screen": "done",
          "baseline:hcv-screen": "done",
          "baseline:cbc": "done",
          "baseline:lipids": "done",
          "week-4:cbc": "overdue",
          "week-4:lipids": "overdue",
        },
      },
    ],
    flagKinds: ["non-response", "early-signal", "overdue-lab", "vaccination"],
  },
  {
    patientId: "pt-000003",
    asOf: "2026-11-01",
    archetype: "responder",
    courses: [{ drug: "ruxolitinib-cream", route: "topical", start: "2026-08-18", checkpoints: { "2": "responded", "4": "responded", "8": "responded" }, labs: {} }],
    flagKinds: [],
  },
  {
    patientId: "pt-000004",
    asOf: "2026-11-01",
    archetype: "responder",
    courses: [
      {
        drug: "baricitinib",
        route: "oral",
        start: "2026-07-24",
        checkpoints: { "2": "not-responded", "4": "responded", "8": "responded", "16": "open" },
        labs: { "baseline:tb-screen": "missing", "baseline:hbv-screen": "done", "baseline:hcv-screen": "done", "baseline:cbc": "done", "baseline:liver": "done", "week-12:lipids": "due" },
      },
    ],
    flagKinds: ["early-signal", "missing-lab", "abnormal-lab", "vaccination"],
  },
  { patientId: "pt-000005", asOf: "2026-11-01", archetype: "no-jak", courses: [], flagKinds: [] },
  {
    patientId: "pt-000006",
    asOf: "2026-11-01",
    archetype: "switch",
    courses: [
      {
        drug: "upadacitinib",
        route: "oral",
        start: "2026-02-14",
        checkpoints: { "2": "not-responded", "4": "not-responded", "12": "not-responded", "16": "not-responded" },
        labs: { "baseline:tb-screen": "done", "baseline:hbv-screen": "done", "baseline:hcv-screen": "done", "baseline:cbc": "done", "baseline:liver": "done", "week-12:lipids": "done" },
      },
      {
        drug: "abrocitinib",
        route: "oral",
        start: "2026-07-14",
        checkpoints: { "2": "responded", "4": "responded", "12": "responded", "16": "open", "24": "not-due" },
        labs: {
          "baseline:tb-screen": "done",
          "baseline:hbv-screen": "done",
          "baseline:hcv-screen": "done",
          "baseline:cbc": "done",
          "baseline:lipids": "done",
          "week-4:cbc": "done",
          "week-4:lipids": "done",
        },
      },
    ],
    flagKinds: ["vaccination"],
  },
  {
    patientId: "pt-000007",
    asOf: "2026-11-01",
    archetype: "responder",
    courses: [
      {
        drug: "upadacitinib",
        route: "oral",
        start: "2024-05-15",
        checkpoints: { "2": "responded", "4": "responded", "12": "responded", "16": "responded" },
        labs: {
          "baseline:tb-screen": "done",
          "baseline:hbv-screen": "done",
          "baseline:hcv-screen": "done",
          "baseline:cbc": "done",
          "baseline:liver": "done",
          "baseline:pregnancy": "done",
          "week-12:lipids": "done",
        },
      },
    ],
    flagKinds: [],
  },
  {
    patientId: "pt-000008",
    asOf: "2026-11-01",
    archetype: "partial",
    courses: [
      {
        drug: "upadacitinib",
        route: "oral",
        start: "2026-07-04",
        checkpoints: { "2": "not-responded", "4": "responded", "12": "responded", "16": "responded" },
        labs: {
          "baseline:tb-screen": "done",
          "baseline:hbv-screen": "done",
          "baseline:hcv-screen": "done",
          "baseline:cbc": "done",
          "baseline:liver": "done",
          "baseline:pregnancy": "done",
          "week-12:lipids": "done",
        },
      },
    ],
    flagKinds: ["early-signal", "vaccination"],
  },
];

const showcase = [...generateCohort({ patients: 8, seed: 1 })];
const byId = new Map(showcase.map((p) => [p.patientId, p]));
const observations = (id: string) => (byId.get(id)?.resources ?? []).filter((r): r is Observation => r.resourceType === "Observation");
const hasCode = (o: Observation, code: string) => o.code?.coding?.some((c) => c.code === code) ?? false;
const medicationText = (r: Resource) => JSON.stringify(r).toLowerCase();

describe("showcase patients", () => {
  it("carry the documented expectations exactly", () => {
    expect(showcase.map((p) => p.expected)).toEqual(EXPECTED);
  });

  it("are the same whatever the seed", () => {
    const other = [...generateCohort({ patients: 8, seed: 999 })];
    expect(JSON.stringify(other)).toBe(JSON.stringify(showcase));
  });

  it("pt-000001 has early itch relief and an entered-in-error EASI beside the real week-16 one", () => {
    const itch = observations("pt-000001").filter((o) => hasCode(o, "itch-nrs") && o.effectiveDateTime?.startsWith("2026-06-17"));
    expect(itch.map((o) => o.valueQuantity?.value)).toEqual([3]);
    const week16 = observations("pt-000001").filter((o) => hasCode(o, "easi") && o.effectiveDateTime?.startsWith("2026-09-24"));
    expect(week16.map((o) => [o.status, o.valueQuantity?.value])).toEqual([["final", 3.6], ["entered-in-error", 18]]);
  });

  it("pt-000004 has no TB test and a neutrophil count below 1.0 x10*9/L", () => {
    const obs = observations("pt-000004");
    expect(obs.some((o) => hasCode(o, "71773-6"))).toBe(false);
    const low = obs.filter((o) => hasCode(o, "751-8") && (o.valueQuantity?.value ?? 99) < 1);
    expect(low).toHaveLength(1);
    expect(low[0]?.valueQuantity?.code).toBe("10*9/L");
  });

  it("pt-000003 keeps BSA within 20 % and orders 60 g of cream per 2 weeks", () => {
    const bsa = observations("pt-000003").filter((o) => hasCode(o, "bsa-percent")).map((o) => o.valueQuantity?.value ?? 0);
    expect(Math.max(...bsa)).toBeLessThanOrEqual(20);
    const request = byId.get("pt-000003")?.resources.find((r) => r.resourceType === "MedicationRequest" && medicationText(r).includes("ruxolitinib"));
    expect(request).toMatchObject({ dispenseRequest: { quantity: { value: 60, code: "g" }, expectedSupplyDuration: { value: 14, code: "d" } } });
  });

  it("pt-000005 has dupilumab and no JAK inhibitor", () => {
    const meds = (byId.get("pt-000005")?.resources ?? []).filter((r) => r.resourceType.startsWith("Medication")).map(medicationText);
    expect(meds.some((m) => m.includes("dupilumab"))).toBe(true);
    expect(meds.some((m) => /upadacitinib|abrocitinib|baricitinib|ruxolitinib/.test(m))).toBe(false);
  });

  it("pt-000007 spans three years with hundreds of observations", () => {
    const dates = observations("pt-000007").map((o) => o.effectiveDateTime ?? "").sort();
    expect(dates.length).toBeGreaterThan(500);
    expect(dates[0]! < "2023-11-15").toBe(true);
    expect(dates[dates.length - 1]! >= "2026-10-31").toBe(true);
  });

  it("pt-000008 keeps a daily itch diary", () => {
    const diary = observations("pt-000008").filter((o) => hasCode(o, "itch-nrs"));
    expect(diary.length).toBeGreaterThanOrEqual(120);
    expect(new Set(diary.map((o) => o.effectiveDateTime?.slice(0, 10))).size).toBe(diary.length);
  });
});
