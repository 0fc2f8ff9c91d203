/**
 * The two-stage engine on the generated cohort (lib/sandbox/cohort): each patient prepared once without a date,
 * stored as JSON, and evaluated before, at the start of, during and after each of its courses and at fixed dates
 * equals evaluatePatient at those dates, with and without details, as the panel and the patient view ask.
 */
import { describe, expect, it } from "vitest";
import { addDays } from "./dates";
import { evaluatePatient } from "./evaluate";
import { evaluatePrepared, preparePatient, type PreparedPatient } from "./prepare";
import { generateCohort } from "../sandbox/cohort/index";

const FIXED_DATES = ["2024-06-01", "2026-01-15", "2026-11-01", "2027-09-01"];

describe("prepared input on the generated cohort", () => {
  it("evaluates like the resources at dates before, during and after every course", () => {
    let compared = 0;
    let courses = 0;
    for (const { patientId, resources, expected } of generateCohort({ patients: 240, seed: 29, asOf: "2026-11-01" })) {
      const dates = new Set(FIXED_DATES);
      for (const course of expected.courses) {
        for (const offset of [-30, 0, 27, 120]) dates.add(addDays(course.start, offset));
      }
      for (const details of [false, true]) {
        const prepared = JSON.parse(JSON.stringify(preparePatient(resources, { patientId, details }))) as PreparedPatient;
        for (const asOf of dates) {
          const direct = evaluatePatient(resources, { asOf, patientId, details, facts: true });
          expect(JSON.stringify(evaluatePrepared(prepared, { asOf, details, facts: true })), `${patientId} at ${asOf}`).toBe(JSON.stringify(direct));
          compared++;
          courses += direct.courses.length;
        }
      }
    }
    expect(compared).toBeGreaterThan(240 * 2 * FIXED_DATES.length);
    expect(courses).toBeGreaterThan(500);
  });
});
