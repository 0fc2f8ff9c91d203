/** Hand-made FHIR resources for the card tests: one patient, dates as day offsets from a course start. */
import { addDays } from "../clinical/dates";
import type { CardContext } from "./card-types";

export type R = Record<string, unknown>;
export const PATIENT_ID = "p1";
/** Day 0: the course start of the running-course scenarios. */
export const START = "2026-03-02";
const subject = { reference: `Patient/${PATIENT_ID}` };
const LOINC = "http://loinc.org";
const ATC = "http://www.whocc.no/atc";
const CVX = "http://hl7.org/fhir/sid/cvx";
const SNOMED = "http://snomed.info/sct";
const INSTRUMENT = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument";

export function day(offset: number): string {
  return addDays(START, offset);
}

let counter = 0;
function id(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function context(asOf: string, extra: Partial<CardContext> = {}): CardContext {
  let n = 0;
  return { asOf, patientId: PATIENT_ID, appLaunchUrl: "https://jak-monitor.test/launch", uuid: () => `uuid-${++n}`, ...extra };
}

export function patient(extra: R = {}): R {
  return { resourceType: "Patient", id: PATIENT_ID, gender: "male", birthDate: "1980-05-05", ...extra };
}

export function score(code: "easi" | "iga" | "itch-nrs" | "skin-pain-nrs", offset: number, value: number): R {
  return {
    resourceType: "Observation", id: id(code), status: "final", code: { coding: [{ system: INSTRUMENT, code }] }, subject,
    effectiveDateTime: `${day(offset)}T10:00:00Z`, valueQuantity: { value, unit: "{score}", system: "http://unitsofmeasure.org", code: "{score}" },
  };
}

export function lab(loinc: string, offset: number, value: number, unit: string, extra: R = {}): R {
  return {
    resourceType: "Observation", id: id("lab"), status: "final", code: { coding: [{ system: LOINC, code: loinc }] }, subject,
    effectiveDateTime: `${day(offset)}T08:00:00Z`, valueQuantity: { value, unit, system: "http://unitsofmeasure.org", code: unit }, ...extra,
  };
}

function negative(loinc: string, offset: number): R {
  return {
    resourceType: "Observation", id: id("lab"), status: "final", code: { coding: [{ system: LOINC, code: loinc }] }, subject,
    effectiveDateTime: `${day(offset)}T08:00:00Z`, valueCodeableConcept: { coding: [{ system: LOINC, code: "LA6577-6", display: "Negative" }] },
  };
}

/** Every baseline lab an oral JAK asks for (TB, HBV, HCV, CBC with platelets, liver, lipids), normal, on one day. */
export function baselineLabs(offset = -10): R[] {
  return [
    negative("71773-6", offset), negative("5196-1", offset), negative("16933-4", offset), negative("16128-1", offset),
    lab("718-7", offset, 14, "g/dL"), lab("777-3", offset, 250, "10*3/uL"), lab("751-8", offset, 3.2, "10*3/uL"), lab("731-0", offset, 1.8, "10*3/uL"),
    lab("1742-6", offset, 20, "U/L"), lab("1920-8", offset, 22, "U/L"), lab("2093-3", offset, 180, "mg/dL"),
  ];
}

const DRUGS: Record<string, R> = {
  upadacitinib: { coding: [{ system: ATC, code: "L04AF03", display: "upadacitinib" }], text: "Rinvoq 15 mg extended-release tablet" },
  abrocitinib: { coding: [{ system: ATC, code: "D11AH08", display: "abrocitinib" }], text: "Cibinqo 100 mg tablet" },
  baricitinib: { coding: [{ system: ATC, code: "L04AF02", display: "baricitinib" }], text: "Olumiant 2 mg tablet" },
};

/** A running JAK course from day `startOffset` (MedicationStatement), ended on `endOffset` when given. */
export function onJak(drug: "upadacitinib" | "abrocitinib" | "baricitinib", startOffset = 0, endOffset?: number): R {
  return {
    resourceType: "MedicationStatement", id: id("ms"), status: endOffset === undefined ? "active" : "completed", medicationCodeableConcept: DRUGS[drug], subject,
    effectivePeriod: endOffset === undefined ? { start: day(startOffset) } : { start: day(startOffset), end: day(endOffset) },
  };
}

export function vaccine(cvx: string, date: string, display: string): R {
  return { resourceType: "Immunization", id: id("imm"), status: "completed", vaccineCode: { coding: [{ system: CVX, code: cvx, display }] }, patient: subject, occurrenceDateTime: date };
}

export function zoster(date: string): R {
  return vaccine("187", date, "zoster vaccine recombinant");
}

/** A draft order as an EHR sends it in context.draftOrders: RxNorm-coded text, a route, no date. */
export function draftOrder(text: string, route: "oral" | "topical", extra: R = {}): R {
  return {
    resourceType: "MedicationRequest", id: "draft-1", status: "draft", intent: "order", subject,
    medicationCodeableConcept: { coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "0000000", display: text }], text },
    dosageInstruction: [{ text: "once daily", route: { coding: [{ system: SNOMED, code: route === "oral" ? "26643006" : "6064005" }] } }],
    ...extra,
  };
}

export function draftBundle(...orders: R[]): R {
  return { resourceType: "Bundle", type: "collection", entry: orders.map((resource) => ({ resource })) };
}
