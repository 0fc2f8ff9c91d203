/**
 * Cross-check at several seeds and asOf dates: every expectation the generator lists is what the engine
 * (lib/clinical) computes from the generated resources. A disagreement is a bug on one side or the other;
 * the message names the patient, course, checkpoint or requirement to look at.
 */
import { describe, expect, it } from "vitest";
import { evaluatePatient } from "../../clinical/evaluate";
import { generateCohort } from "./index";

function disagreements(patients: number, seed: number, asOf: string): { checks: number; problems: string[] } {
  let checks = 0;
  const problems: string[] = [];
  for (const { patientId, resources, expected } of generateCohort({ patients, seed, asOf })) {
    const evaluation = evaluatePatient(resources, { asOf, patientId });
    const where = `${seed}/${asOf} ${patientId} (${expected.archetype})`;
    checks++;
    if (evaluation.courses.length !== expected.courses.length) {
      problems.push(`${where}: ${expected.courses.length} courses expected, ${evaluation.courses.length} found`);
      continue;
    }
    expected.courses.forEach((course, i) => {
      const found = evaluation.courses[i]!;
      checks++;
      if (found.drug !== course.drug || found.route !== course.route || found.start !== course.start) {
        problems.push(`${where} course ${i}: ${course.drug}/${course.start} expected, ${found.drug}/${found.start} found`);
      }
      for (const [week, verdict] of Object.entries(course.checkpoints)) {
        checks++;
        const got = found.checkpoints.find((c) => String(c.week) === week)?.verdict;
        if (got !== verdict) problems.push(`${where} course ${i} week ${week}: ${verdict} expected, ${got} found`);
      }
      for (const [requirement, status] of Object.entries(course.labs)) {
        checks++;
        const got = found.labs.find((l) => l.requirement === requirement)?.status;
        if (got !== status) problems.push(`${where} course ${i} ${requirement}: ${status} expected, ${got} found`);
      }
    });
    for (const kind of expected.flagKinds) {
      checks++;
      if (!evaluation.flags.some((f) => f.kind === kind)) problems.push(`${where}: a ${kind} flag expected`);
    }
  }
  return { checks, problems };
}

describe("generator expectations agree with the engine", () => {
  for (const [seed, asOf] of [
    [11, "2026-11-01"],
    [12, "2025-08-20"],
    [13, "2027-03-01"],
  ] as const) {
    it(`seed ${seed}, as of ${asOf}`, () => {
      const { checks, problems } = disagreements(1200, seed, asOf);
      expect(problems.slice(0, 20)).toEqual([]);
      expect(checks).toBeGreaterThan(1200 * 10);
    });
  }
});
