/**
 * End to end: the generator's cohort, written as Bulk-Data NDJSON with its side file expected.ndjson,
 * read by the evaluate CLI's reader and evaluated by the engine, matches every expectation: the courses
 * (drug, route, start), each listed checkpoint verdict and lab status, and each listed flag kind.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateResources } from "../clinical/evaluate";
import type { EngineOutput, PatientEvaluation } from "../clinical/types";
import type { CohortExpectation } from "../sandbox/cohort/index";
import { writeCohortNdjson } from "../sandbox/cohort/ndjson-writer";
import { readInput } from "./evaluate";

const AS_OF = "2026-11-01";
const PATIENTS = 1500;
let dir = "";
let output: EngineOutput;
let expectations: CohortExpectation[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cohort-engine-"));
  await writeCohortNdjson({ patients: PATIENTS, seed: 42, asOf: AS_OF }, dir);
  const warnings: string[] = [];
  const read = await readInput(dir, (line) => warnings.push(line));
  expect(warnings).toEqual([]);
  output = evaluateResources(read.resources, { asOf: AS_OF, details: false });
  expectations = readFileSync(join(dir, "expected.ndjson"), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as CohortExpectation);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("generator cohort evaluated by the engine", () => {
  it("has every patient of the side file, and only those, sorted by id", () => {
    expect(expectations.length).toBe(PATIENTS);
    expect(output.patients.map((p) => p.patientId)).toEqual(expectations.map((e) => e.patientId).sort());
  });

  it("matches every expectation of the side file", () => {
    const byId = new Map<string, PatientEvaluation>(output.patients.map((p) => [p.patientId, p]));
    const mismatches: string[] = [];
    let checks = 0;
    for (const e of expectations) {
      const p = byId.get(e.patientId)!;
      const expectedCourses = e.courses;
      checks++;
      if (p.courses.length !== expectedCourses.length) {
        mismatches.push(`${e.patientId} (${e.archetype}): ${expectedCourses.length} courses expected, ${p.courses.length} found`);
        continue;
      }
      expectedCourses.forEach((ec, i) => {
        const c = p.courses[i]!;
        checks++;
        if (c.drug !== ec.drug || c.route !== ec.route || c.start !== ec.start) mismatches.push(`${e.patientId} course ${i}: expected ${ec.drug}/${ec.route}/${ec.start}, got ${c.drug}/${c.route}/${c.start}`);
        for (const [week, verdict] of Object.entries(ec.checkpoints)) {
          checks++;
          const got = c.checkpoints.find((cp) => String(cp.week) === week)?.verdict;
          if (got !== verdict) mismatches.push(`${e.patientId} course ${i} (${c.drug}) week ${week}: expected ${verdict}, got ${got}`);
        }
        for (const [requirement, status] of Object.entries(ec.labs)) {
          checks++;
          const got = c.labs.find((l) => l.requirement === requirement)?.status;
          if (got !== status) mismatches.push(`${e.patientId} course ${i} (${c.drug}) ${requirement}: expected ${status}, got ${got}`);
        }
      });
      for (const kind of e.flagKinds) {
        checks++;
        if (!p.flags.some((f) => f.kind === kind)) mismatches.push(`${e.patientId}: expected a ${kind} flag`);
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(checks).toBeGreaterThan(PATIENTS * 5);
  });

  it("has no course, expected or found, starting after asOf (data after asOf is ignored)", () => {
    for (const e of expectations) for (const c of e.courses) expect(c.start <= AS_OF, `${e.patientId} ${c.drug} ${c.start}`).toBe(true);
    for (const p of output.patients) for (const c of p.courses) expect(c.start <= AS_OF).toBe(true);
  });

  it("finds courses for most patients and never throws an engine error", () => {
    const withCourses = output.patients.filter((p) => p.courses.length > 0).length;
    expect(withCourses).toBeGreaterThan(PATIENTS / 2);
    expect(output.patients.flatMap((p) => p.dataQuality).filter((n) => n.issue === "engine-error")).toEqual([]);
  });
});
