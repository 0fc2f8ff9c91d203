import type { Resource } from "@medplum/fhirtypes";
import { APP_ROLE_SYSTEM, type AppRole } from "./directory";

/** Ids of the small built-in data set, used when no cohort is given (tests, quick starts). */
export const FIXTURE_IDS = {
  dermatologist: "fixture-dermatologist",
  clinicLead: "fixture-clinic-lead",
  quality: "fixture-quality",
  patientA: "fixture-patient-a",
  patientB: "fixture-patient-b",
  patientC: "fixture-patient-c",
  organization: "fixture-derm-clinic",
  group: "jak-panel",
} as const;

function practitioner(id: string, given: string, family: string, role: AppRole): Resource[] {
  return [
    { resourceType: "Practitioner", id, active: true, name: [{ given: [given], family, prefix: ["Dr."] }] },
    {
      resourceType: "PractitionerRole",
      id: `${id}-role`,
      active: true,
      practitioner: { reference: `Practitioner/${id}` },
      organization: { reference: `Organization/${FIXTURE_IDS.organization}` },
      code: [{ coding: [{ system: APP_ROLE_SYSTEM, code: role, display: role }], text: role }],
    },
  ];
}

function itchScore(id: string, patientId: string, date: string, value: number): Resource {
  return {
    resourceType: "Observation",
    id,
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "survey" }] }],
    code: { coding: [{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument", code: "itch-nrs", display: "Itch NRS" }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    valueQuantity: { value, unit: "{score}", system: "http://unitsofmeasure.org", code: "{score}" },
  };
}

function labResult(id: string, patientId: string, date: string, value: number): Resource {
  return {
    resourceType: "Observation",
    id,
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] }],
    code: { coding: [{ system: "http://loinc.org", code: "26499-4", display: "Neutrophils [#/volume] in Blood" }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    valueQuantity: { value, unit: "10*3/uL", system: "http://unitsofmeasure.org", code: "10*3/uL" },
  };
}

/** A tiny clinic: three practitioners (one per app role), three patients, two on a JAK inhibitor. */
export function sandboxFixtureResources(): Resource[] {
  const { patientA, patientB, patientC } = FIXTURE_IDS;
  return [
    { resourceType: "Organization", id: FIXTURE_IDS.organization, name: "Sandbox Dermatology Clinic", active: true },
    ...practitioner(FIXTURE_IDS.dermatologist, "Dana", "Derm", "dermatologist"),
    ...practitioner(FIXTURE_IDS.clinicLead, "Lee", "Lead", "clinic-lead"),
    ...practitioner(FIXTURE_IDS.quality, "Quinn", "Quality", "quality"),
    { resourceType: "Patient", id: patientA, name: [{ given: ["Alex"], family: "Fixture" }], gender: "female", birthDate: "1990-04-02" },
    { resourceType: "Patient", id: patientB, name: [{ given: ["Blake"], family: "Fixture" }], gender: "male", birthDate: "1985-09-17" },
    { resourceType: "Patient", id: patientC, name: [{ given: ["Casey"], family: "Fixture" }], gender: "other", birthDate: "2001-01-30" },
    {
      resourceType: "MedicationRequest",
      id: "fixture-medrq-a",
      status: "active",
      intent: "order",
      subject: { reference: `Patient/${patientA}` },
      authoredOn: "2026-05-04",
      medicationCodeableConcept: { coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "2196092", display: "upadacitinib 15 MG Extended Release Oral Tablet" }], text: "upadacitinib 15 mg" },
    },
    {
      resourceType: "MedicationRequest",
      id: "fixture-medrq-b",
      status: "active",
      intent: "order",
      subject: { reference: `Patient/${patientB}` },
      authoredOn: "2026-02-10",
      medicationCodeableConcept: { coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "2570649", display: "abrocitinib 100 MG Oral Tablet" }], text: "abrocitinib 100 mg" },
    },
    itchScore("fixture-itch-a-1", patientA, "2026-05-04", 8),
    itchScore("fixture-itch-a-2", patientA, "2026-06-01", 5),
    itchScore("fixture-itch-a-3", patientA, "2026-07-27", 2),
    labResult("fixture-lab-a-1", patientA, "2026-05-01", 3.9),
    labResult("fixture-lab-a-2", patientA, "2026-07-01", 2.1),
    itchScore("fixture-itch-b-1", patientB, "2026-02-10", 9),
    itchScore("fixture-itch-b-2", patientB, "2026-05-05", 8),
    labResult("fixture-lab-b-1", patientB, "2026-02-01", 4.4),
    itchScore("fixture-itch-c-1", patientC, "2026-03-03", 6),
    {
      resourceType: "Group",
      id: FIXTURE_IDS.group,
      type: "person",
      actual: true,
      name: "Dermatology clinic JAK panel",
      managingEntity: { reference: `Organization/${FIXTURE_IDS.organization}` },
      member: [{ entity: { reference: `Patient/${patientA}` } }, { entity: { reference: `Patient/${patientB}` } }],
    },
  ];
}
