/**
 * Fuzz tests of the Observation normaliser with well-formed, mangled and arbitrary Observations (random codes, units,
 * dates, statuses, values, site mappings): never a throw; every value it keeps is a finite number inside the measure's
 * range, dated on a real day no later than asOf; only final, amended or corrected results count; and no Observation
 * with a code the engine knows disappears without a trace (a kept value, or a data-quality note naming it).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anyJson, fuzzParameters, hostileString, mangled, observation } from "../testing/arbitraries";
import { indexMappings, matchConcept } from "./codes";
import type { EvalContext } from "./context";
import { calendarDate, dayNumber } from "./dates";
import { normalizeObservations, observationDate } from "./normalize";
import { DEFAULT_RULES } from "./rules";
import type { CodeMapping } from "./types";

const asOfDate = fc.integer({ min: -400, max: 600 }).map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));

const mappings: fc.Arbitrary<CodeMapping[]> = fc.array(
  fc.record({
    system: fc.constantFrom("http://loinc.org", "urn:site:flowsheet"),
    code: fc.oneof(fc.constantFrom("8480-6", "ITCH-1", "751-8"), hostileString),
    concept: fc.constantFrom("measure:itch", "measure:easi", "measure:bsa", "lab:anc", "lab:alt", "lab:igra"),
  }),
  { maxLength: 3 },
);

const observations = fc.array(fc.oneof({ weight: 5, arbitrary: observation }, { weight: 3, arbitrary: mangled(observation) }), { maxLength: 25 });

function context(asOf: string, codeMappings: CodeMapping[]): EvalContext {
  return { asOf, asOfDay: dayNumber(asOf), rules: DEFAULT_RULES, mappings: indexMappings(codeMappings), notes: [], matches: new Map(), routeUnknown: [], collectMatches: true };
}

/** The reference the normaliser names an Observation by (see resourceRef). */
function refOf(obs: Record<string, unknown>, index: number): string {
  return typeof obs.id === "string" && obs.id ? `Observation/${obs.id}` : `Observation/#${index}`;
}

function hasValue(obs: Record<string, unknown>): boolean {
  return ["valueQuantity", "valueInteger", "valueString", "valueCodeableConcept", "valueDecimal", "valueBoolean"].some((k) => obs[k] !== undefined);
}

describe("Observation normaliser under fuzzed input", () => {
  it("keeps only finite, in-range values on real days up to asOf, and only counts final, amended or corrected ones", () => {
    fc.assert(
      fc.property(observations, asOfDate, mappings, (list, asOf, codeMappings) => {
        const ctx = context(asOf, codeMappings);
        const { measurements, labs } = normalizeObservations(list, ctx);
        for (const m of measurements) {
          expect(Number.isFinite(m.value)).toBe(true);
          const [min, max] = DEFAULT_RULES.measureRanges[m.measure];
          expect(m.value).toBeGreaterThanOrEqual(min);
          expect(m.value).toBeLessThanOrEqual(max);
          expect(calendarDate(m.date)).toBe(m.date);
          expect(m.day).toBe(dayNumber(m.date));
          expect(m.day).toBeLessThanOrEqual(ctx.asOfDay);
          if (m.valid) expect(m.preliminary).toBe(false);
        }
        for (const lab of labs) {
          expect(calendarDate(lab.date)).toBe(lab.date);
          expect(lab.day).toBeLessThanOrEqual(ctx.asOfDay);
          if (lab.value !== null) {
            expect(Number.isFinite(lab.value)).toBe(true);
            expect(lab.value).toBeGreaterThanOrEqual(0);
          }
          if (lab.referenceHigh !== null) expect(Number.isFinite(lab.referenceHigh)).toBe(true);
        }
        // Whatever an Observation's status, a value is used only when it is final, amended or corrected.
        const validRefs = new Set(measurements.filter((m) => m.valid).map((m) => m.resource).concat(labs.map((l) => l.resource)));
        list.forEach((obs, i) => {
          if (!["final", "amended", "corrected"].includes(obs.status as string) && !list.some((other, j) => j !== i && refOf(other, j) === refOf(obs, i))) {
            expect(validRefs.has(refOf(obs, i))).toBe(false);
          }
        });
      }),
      fuzzParameters(300),
    );
  });

  it("leaves a trace of every Observation whose code it recognises: a kept value or a note naming it", () => {
    let recognised = 0;
    fc.assert(
      fc.property(observations, asOfDate, mappings, (list, asOf, codeMappings) => {
        const ctx = context(asOf, codeMappings);
        const { measurements, labs } = normalizeObservations(list, ctx);
        const traced = new Set([...measurements.map((m) => m.resource), ...labs.map((l) => l.resource), ...ctx.notes.map((n) => n.resource)]);
        list.forEach((obs, i) => {
          const match = matchConcept(obs.code, ctx.mappings, "observation");
          if (!match || (match.concept.domain !== "measure" && match.concept.domain !== "lab")) return;
          const { date } = observationDate(obs);
          if (date && dayNumber(date) > ctx.asOfDay) return; // after asOf: ignored by rule (clinical-reference 4)
          // A panel parent without a value of its own speaks through its components and members.
          if (!hasValue(obs) && (Array.isArray(obs.component) || Array.isArray(obs.hasMember))) return;
          recognised++;
          expect(traced.has(refOf(obs, i)), `${refOf(obs, i)} (${match.concept.domain}:${match.concept.key}) left no trace`).toBe(true);
        });
      }),
      fuzzParameters(300),
    );
    expect(recognised).toBeGreaterThan(100);
  });

  it("takes arbitrary JSON objects as Observations without throwing", () => {
    fc.assert(
      fc.property(fc.array(anyJson.filter((v): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v)), { maxLength: 20 }), asOfDate, (list, asOf) => {
        const ctx = context(asOf, []);
        normalizeObservations(list, ctx);
        for (const note of ctx.notes) expect([typeof note.resource, typeof note.issue, typeof note.detail]).toEqual(["string", "string", "string"]);
      }),
      fuzzParameters(200),
    );
  });
});
