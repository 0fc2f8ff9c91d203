import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateKeyPair, exportJWK, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultScope, loadSourceConfigs, SYNC_TYPES } from "./sources";

let privateJwk: JWK;
let dir: string;

beforeAll(async () => {
  const { privateKey } = await generateKeyPair("ES384", { extractable: true });
  privateJwk = { ...(await exportJWK(privateKey)), kid: "k1", alg: "ES384" };
  dir = mkdtempSync(path.join(tmpdir(), "ejm-sources-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const minimal = () => ({ id: "clinic-a", fhirBase: "https://ehr.example/fhir/r4/", clientId: "app", privateJwk });

describe("loadSourceConfigs", () => {
  it("has no sources when nothing is configured", () => {
    expect(loadSourceConfigs({})).toEqual([]);
  });

  it("fills defaults: group export of jak-panel, the sync types, scopes from the types, the clinic's time zone", () => {
    const [source] = loadSourceConfigs({ SYNC_SOURCES: JSON.stringify([minimal()]), CLINIC_TIMEZONE: "Europe/Berlin" });
    expect(source).toEqual({
      id: "clinic-a",
      name: "clinic-a",
      fhirBase: "https://ehr.example/fhir/r4",
      clientId: "app",
      groupId: "jak-panel",
      exportLevel: "group",
      timezone: "Europe/Berlin",
      types: SYNC_TYPES,
      privateJwk,
      scope: defaultScope(SYNC_TYPES, "group"),
      enabled: true,
    });
    expect(source?.scope.split(" ")).toContain("system/Observation.rs");
    expect(source?.scope.split(" ")).toContain("system/Medication.rs");
  });

  it("defaults the time zone to UTC and has no Group at system level", () => {
    const [source] = loadSourceConfigs({ SYNC_SOURCES: JSON.stringify([{ ...minimal(), exportLevel: "system", types: ["Patient"] }]) });
    expect(source?.timezone).toBe("UTC");
    expect(source?.groupId).toBeNull();
    expect(source?.scope).toBe("system/Patient.rs");
  });

  it("accepts the key as a JSON string or a file, and the sources from a file", () => {
    const keyFile = path.join(dir, "key.json");
    writeFileSync(keyFile, JSON.stringify(privateJwk));
    const sourcesFile = path.join(dir, "sources.json");
    writeFileSync(
      sourcesFile,
      JSON.stringify({ sources: [{ ...minimal(), privateJwk: undefined, privateJwkFile: keyFile }, { ...minimal(), id: "b", privateJwk: JSON.stringify(privateJwk) }] }),
    );
    const sources = loadSourceConfigs({ SYNC_SOURCES_FILE: sourcesFile });
    expect(sources.map((source) => source.id)).toEqual(["clinic-a", "b"]);
    expect(sources.every((source) => source.privateJwk.kid === "k1")).toBe(true);
  });

  it("names the bad field", () => {
    const load = (value: unknown, env: Record<string, string> = {}) => () => loadSourceConfigs({ SYNC_SOURCES: JSON.stringify(value), ...env });
    expect(load([{ ...minimal(), fhirBase: "not a url" }])).toThrow(/^SYNC_SOURCES\[0\]\.fhirBase: /);
    expect(load([minimal(), { ...minimal(), clientId: "" }])).toThrow(/^SYNC_SOURCES\[1\]\.clientId: /);
    expect(load([{ ...minimal(), privateJwk: undefined }])).toThrow(/^SYNC_SOURCES\[0\]\.privateJwk: is required/);
    expect(load([{ ...minimal(), privateJwk: { ...privateJwk, d: undefined } }])).toThrow(/SYNC_SOURCES\[0\]\.privateJwk/);
    expect(load([{ ...minimal(), privateJwk: { ...privateJwk, alg: "RS256" } }])).toThrow(/alg must be RS384 or ES384/);
    expect(load([{ ...minimal(), timezone: "Mars/Olympus" }])).toThrow(/^SYNC_SOURCES\[0\]\.timezone: /);
    expect(load([{ ...minimal(), exportLevel: "everything" }])).toThrow(/^SYNC_SOURCES\[0\]\.exportLevel: /);
    expect(load([{ ...minimal(), exportLevel: "system", groupId: "g" }])).toThrow(/^SYNC_SOURCES\[0\]\.groupId: /);
    expect(load([{ ...minimal(), surprise: 1 }])).toThrow(/^SYNC_SOURCES\[0\]/);
    expect(load([minimal(), minimal()])).toThrow(/^SYNC_SOURCES\[1\]\.id: "clinic-a" is used by another source/);
    expect(load({ not: "a list" })).toThrow(/^SYNC_SOURCES: must be a JSON array/);
    expect(() => loadSourceConfigs({ SYNC_SOURCES: "[{" })).toThrow(/^SYNC_SOURCES: is not valid JSON/);
    expect(() => loadSourceConfigs({ SYNC_SOURCES_FILE: path.join(dir, "missing.json") })).toThrow(/^SYNC_SOURCES_FILE: cannot read/);
    expect(load([minimal()], { CLINIC_TIMEZONE: "Nowhere/Land" })).toThrow(/^CLINIC_TIMEZONE: /);
  });

  it("never puts key material in an error", () => {
    const leaky = { ...minimal(), privateJwk: { ...privateJwk, alg: "HS256" } };
    try {
      loadSourceConfigs({ SYNC_SOURCES: JSON.stringify([leaky]) });
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(String(privateJwk.d));
    }
  });
});
