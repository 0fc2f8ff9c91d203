import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateCohort } from "./index";
import { writeCohortNdjson } from "./ndjson-writer";

const dirs: string[] = [];
async function writeTo(seed: number, patients = 60, asOf?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "cohort-test-"));
  dirs.push(dir);
  await writeCohortNdjson({ patients, seed, ...(asOf ? { asOf } : {}) }, dir);
  return dir;
}
async function readAll(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(path.join(dir, name), "utf8");
  return out;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("cohort determinism", () => {
  it("writes byte-identical files for the same seed", async () => {
    const first = await readAll(await writeTo(42));
    const second = await readAll(await writeTo(42));
    expect(Object.keys(first)).toEqual(Object.keys(second));
    expect(Object.keys(first)).toEqual(
      expect.arrayContaining(["Patient.ndjson", "Observation.ndjson", "MedicationStatement.ndjson", "MedicationRequest.ndjson", "Group.ndjson", "expected.ndjson", "cohort.json"]),
    );
    for (const name of Object.keys(first)) expect(second[name], name).toBe(first[name]);
  });

  it("writes different data for a different seed, but the same showcase patients", async () => {
    const a = await readAll(await writeTo(42));
    const b = await readAll(await writeTo(43));
    expect(b["Observation.ndjson"]).not.toBe(a["Observation.ndjson"]);
    expect(b["expected.ndjson"]).not.toBe(a["expected.ndjson"]);
    const showcaseLines = (text: string | undefined) => (text ?? "").split("\n").filter((l) => /"pt-00000[1-8]/.test(l));
    expect(showcaseLines(b["Observation.ndjson"])).toEqual(showcaseLines(a["Observation.ndjson"]));
  });

  it("writes the manifest with seed, size, asOf and generator version", async () => {
    const files = await readAll(await writeTo(5, 10, "2026-06-30"));
    expect(JSON.parse(files["cohort.json"] ?? "{}")).toEqual({ seed: 5, patients: 10, asOf: "2026-06-30", generatorVersion: expect.any(String) });
    expect((files["expected.ndjson"] ?? "").trim().split("\n")).toHaveLength(10);
    expect((files["Patient.ndjson"] ?? "").trim().split("\n")).toHaveLength(10);
  });

  it("makes a smaller cohort a prefix of a larger one", () => {
    const small = [...generateCohort({ patients: 20, seed: 9 })];
    const large = [...generateCohort({ patients: 40, seed: 9 })];
    expect(JSON.stringify(large.slice(0, 20))).toBe(JSON.stringify(small));
  });
});
