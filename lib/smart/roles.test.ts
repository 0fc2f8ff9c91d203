import { describe, expect, it } from "vitest";
import {
  APP_ROLE_SYSTEM,
  canonicalIssuer,
  EMPTY_ROLE_MAPPING,
  landingPath,
  mappedRoleOf,
  parseRoleMapping,
  roleFromPractitionerRole,
  RoleMappingError,
  roleMappingFromEnv,
} from "./roles";

const SCT = "http://snomed.info/sct";
const practitionerRole = (...codings: Array<{ system?: string; code?: string; display?: string }>) => ({ resourceType: "PractitionerRole", code: [{ coding: codings }] });

describe("ROLE_MAPPING", () => {
  it("maps bare codes and system|code keys to app roles", () => {
    const mapping = parseRoleMapping(JSON.stringify({ MD: "dermatologist", [`${SCT}|309343006`]: "clinic-lead", AUD: "quality", "urn:site:roles|it-admin": "admin" }));
    expect([...mapping.byCode]).toEqual([
      ["MD", "dermatologist"],
      ["AUD", "quality"],
    ]);
    expect([...mapping.bySystemCode]).toEqual([
      [`${SCT}|309343006`, "clinic-lead"],
      ["urn:site:roles|it-admin", "admin"],
    ]);
  });

  it("is empty when unset or blank", () => {
    expect(parseRoleMapping(undefined)).toBe(EMPTY_ROLE_MAPPING);
    expect(parseRoleMapping("  ")).toBe(EMPTY_ROLE_MAPPING);
    expect(roleMappingFromEnv({})).toBe(EMPTY_ROLE_MAPPING);
  });

  it("refuses malformed mappings with a message that says what is wrong", () => {
    expect(() => parseRoleMapping("{MD: dermatologist}")).toThrow(/ROLE_MAPPING is not valid JSON/);
    expect(() => parseRoleMapping('["MD"]')).toThrow(/must be a JSON object/);
    expect(() => parseRoleMapping('"MD"')).toThrow(RoleMappingError);
    expect(() => parseRoleMapping('{"MD": "doctor"}')).toThrow(/ROLE_MAPPING\["MD"\] is "doctor", not one of dermatologist, clinic-lead, quality, admin/);
    expect(() => parseRoleMapping('{"MD": null}')).toThrow(/is null/);
    expect(() => parseRoleMapping('{"a|b|c": "quality"}')).toThrow(/not a code or "system\|code"/);
    expect(() => parseRoleMapping('{"|MD": "quality"}')).toThrow(/not a code/);
    expect(() => parseRoleMapping('{" MD": "quality"}')).toThrow(/not a code/);
    expect(() => roleMappingFromEnv({ ROLE_MAPPING: "{" })).toThrow(RoleMappingError);
  });
});

describe("role from a PractitionerRole's codes", () => {
  const mapping = parseRoleMapping(JSON.stringify({ MD: "dermatologist", [`${SCT}|309343006`]: "clinic-lead", "urn:site:roles|it-admin": "admin" }));

  it("matches system|code exactly, before a bare code in any system", () => {
    expect(mappedRoleOf(practitionerRole({ system: SCT, code: "309343006" }), mapping)).toBe("clinic-lead");
    expect(mappedRoleOf(practitionerRole({ system: "urn:other", code: "309343006" }), mapping)).toBeNull();
    expect(mappedRoleOf(practitionerRole({ system: "urn:any", code: "MD" }, { system: SCT, code: "309343006" }), mapping)).toBe("clinic-lead");
    expect(mappedRoleOf(practitionerRole({ system: "urn:any", code: "MD" }), mapping)).toBe("dermatologist");
    expect(mappedRoleOf(practitionerRole({ code: "md" }), mapping)).toBeNull();
  });

  it("knows the app's own CodeSystem without a mapping, and a site mapping overrides it", () => {
    expect(mappedRoleOf(practitionerRole({ system: APP_ROLE_SYSTEM, code: "admin" }), EMPTY_ROLE_MAPPING)).toBe("admin");
    expect(mappedRoleOf(practitionerRole({ system: APP_ROLE_SYSTEM, code: "nurse" }), EMPTY_ROLE_MAPPING)).toBeNull();
    const override = parseRoleMapping(JSON.stringify({ [`${APP_ROLE_SYSTEM}|quality`]: "clinic-lead" }));
    expect(mappedRoleOf(practitionerRole({ system: APP_ROLE_SYSTEM, code: "quality" }), override)).toBe("clinic-lead");
  });

  it("gives admin only through the app's CodeSystem or a mapping, never by the word (administrative staff)", () => {
    expect(roleFromPractitionerRole(practitionerRole({ code: "admin", display: "Admin" }))).toBeNull();
    expect(roleFromPractitionerRole({ code: [{ text: "admin" }] })).toBeNull();
    expect(mappedRoleOf(practitionerRole({ system: "urn:site:roles", code: "it-admin" }), mapping)).toBe("admin");
    expect(roleFromPractitionerRole(practitionerRole({ code: "admin" }, { display: "Dermatologist" }))).toBe("dermatologist");
  });

  it("still matches the built-in words", () => {
    expect(roleFromPractitionerRole({ code: [{ text: "Clinical lead, dermatology" }] })).toBe("clinic-lead");
    expect(roleFromPractitionerRole({ code: [{ coding: [{ display: "Consultant dermatologist" }] }] })).toBe("dermatologist");
    expect(roleFromPractitionerRole({ code: [{ text: "Nurse" }] })).toBeNull();
    expect(roleFromPractitionerRole({ code: "not-an-array" })).toBeNull();
    expect(roleFromPractitionerRole(null)).toBeNull();
  });
});

describe("landing after a launch", () => {
  it("opens the patient view only for roles that may open it, else the role's home", () => {
    expect(landingPath("p1", "dermatologist")).toBe("/patients/p1");
    expect(landingPath("p1", "clinic-lead")).toBe("/patients/p1");
    expect(landingPath("p1", "quality")).toBe("/reports");
    expect(landingPath("p1", "admin")).toBe("/admin");
    expect(landingPath(null, "admin")).toBe("/admin");
    expect(landingPath("p1", null)).toBe("/relaunch?reason=no-patient");
    expect(landingPath(null, "dermatologist")).toBe("/relaunch?reason=no-patient");
  });

  it("keys issuers without trailing slashes", () => {
    expect(canonicalIssuer("https://ehr.test/fhir//")).toBe("https://ehr.test/fhir");
    expect(canonicalIssuer(" https://ehr.test/fhir ")).toBe("https://ehr.test/fhir");
  });
});
