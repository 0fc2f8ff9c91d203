import type { Patient, Practitioner, PractitionerRole, Group, MedicationRequest, MedicationStatement } from "@medplum/fhirtypes";
import type { SandboxRepository } from "./repository";

export const APP_ROLE_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role";
export type AppRole = "dermatologist" | "clinic-lead" | "quality" | "admin";
const APP_ROLES: AppRole[] = ["dermatologist", "clinic-lead", "quality", "admin"];

export interface PractitionerSummary {
  id: string;
  name: string;
  role: AppRole | undefined;
}

export interface PatientSummary {
  id: string;
  name: string;
  birthDate: string | undefined;
  gender: string | undefined;
  currentJakDrug: string | undefined;
}

/** JAK inhibitors for display on the launcher (matched on medication text/display, case-insensitive). */
const JAK_NAMES = ["upadacitinib", "abrocitinib", "baricitinib", "tofacitinib", "ruxolitinib", "ritlecitinib"];

export function displayName(resource: Patient | Practitioner): string {
  const name = resource.name?.[0];
  if (!name) return resource.id ?? "(no name)";
  if (name.text) return name.text;
  const given = (name.given ?? []).join(" ");
  return [name.prefix?.join(" "), given, name.family].filter((part) => part && part.length > 0).join(" ") || (resource.id ?? "");
}

export function roleOf(role: PractitionerRole): AppRole | undefined {
  for (const concept of role.code ?? []) {
    for (const coding of concept.coding ?? []) {
      if (coding.system === APP_ROLE_SYSTEM && APP_ROLES.includes(coding.code as AppRole)) return coding.code as AppRole;
    }
  }
  return undefined;
}

export function listPractitioners(repo: SandboxRepository): PractitionerSummary[] {
  const roles = new Map<string, AppRole>();
  for (const resource of repo.iterateType("PractitionerRole")) {
    const practitionerRole = resource as PractitionerRole;
    const reference = practitionerRole.practitioner?.reference;
    const role = roleOf(practitionerRole);
    if (reference?.startsWith("Practitioner/") && role && practitionerRole.active !== false) {
      roles.set(reference.slice("Practitioner/".length), role);
    }
  }
  const practitioners: PractitionerSummary[] = [];
  for (const resource of repo.iterateType("Practitioner")) {
    const practitioner = resource as Practitioner;
    practitioners.push({ id: practitioner.id ?? "", name: displayName(practitioner), role: roles.get(practitioner.id ?? "") });
  }
  // Practitioners with an app role first, then by name.
  return practitioners.sort((a, b) => Number(!a.role) - Number(!b.role) || a.name.localeCompare(b.name));
}

export function findPractitioner(repo: SandboxRepository, id: string): PractitionerSummary | undefined {
  return listPractitioners(repo).find((practitioner) => practitioner.id === id);
}

export function listPatients(repo: SandboxRepository, limit = 500): PatientSummary[] {
  const patients: PatientSummary[] = [];
  for (const resource of repo.iterateType("Patient")) {
    const patient = resource as Patient;
    if (patients.length >= limit) break;
    patients.push({
      id: patient.id ?? "",
      name: displayName(patient),
      birthDate: patient.birthDate,
      gender: patient.gender,
      currentJakDrug: currentJakDrug(repo, patient.id ?? ""),
    });
  }
  return patients.sort((a, b) => a.name.localeCompare(b.name));
}

function currentJakDrug(repo: SandboxRepository, patientId: string): string | undefined {
  let latest: { start: string; drug: string } | undefined;
  for (const type of ["MedicationRequest", "MedicationStatement"]) {
    for (const resource of repo.iterateCompartment(patientId, type)) {
      const medication = resource as MedicationRequest | MedicationStatement;
      if (medication.status !== "active") continue;
      const concept = medication.medicationCodeableConcept;
      const label = [concept?.text, ...(concept?.coding ?? []).map((coding) => coding.display)].filter(Boolean).join(" ").toLowerCase();
      const drug = JAK_NAMES.find((name) => label.includes(name));
      if (!drug) continue;
      const start =
        (medication as MedicationRequest).authoredOn ??
        (medication as MedicationStatement).effectivePeriod?.start ??
        (medication as MedicationStatement).effectiveDateTime ??
        "";
      if (!latest || start > latest.start) latest = { start, drug };
    }
  }
  return latest?.drug;
}

export function ageInYears(birthDate: string | undefined, today: Date): number | undefined {
  if (!birthDate) return undefined;
  const birth = new Date(birthDate);
  if (Number.isNaN(birth.getTime())) return undefined;
  let age = today.getUTCFullYear() - birth.getUTCFullYear();
  const beforeBirthday =
    today.getUTCMonth() < birth.getUTCMonth() ||
    (today.getUTCMonth() === birth.getUTCMonth() && today.getUTCDate() < birth.getUTCDate());
  if (beforeBirthday) age--;
  return age;
}

export function groupMemberPatientIds(group: Group): string[] {
  return (group.member ?? [])
    .filter((member) => !member.inactive)
    .map((member) => member.entity.reference ?? "")
    .filter((reference) => reference.startsWith("Patient/"))
    .map((reference) => reference.slice("Patient/".length));
}
