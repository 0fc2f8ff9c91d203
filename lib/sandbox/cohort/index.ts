/**
 * Synthetic cohort generator: deterministic for (seed, asOf), one patient at a time (memory flat).
 * Patients pt-000001 .. pt-000008 are the fixed showcase stories (README.md); the rest are drawn at random.
 */
import type { Resource } from "@medplum/fhirtypes";
import { dayFromIso } from "./dates";
import { expectationFor, type CohortExpectation } from "./expectations";
import type { PatientPlan } from "./plan";
import { drawRandomPlan, patientIdFor } from "./random-plan";
import { renderPatient } from "./render";
import { buildJakPanelGroup, generateSharedResources } from "./shared";
import { SHOWCASE_COUNT, showcasePlan } from "./showcase";

export type { CohortExpectation, CourseExpectation } from "./expectations";
export { buildJakPanelGroup, generateSharedResources, JAK_PANEL_GROUP_ID, CLINIC_ORGANIZATION_ID, STAFF } from "./shared";
export { SHOWCASE_COUNT } from "./showcase";

/** Bump when the same (seed, asOf) would produce different output. */
export const GENERATOR_VERSION = "1.0.0";
export const DEFAULT_AS_OF = "2026-11-01";
/** Showcase patients render lab values from this fixed seed so they are identical in every cohort. */
const SHOWCASE_RENDER_SEED = 20261101;

export interface CohortOptions {
  patients: number;
  seed: number;
  /** YYYY-MM-DD; default 2026-11-01. Nothing is dated on or after it. */
  asOf?: string;
}

export interface CohortPatient {
  patientId: string;
  resources: Resource[];
  expected: CohortExpectation;
}

export function planPatient(index: number, seed: number, asOf: string): PatientPlan {
  const asOfDay = dayFromIso(asOf);
  return index < SHOWCASE_COUNT ? showcasePlan(index, asOfDay) : drawRandomPlan(index, seed, asOfDay);
}

/** Patients in id order; patient k is the same whatever the cohort size (a smaller cohort is a prefix). */
export function* generateCohort(options: CohortOptions): Generator<CohortPatient> {
  const asOf = options.asOf ?? DEFAULT_AS_OF;
  dayFromIso(asOf);
  if (!Number.isInteger(options.patients) || options.patients < 0) throw new Error(`patients must be a non-negative integer, got ${options.patients}`);
  if (!Number.isInteger(options.seed)) throw new Error(`seed must be an integer, got ${options.seed}`);
  for (let index = 0; index < options.patients; index++) {
    const plan = planPatient(index, options.seed, asOf);
    const renderSeed = index < SHOWCASE_COUNT ? SHOWCASE_RENDER_SEED : options.seed;
    yield { patientId: plan.patientId, resources: renderPatient(plan, renderSeed), expected: expectationFor(plan, asOf) };
  }
}

/**
 * Every resource of the cohort in load order: shared (Organization, Practitioners, roles), then each
 * patient's, then the "jak-panel" Group. For loading in-process (the sandbox); keeps only member ids.
 */
export function* generateCohortResources(options: CohortOptions): Generator<Resource> {
  yield* generateSharedResources();
  const members: string[] = [];
  for (const patient of generateCohort(options)) {
    if (patient.expected.courses.length > 0) members.push(patient.patientId);
    yield* patient.resources;
  }
  yield buildJakPanelGroup(members);
}

export { patientIdFor };
