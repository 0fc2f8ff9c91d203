/** The evaluate CLI: input forms, malformed lines reported per line, exit codes, JSON and CSV output. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main, parseArgs } from "./evaluate";

const dir = mkdtempSync(join(tmpdir(), "evaluate-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let stdout = "";
let stderr = "";
beforeEach(() => {
  stdout = "";
  stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const patient = { resourceType: "Patient", id: "p1", gender: "male", birthDate: "1980-01-01" };
const course = { resourceType: "MedicationRequest", id: "mr1", status: "active", intent: "order", subject: { reference: "Patient/p1" }, authoredOn: "2026-03-02", medicationCodeableConcept: { text: "Rinvoq 15 mg" } };
const easi = (id: string, date: string, value: number) => ({ resourceType: "Observation", id, status: "final", subject: { reference: "Patient/p1" }, code: { coding: [{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument", code: "easi" }] }, effectiveDateTime: date, valueInteger: value });

describe("evaluate CLI", () => {
  it("reports malformed NDJSON lines on stderr and in dataQuality, and evaluates the rest", async () => {
    const file = join(dir, "mixed.ndjson");
    writeFileSync(file, [
      JSON.stringify(patient),
      "{ not json",
      JSON.stringify({ id: "x" }),
      JSON.stringify(course),
      JSON.stringify({ ...easi("o1", "2026-02-28", 20) }),
      JSON.stringify({ ...easi("o2", "2026-06-22", 4) }),
      JSON.stringify({ ...easi("o3", "2026-02-30", 4) }),
      JSON.stringify({ resourceType: "MedicationStatement", id: "ms9", status: "active", medicationCodeableConcept: { text: "Rinvoq" } }),
      "",
    ].join("\n"));
    const code = await main(["--input", file, "--as-of", "2026-08-01"]);
    expect(code).toBe(0);
    expect(stderr).toContain("mixed.ndjson:2: invalid JSON");
    expect(stderr).toContain("mixed.ndjson:3: resource has no resourceType");
    expect(stderr).toContain("mixed.ndjson:7: Observation/o3 effectiveDateTime \"2026-02-30\" is not a valid date");
    expect(stderr).toContain("mixed.ndjson:8: MedicationStatement/ms9 has no subject");
    const out = JSON.parse(stdout);
    expect(Object.keys(out).slice(0, 3)).toEqual(["asOf", "rulesVersion", "patients"]);
    expect(out.asOf).toBe("2026-08-01");
    const p = out.patients[0];
    expect(p.patientId).toBe("p1");
    expect(p.courses[0]).toMatchObject({ drug: "upadacitinib", route: "oral", start: "2026-03-02", end: null, startSource: "MedicationRequest/mr1" });
    expect(p.courses[0].checkpoints.find((c: { week: number }) => c.week === 16).verdict).toBe("responded");
    expect(p.dataQuality).toContainEqual(expect.objectContaining({ resource: "Observation/o3", issue: "invalid-date" }));
    expect(out.dataQuality).toEqual(expect.arrayContaining([
      expect.objectContaining({ issue: "invalid-json" }),
      expect.objectContaining({ issue: "no-resource-type" }),
      expect.objectContaining({ resource: "MedicationStatement/ms9", issue: "no-subject" }),
    ]));
  });

  it("reads a folder of NDJSON files (Bulk Data layout) and lists every patient sorted by id", async () => {
    const folder = join(dir, "bulk");
    mkdirSync(folder);
    writeFileSync(join(folder, "Patient.ndjson"), `${JSON.stringify({ ...patient, id: "p2" })}\n${JSON.stringify(patient)}\n`);
    writeFileSync(join(folder, "MedicationRequest.ndjson"), `${JSON.stringify(course)}\n`);
    expect(await main(["--input", folder, "--as-of", "2026-08-01"])).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.patients.map((p: { patientId: string }) => p.patientId)).toEqual(["p1", "p2"]);
    expect(out.patients[1].courses).toEqual([]);
  });

  it("exits non-zero only when nothing could be read", async () => {
    const file = join(dir, "garbage.ndjson");
    writeFileSync(file, "nope\n{\n");
    expect(await main(["--input", file, "--as-of", "2026-08-01"])).toBe(1);
    expect(stderr).toContain("no FHIR resource could be read");
    expect(await main(["--input", join(dir, "missing.json"), "--as-of", "2026-08-01"])).toBe(1);
  });

  it("prints one CSV row per checkpoint and lab requirement", async () => {
    const file = join(dir, "bundle.json");
    writeFileSync(file, JSON.stringify({ resourceType: "Bundle", type: "collection", entry: [patient, course, easi("o1", "2026-02-28", 20)].map((resource) => ({ resource })) }));
    expect(await main(["--input", file, "--as-of", "2026-08-01", "--format", "csv"])).toBe(0);
    const lines = stdout.trim().split("\r\n");
    expect(lines[0]).toBe("patientId,course,drug,route,courseStart,courseEnd,rowType,item,status,windowStart,windowEnd,easi,iga,itch,pain,easiPercent,easiBand,satisfiedBy");
    expect(lines.filter((l) => l.includes(",checkpoint,")).length).toBe(4); // weeks 2, 4, 12, 16
    expect(lines.some((l) => l.startsWith("p1,0,upadacitinib,oral,2026-03-02,,lab,baseline:tb-screen,missing"))).toBe(true);
  });

  it.each([
    [["--as-of", "2026-01-01"], "--input is required"],
    [["--input", "x", "--as-of", "2026-02-30"], "--as-of"],
    [["--input", "x", "--as-of", "2026-01-01", "--format", "xml"], "--format"],
  ])("rejects bad arguments %j", (argv, message) => {
    expect(parseArgs(argv)).toContain(message);
  });
});
