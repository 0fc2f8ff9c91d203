/**
 * Fuzz tests of the engine's entry points (evaluateResources, evaluatePatient) with arbitrary JSON, malformed FHIR,
 * random codes, units and dates, prototype-looking keys, deep and huge values and random site mappings: never a
 * throw, never the per-patient "engine-error" catch, a plain-JSON output that does not depend on the run, and the
 * input left as it was. Seeded (lib/testing/arbitraries.ts: FUZZ_SEED replays, FUZZ_RUNS runs longer).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anyFieldValue, anyJson, deeplyNestedJsonText, fhirishResource, fuzzedRecords, fuzzParameters, hostileString, hugeString, patientLoose } from "../testing/arbitraries";
import { calendarDate } from "./dates";
import { evaluatePatient, evaluateResources } from "./evaluate";
import type { CodeMapping, EngineOutput, PatientEvaluation } from "./types";

const SEVERITIES = new Set(["critical", "warning", "info"]);

const asOfDate = fc.integer({ min: -400, max: 600 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));

const codeMapping: fc.Arbitrary<CodeMapping> = fc.record({
  system: fc.oneof(fc.constantFrom("http://loinc.org", "urn:site:flowsheet", "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument"), hostileString),
  code: fc.oneof(fc.constantFrom("751-8", "ITCH-1", "8480-6", "easi"), hostileString),
  concept: fc.oneof(fc.constantFrom("measure:itch", "measure:easi", "lab:anc", "drug:upadacitinib", "therapy:x:biologic", "vaccine:zoster", "measure:", "lab:nope", "drug"), hostileString),
});

/** Walks the output: only strings, finite numbers, booleans, null, arrays and plain objects (what JSON carries unchanged). */
function expectPlainJson(value: unknown, path = "output"): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    expect(Number.isFinite(value), `${path} is ${value}`).toBe(true);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      expect(item, `${path}[${i}]`).not.toBeUndefined();
      expectPlainJson(item, `${path}[${i}]`);
    });
    return;
  }
  expect(typeof value, path).toBe("object");
  expect(Object.getPrototypeOf(value), `${path} is a plain object`).toBe(Object.prototype);
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) if (item !== undefined) expectPlainJson(item, `${path}.${key}`);
}

function expectSoundPatient(p: PatientEvaluation): void {
  expect(p.dataQuality.filter((n) => n.issue === "engine-error"), `patient ${p.patientId}: the engine caught its own error`).toEqual([]);
  for (const note of p.dataQuality) {
    expect(typeof note.resource).toBe("string");
    expect(note.issue.length).toBeGreaterThan(0);
  }
  for (const flag of p.flags) {
    expect(flag.ruleId.length).toBeGreaterThan(0);
    expect(SEVERITIES.has(flag.severity)).toBe(true);
    expect(flag.message.length).toBeGreaterThan(0);
  }
}

function expectSoundOutput(output: EngineOutput): void {
  const ids = output.patients.map((p) => p.patientId);
  expect(ids).toEqual([...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  for (const p of output.patients) expectSoundPatient(p);
  expectPlainJson(output);
}

/** Deep-freezes what the engine is given: a write to the input then throws (and shows as an engine-error). */
function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === null || typeof next !== "object" || seen.has(next)) continue;
    seen.add(next);
    Object.freeze(next);
    for (const child of Object.values(next as Record<string, unknown>)) stack.push(child);
  }
  return value;
}

describe("engine under fuzzed input", () => {
  it("evaluates any mix of FHIR-ish resources without throwing, with sound, plain-JSON output", () => {
    const reached = { courses: 0, checkpoints: 0, flags: 0, notes: 0 };
    fc.assert(
      fc.property(fuzzedRecords, asOfDate, fc.option(fc.array(codeMapping, { maxLength: 4 }), { nil: undefined }), fc.boolean(), (resources, asOf, codeMappings, details) => {
        const output = evaluateResources(resources, { asOf, details, facts: !details, ...(codeMappings ? { codeMappings } : {}) });
        expectSoundOutput(output);
        for (const p of output.patients) {
          reached.courses += p.courses.length;
          reached.checkpoints += p.courses.reduce((n, c) => n + c.checkpoints.filter((cp) => cp.verdict !== "not-due").length, 0);
          reached.flags += p.flags.length;
          reached.notes += p.dataQuality.length;
        }
      }),
      fuzzParameters(200),
    );
    // The generators reach the engine's deep paths (courses, checkpoints, flags), not only its input checks.
    expect(Math.min(reached.courses, reached.checkpoints, reached.flags, reached.notes)).toBeGreaterThan(50);
  });

  it("gives the same output twice and never writes to its input", () => {
    fc.assert(
      fc.property(fuzzedRecords, asOfDate, (resources, asOf) => {
        const before = JSON.stringify(resources);
        const first = evaluateResources(deepFreeze(resources), { asOf });
        expectSoundOutput(first);
        expect(JSON.stringify(resources)).toBe(before);
        expect(evaluateResources(resources, { asOf })).toEqual(first);
      }),
      fuzzParameters(150),
    );
  });

  it("takes arbitrary JSON, prototype-looking keys included, as input items and notes what is not a resource", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyJson, anyFieldValue), { maxLength: 20 }), asOfDate, (items, asOf) => {
        const output = evaluateResources(items, { asOf });
        expectSoundOutput(output);
        // Arbitrary JSON is never a Patient with an id, so every patient comes from a reference or a note says why not.
        for (const note of output.dataQuality ?? []) expect(typeof note.detail).toBe("string");
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      fuzzParameters(200),
    );
  });

  it("reads Patients whose demographics have any JSON type", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(patientLoose, fhirishResource), { minLength: 1, maxLength: 15 }), asOfDate, (resources, asOf) => {
        expectSoundOutput(evaluateResources(resources, { asOf }));
      }),
      fuzzParameters(150),
    );
  });

  it("evaluatePatient answers for the patient asked for, or an empty evaluation under that id", () => {
    fc.assert(
      fc.property(fuzzedRecords, asOfDate, fc.oneof(fc.constantFrom("a", "b", "p-1"), hostileString), (resources, asOf, patientId) => {
        const evaluation = evaluatePatient(resources, { asOf, patientId: patientId || undefined });
        expectSoundPatient(evaluation);
        if (patientId) expect(evaluation.patientId).toBe(patientId);
        expectPlainJson(evaluation);
      }),
      fuzzParameters(150),
    );
  });

  it("refuses an asOf that is not a calendar date with an error naming asOf, and takes every real one", () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, fc.constantFrom("2026-02-29", "2026-13-01", "2026-03", "0000-01-01", "2026-03-01T10:00:00Z"), asOfDate), (asOf) => {
        let output: EngineOutput | undefined;
        let error: unknown;
        try {
          output = evaluateResources([{ resourceType: "Patient", id: "a" }], { asOf });
        } catch (e) {
          error = e;
        }
        if (error !== undefined) {
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message).toMatch(/asOf/);
          expect(calendarDate(asOf)).toBeNull();
        } else {
          expect(output!.asOf).toBe(calendarDate(asOf));
        }
      }),
      fuzzParameters(200),
    );
  });

  it("survives resources nested thousands of levels deep and megabyte strings in every field the engine reads", () => {
    const deep = JSON.parse(deeplyNestedJsonText(5_000, "object")) as unknown;
    const deepArray = JSON.parse(deeplyNestedJsonText(5_000, "array")) as unknown;
    fc.assert(
      fc.property(fc.array(fhirishResource, { minLength: 1, maxLength: 6 }), fc.constantFrom(deep, deepArray), hugeString(1_000_000), fc.nat(), (resources, nested, huge, pick) => {
        const broken = resources.map((resource, i) => {
          if (resource === null || typeof resource !== "object" || Array.isArray(resource)) return resource;
          const keys = Object.keys(resource).filter((k) => k !== "resourceType");
          const key = keys[(pick + i) % Math.max(1, keys.length)];
          return key ? { ...resource, [key]: i % 2 === 0 ? nested : huge } : resource;
        });
        expectSoundOutput(evaluateResources(broken, { asOf: "2026-06-01" }));
      }),
      fuzzParameters(40, { timeLimitMs: 8_000 }),
    );
  });

  it("reads the dose from a JAK medication name of 300,000 digits without backtracking for a minute", () => {
    // A hang detector, not a benchmark: the dose pattern was quadratic (1.4 s for 40,000 digits, ~80 s for these).
    const digits = "1".repeat(300_000);
    const started = performance.now();
    const output = evaluateResources(
      [
        { resourceType: "Patient", id: "a" },
        { resourceType: "MedicationStatement", id: "m", status: "active", subject: { reference: "Patient/a" }, medicationCodeableConcept: { text: `upadacitinib ${digits}` }, effectiveDateTime: "2026-01-01" },
      ],
      { asOf: "2026-03-01" },
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(output.patients[0]?.courses.map((c) => c.drug)).toEqual(["upadacitinib"]);
  });
});
