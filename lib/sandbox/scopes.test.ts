import { describe, expect, it } from "vitest";
import { decideAccess, isKnownScope, parseResourceScope, scopeCovers, type ResourceScope } from "./scopes";

function scopes(...raw: string[]): ResourceScope[] {
  return raw.map((scope) => {
    const parsed = parseResourceScope(scope);
    if (!parsed) throw new Error(`unparsable ${scope}`);
    return parsed;
  });
}

describe("SMART scopes", () => {
  it("reads v2 permissions and maps v1 read/write/* to them", () => {
    expect([...(parseResourceScope("patient/Observation.rs")?.permissions ?? [])]).toEqual(["r", "s"]);
    expect([...(parseResourceScope("user/*.read")?.permissions ?? [])]).toEqual(["r", "s"]);
    expect([...(parseResourceScope("system/*.write")?.permissions ?? [])]).toEqual(["c", "u", "d"]);
    expect([...(parseResourceScope("user/*.*")?.permissions ?? [])]).toEqual(["c", "r", "u", "d", "s"]);
  });

  it("rejects permissions out of the c r u d s order and unknown contexts", () => {
    expect(parseResourceScope("patient/Observation.sr")).toBeUndefined();
    expect(parseResourceScope("admin/*.rs")).toBeUndefined();
    expect(isKnownScope("launch/patient")).toBe(true);
    expect(isKnownScope("superuser")).toBe(false);
  });

  it("keeps a granular query restriction", () => {
    expect(parseResourceScope("patient/Observation.rs?category=laboratory")?.query).toBe("category=laboratory");
  });

  it("limits patient-level grants to the compartment and lets user or system grants win", () => {
    expect(decideAccess(scopes("patient/*.rs"), "Observation", "s")).toEqual({ unrestricted: false, patientOnly: true, queries: [] });
    expect(decideAccess(scopes("patient/*.rs", "user/Observation.rs"), "Observation", "r")?.patientOnly).toBe(false);
    expect(decideAccess(scopes("patient/*.rs", "user/Observation.rs"), "Condition", "r")?.patientOnly).toBe(true);
  });

  it("refuses what no scope grants: another type, or a write with read scopes", () => {
    expect(decideAccess(scopes("patient/Observation.rs"), "MedicationRequest", "r")).toBeUndefined();
    expect(decideAccess(scopes("user/*.rs"), "Observation", "c")).toBeUndefined();
  });

  it("drops query restrictions when any granting scope has none", () => {
    expect(decideAccess(scopes("patient/Observation.rs?category=laboratory", "patient/Observation.rs"), "Observation", "s")?.queries).toEqual([]);
    expect(decideAccess(scopes("patient/Observation.rs?category=laboratory"), "Observation", "s")?.queries).toEqual(["category=laboratory"]);
  });
});

describe("registered scope limits", () => {
  it("covers narrower requests of the same context and refuses wider ones", () => {
    expect(scopeCovers("system/*.rs", "system/Observation.rs")).toBe(true);
    expect(scopeCovers("system/*.rs", "system/Observation.r")).toBe(true);
    expect(scopeCovers("system/*.read", "system/Patient.rs")).toBe(true);
    expect(scopeCovers("system/Patient.rs", "system/Observation.rs")).toBe(false);
    expect(scopeCovers("system/*.rs", "system/*.cruds")).toBe(false);
    expect(scopeCovers("user/*.rs", "system/*.rs")).toBe(false);
    expect(scopeCovers("openid", "openid")).toBe(true);
    expect(scopeCovers("*", "launch")).toBe(true);
  });
});
