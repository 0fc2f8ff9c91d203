/** The real Synthea transaction Bundle (shared/fixtures): urn:uuid references, no JAK, generic pain. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SYNTHEA_CHILD_AD, sharedFixturePath } from "../testing/shared-fixtures";
import { evaluateResources } from "./evaluate";

describe("Synthea child with atopic dermatitis", () => {
  const bundle: unknown = JSON.parse(readFileSync(sharedFixturePath(SYNTHEA_CHILD_AD), "utf8"));
  const output = evaluateResources([bundle], { asOf: "2026-11-01" });
  const patient = output.patients[0]!;

  it("resolves urn:uuid subjects to the one Patient and reports nothing unattributed", () => {
    expect(output.patients.map((p) => p.patientId)).toEqual(["9161a532-22ea-d5a5-c788-dd8d35643820"]);
    expect(output.dataQuality ?? []).toEqual([]);
  });

  it("finds no JAK course and raises no flag", () => {
    expect(patient.courses).toEqual([]);
    expect(patient.flags).toEqual([]);
  });

  it("does not take generic pain severity (72514-3) for skin pain", () => {
    expect(patient.trends?.pain).toBeUndefined();
    const pain = patient.codeMatches!.find((m) => m.code === "72514-3")!;
    expect(pain).toMatchObject({ concept: null, count: 15, note: "generic pain severity, not skin pain" });
  });

  it("reads its CBC labs and classes the fluticasone inhaler as not eczema therapy", () => {
    expect(patient.codeMatches).toContainEqual(expect.objectContaining({ code: "718-7", concept: "lab:hemoglobin", how: "system-code", count: 2 }));
    expect(patient.codeMatches).toContainEqual(expect.objectContaining({ code: "895996", concept: null, note: "corticosteroid that is not topical" }));
    expect(patient.therapyHistory).toEqual([]);
  });
});
