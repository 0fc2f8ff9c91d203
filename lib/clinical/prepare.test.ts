/**
 * The two-stage engine: a patient prepared once without a date (preparePatient), stored as JSON and evaluated at
 * any asOf (evaluatePrepared) is exactly evaluatePatient at that asOf, which prepares for that date alone (data
 * after it left out as the first stage reads). Fuzzed resources, site mappings and dates; seeded
 * (lib/testing/arbitraries.ts: FUZZ_SEED replays, FUZZ_RUNS runs longer).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzedRecords, fuzzParameters, hostileString, jakPatientRecord } from "../testing/arbitraries";
import { evaluatePatient } from "./evaluate";
import { evaluatePrepared, preparePatient, PREPARED_VERSION, type PreparedPatient } from "./prepare";
import type { CodeMapping } from "./types";

const asOfDate = fc.integer({ min: -400, max: 600 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));

const codeMapping: fc.Arbitrary<CodeMapping> = fc.record({
  system: fc.oneof(fc.constantFrom("http://loinc.org", "urn:site:flowsheet", "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument"), hostileString),
  code: fc.oneof(fc.constantFrom("751-8", "ITCH-1", "8480-6", "easi"), hostileString),
  concept: fc.oneof(fc.constantFrom("measure:itch", "measure:easi", "lab:anc", "drug:upadacitinib", "therapy:x:biologic", "vaccine:zoster", "vaccine:live"), hostileString),
});

/** Through JSON and back, as the database keeps it. */
function stored(prepared: PreparedPatient): PreparedPatient {
  return JSON.parse(JSON.stringify(prepared)) as PreparedPatient;
}

describe("prepared input", () => {
  it("evaluates at every asOf exactly as evaluatePatient does, after a trip through JSON (same values, same key order)", () => {
    const reached = { notesAfterSomeAsOf: 0, courses: 0 };
    fc.assert(
      fc.property(
        fuzzedRecords,
        fc.array(asOfDate, { minLength: 1, maxLength: 4 }),
        fc.array(codeMapping, { maxLength: 2 }),
        fc.boolean(),
        fc.constantFrom(undefined, "p1", "p2", "a"),
        (records, dates, codeMappings, details, patientId) => {
          const options = { codeMappings, details, ...(patientId ? { patientId } : {}) };
          const prepared = stored(preparePatient(records, options));
          for (const asOf of dates) {
            const direct = evaluatePatient(records, { asOf, ...options, facts: true });
            const fromPrepared = evaluatePrepared(prepared, { asOf, details, facts: true });
            expect(fromPrepared).toStrictEqual(direct);
            expect(JSON.stringify(fromPrepared)).toBe(JSON.stringify(direct));
            reached.courses += direct.courses.length;
          }
          if (prepared.n.some((n) => n[3] !== null && dates.some((d) => n[3]! > Date.parse(d) / 86_400_000))) reached.notesAfterSomeAsOf++;
        },
      ),
      fuzzParameters(300),
    );
    // The runs reached courses and notes that only some of the dates see.
    expect(reached.courses).toBeGreaterThan(0);
    expect(reached.notesAfterSomeAsOf).toBeGreaterThan(0);
  });

  it("keeps medication ends, vaccinations and scores after asOf for later dates only", () => {
    fc.assert(
      fc.property(jakPatientRecord, fc.array(asOfDate, { minLength: 2, maxLength: 5 }), (records, dates) => {
        const prepared = stored(preparePatient(records, { details: false }));
        for (const asOf of dates) {
          expect(evaluatePrepared(prepared, { asOf, details: false, facts: true })).toStrictEqual(evaluatePatient(records, { asOf, details: false, facts: true }));
        }
      }),
      fuzzParameters(100),
    );
    const records = [
      { resourceType: "Patient", id: "p1", birthDate: "1990-05-01", gender: "female" },
      {
        resourceType: "MedicationStatement", id: "ms1", status: "completed", subject: { reference: "Patient/p1" },
        medicationCodeableConcept: { coding: [{ system: "http://www.whocc.no/atc", code: "L04AF03" }] }, effectivePeriod: { start: "2026-01-01", end: "2026-06-30" },
      },
    ];
    const prepared = stored(preparePatient(records, { details: false }));
    expect(evaluatePrepared(prepared, { asOf: "2026-03-01", details: false }).courses[0]?.end).toBeNull();
    expect(evaluatePrepared(prepared, { asOf: "2026-08-01", details: false }).courses[0]?.end).toBe("2026-06-30");
    expect(evaluatePrepared(prepared, { asOf: "2025-12-31", details: false }).courses).toEqual([]);
  });

  it("names the patient asked for, or answers empty under that id with the input's notes", () => {
    const prepared = stored(preparePatient([{ resourceType: "Observation", id: "o1" }, 42], { patientId: "nobody" }));
    expect(prepared.none).toBe(1);
    const evaluation = evaluatePrepared(prepared, { asOf: "2026-05-01" });
    expect(evaluation).toStrictEqual(evaluatePatient([{ resourceType: "Observation", id: "o1" }, 42], { asOf: "2026-05-01", patientId: "nobody" }));
    expect(evaluation.patientId).toBe("nobody");
    expect(evaluation.dataQuality.map((n) => n.issue)).toEqual(["not-a-resource", "no-subject"]);
  });

  it("refuses what it cannot evaluate exactly: another version or rules, details it was not prepared with, another date than it was prepared for, a bad asOf", () => {
    const records = [{ resourceType: "Patient", id: "p1" }];
    const prepared = preparePatient(records, { details: false });
    expect(() => evaluatePrepared({ ...prepared, v: PREPARED_VERSION + 1 }, { asOf: "2026-01-01", details: false })).toThrow(/version/);
    expect(() => evaluatePrepared({ ...prepared, rv: "other" }, { asOf: "2026-01-01", details: false })).toThrow(/rules/);
    expect(() => evaluatePrepared(prepared, { asOf: "2026-01-01", details: true })).toThrow(/details/);
    expect(() => evaluatePrepared(prepared, { asOf: "2026-02-30", details: false })).toThrow(/asOf must be a valid/);
    const dated = preparePatient(records, { asOf: "2026-01-01" });
    expect(() => evaluatePrepared(dated, { asOf: "2026-01-02" })).toThrow(/prepared for 2026-01-01/);
    expect(evaluatePrepared(dated, { asOf: "2026-01-01" }).patientId).toBe("p1");
    expect(() => preparePatient(records, { asOf: "someday" })).toThrow(/asOf must be a valid/);
  });

  it("keeps resources of any id, the few it shortens and the odd ones it keeps whole", () => {
    const records = [
      { resourceType: "Patient", id: "p1" },
      ...["o-1", "\u0001odd", "", "a/b"].map((id, i) => ({
        resourceType: "Observation", ...(id ? { id } : {}), status: "final", subject: { reference: "Patient/p1" },
        code: { coding: [{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument", code: "itch-nrs" }] }, effectiveDateTime: `2026-01-0${i + 1}`, valueInteger: 5,
      })),
    ];
    const asOf = "2026-03-01";
    const evaluation = evaluatePrepared(stored(preparePatient(records)), { asOf });
    expect(evaluation).toStrictEqual(evaluatePatient(records, { asOf }));
    expect(evaluation.trends?.itch?.points.map((p) => p.resource)).toEqual(["Observation/o-1", "Observation/\u0001odd", "Observation/#2", "Observation/a/b"]);
  });

  it("holds numbers JSON has no words for (an infinite supply, a huge quantity) through the trip", () => {
    const records = [
      { resourceType: "Patient", id: "p1" },
      {
        resourceType: "MedicationRequest", id: "mr1", status: "active", intent: "order", subject: { reference: "Patient/p1" }, authoredOn: "2026-01-01",
        medicationCodeableConcept: { text: "ruxolitinib 1.5% cream" }, dispenseRequest: { quantity: { value: 1e308, unit: "kg" }, expectedSupplyDuration: { value: 1e308, unit: "mo" } },
      },
    ];
    const prepared = preparePatient(records, { details: true });
    expect(prepared.e[0]?.[8]).toBe("Infinity");
    const asOf = "2026-03-01";
    expect(evaluatePrepared(stored(prepared), { asOf })).toStrictEqual(evaluatePatient(records, { asOf }));
  });
});
