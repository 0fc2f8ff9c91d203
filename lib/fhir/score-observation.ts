/**
 * Score capture as FHIR: a zod schema for the input ranges, `buildScoreObservation` (an R4 Observation,
 * status final, category survey, code in the app's instrument CodeSystem, valueQuantity in UCUM {score},
 * subject Patient/<id>, EASI region sub-scores as components) and `postScoreObservation` (create through
 * FhirRequester with the session's token).
 */
import type { Observation, ObservationComponent, Quantity } from "@medplum/fhirtypes";
import { z } from "zod";
import { INSTRUMENT_SYSTEM } from "../clinical/codes";
import { EASI_REGION_LABELS, EASI_REGIONS, EASI_WEIGHTS, type EasiRegion } from "../clinical/easi";
import { FhirHttpError, type FhirRequester } from "./requester";
import type { RecordScoreRequest, ScoreMeasure } from "./score-types";

interface MeasureInfo {
  display: string;
  min: number;
  max: number;
  /** NRS values are whole numbers; EASI has one decimal. */
  integer: boolean;
}

export const SCORE_MEASURE_INFO: Record<ScoreMeasure, MeasureInfo> = {
  "itch-nrs": { display: "Worst itch numeric rating scale (24 h)", min: 0, max: 10, integer: true },
  "skin-pain-nrs": { display: "Skin pain numeric rating scale (24 h)", min: 0, max: 10, integer: true },
  easi: { display: "Eczema Area and Severity Index (EASI)", min: 0, max: 72, integer: false },
};

const OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
const UCUM = "http://unitsofmeasure.org";
/** The largest share one EASI region can contribute: 12 (signs) x 6 (area) x the largest weight (0.4). */
const EASI_REGION_MAX = 12 * 6 * Math.max(...Object.values(EASI_WEIGHTS).flatMap((w) => Object.values(w)));

const oneDecimal = (n: number): boolean => Math.abs(n * 10 - Math.round(n * 10)) < 1e-9;

/** A real calendar date YYYY-MM-DD, or a dateTime with seconds and a zone (FHIR requires the zone when a time is given). */
const effectiveSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$/, "a date YYYY-MM-DD or a dateTime with a time zone")
  .refine((s) => {
    const [y, m, d] = s.slice(0, 10).split("-").map(Number) as [number, number, number];
    const date = new Date(Date.UTC(y, m - 1, d));
    return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d && y >= 1900;
  }, "not a calendar date");

const regionSchema = z.number().finite().min(0).max(EASI_REGION_MAX).refine(oneDecimal, "at most one decimal");
const componentsSchema = z
  .object({ headNeck: regionSchema, upperLimbs: regionSchema, trunk: regionSchema, lowerLimbs: regionSchema })
  .partial()
  .strict();

/** Input ranges per measure (clinical-reference section 1): NRS whole 0-10, EASI 0-72 with one decimal. */
export const recordScoreSchema = z
  .object({
    measure: z.enum(["itch-nrs", "skin-pain-nrs", "easi"]),
    value: z.number().finite(),
    effectiveDateTime: effectiveSchema,
    components: componentsSchema.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const info = SCORE_MEASURE_INFO[input.measure];
    if (input.value < info.min || input.value > info.max) {
      ctx.addIssue({ code: "custom", path: ["value"], message: `${input.measure} must be ${info.min}-${info.max}` });
    } else if (info.integer && !Number.isInteger(input.value)) {
      ctx.addIssue({ code: "custom", path: ["value"], message: `${input.measure} must be a whole number` });
    } else if (!info.integer && !oneDecimal(input.value)) {
      ctx.addIssue({ code: "custom", path: ["value"], message: `${input.measure} has at most one decimal` });
    }
    if (input.components && input.measure !== "easi") {
      ctx.addIssue({ code: "custom", path: ["components"], message: "only EASI has region components" });
    }
    if (input.components && input.measure === "easi") {
      const parts = Object.values(input.components);
      // Each region is rounded to one decimal on its own, so four of them may differ from the total by 0.2.
      if (parts.length === EASI_REGIONS.length && Math.abs(parts.reduce((a, b) => a + b, 0) - input.value) > 0.2 + 1e-9) {
        ctx.addIssue({ code: "custom", path: ["components"], message: "the region scores do not add up to the total" });
      }
    }
  });

export interface ScoreObservationInput extends RecordScoreRequest {
  patientId: string;
  /** "Practitioner/123" (the session's fhirUser), when known. */
  performer?: string | null;
  /** Instant of recording; lets "several values on one day: latest issued" work. */
  issued?: string;
}

function scoreQuantity(value: number): Quantity {
  return { value, unit: "score", system: UCUM, code: "{score}" };
}

/** Builds the Observation. Validates `value`, `effectiveDateTime` and `components` with recordScoreSchema (throws ZodError). */
export function buildScoreObservation(input: ScoreObservationInput): Observation {
  const { measure, value, effectiveDateTime, components } = recordScoreSchema.parse({
    measure: input.measure,
    value: input.value,
    effectiveDateTime: input.effectiveDateTime,
    ...(input.components ? { components: input.components } : {}),
  });
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(input.patientId)) throw new Error("patientId is not a FHIR id");
  const info = SCORE_MEASURE_INFO[measure];
  const performer: Observation["performer"] = input.performer && /^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/.test(input.performer) ? [{ reference: input.performer }] : undefined;
  const component: ObservationComponent[] = [];
  if (measure === "easi" && components) {
    for (const region of EASI_REGIONS) {
      const part = components[region as EasiRegion];
      if (part === undefined) continue;
      // Text only: the app's CodeSystem has no region codes; the engine skips sub-scores of the parent's instrument.
      component.push({ code: { text: `EASI region score: ${EASI_REGION_LABELS[region].toLowerCase()}` }, valueQuantity: scoreQuantity(part) });
    }
  }
  return {
    resourceType: "Observation",
    status: "final",
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: "survey", display: "Survey" }], text: "Survey" }],
    code: { coding: [{ system: INSTRUMENT_SYSTEM, code: measure, display: info.display }], text: info.display },
    subject: { reference: `Patient/${input.patientId}` },
    effectiveDateTime,
    ...(input.issued ? { issued: input.issued } : {}),
    ...(performer ? { performer } : {}),
    valueQuantity: scoreQuantity(value),
    ...(component.length > 0 ? { component } : {}),
  };
}

/** Creates the Observation at the EHR; returns its id (from the body, else the Location header). */
export async function postScoreObservation(requester: FhirRequester, observation: Observation): Promise<{ id: string; location: string | null }> {
  const { body, location } = await requester.post<Observation>("Observation", observation);
  const fromLocation = location ? /Observation\/([A-Za-z0-9\-.]{1,64})/.exec(location)?.[1] : undefined;
  const id = (body?.resourceType === "Observation" ? body.id : undefined) ?? fromLocation;
  if (!id) throw new FhirHttpError(201, "the server did not say which Observation it created");
  return { id, location };
}
