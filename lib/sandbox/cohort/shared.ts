/** Non-patient resources: the clinic, its staff with app roles, and the JAK panel Group. */
import type { Group, Organization, Practitioner, PractitionerRole, Resource } from "@medplum/fhirtypes";
import { APP_ROLE_SYSTEM } from "./codes";

export const CLINIC_ORGANIZATION_ID = "derm-clinic";
export const JAK_PANEL_GROUP_ID = "jak-panel";
export type AppRole = "dermatologist" | "clinic-lead" | "quality" | "admin";

/** Synthetic staff; ids are stable so the sandbox can log in as a role. */
export const STAFF: readonly { id: string; given: string; family: string; prefix?: string; role: AppRole }[] = [
  { id: "pr-derm-1", given: "Ada", family: "Lindqvist", prefix: "Dr.", role: "dermatologist" },
  { id: "pr-derm-2", given: "Tomas", family: "Okafor", prefix: "Dr.", role: "dermatologist" },
  { id: "pr-derm-3", given: "Priya", family: "Ramaswamy", prefix: "Dr.", role: "dermatologist" },
  { id: "pr-lead-1", given: "Maren", family: "Castillo", prefix: "Dr.", role: "clinic-lead" },
  { id: "pr-quality-1", given: "Idris", family: "Novak", role: "quality" },
  // The app's administrator (roles and audit trail): a standalone launch lands on /admin.
  { id: "pr-admin-1", given: "Ruth", family: "Achterberg", role: "admin" },
];
export const DERMATOLOGIST_IDS = STAFF.filter((s) => s.role === "dermatologist").map((s) => s.id);

const ROLE_DISPLAY: Record<AppRole, string> = {
  dermatologist: "Dermatologist",
  "clinic-lead": "Clinic lead",
  quality: "Quality analyst",
  admin: "App administrator",
};

export function generateSharedResources(): Resource[] {
  const organization: Organization = {
    resourceType: "Organization",
    id: CLINIC_ORGANIZATION_ID,
    active: true,
    type: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/organization-type", code: "prov", display: "Healthcare Provider" }] }],
    name: "Riverside Dermatology Clinic (synthetic)",
  };
  const resources: Resource[] = [organization];
  for (const person of STAFF) {
    const practitioner: Practitioner = {
      resourceType: "Practitioner",
      id: person.id,
      active: true,
      name: [{ use: "official", family: person.family, given: [person.given], ...(person.prefix ? { prefix: [person.prefix] } : {}) }],
    };
    const role: PractitionerRole = {
      resourceType: "PractitionerRole",
      id: `role-${person.id}`,
      active: true,
      practitioner: { reference: `Practitioner/${person.id}`, display: `${person.prefix ? `${person.prefix} ` : ""}${person.given} ${person.family}` },
      organization: { reference: `Organization/${CLINIC_ORGANIZATION_ID}` },
      code: [{ coding: [{ system: APP_ROLE_SYSTEM, code: person.role, display: ROLE_DISPLAY[person.role] }], text: person.role }],
    };
    resources.push(practitioner, role);
  }
  return resources;
}

/** The panel of every patient with a JAK course, in generation order. */
export function buildJakPanelGroup(memberPatientIds: readonly string[]): Group {
  return {
    resourceType: "Group",
    id: JAK_PANEL_GROUP_ID,
    active: true,
    type: "person",
    actual: true,
    name: "Dermatology clinic JAK panel",
    quantity: memberPatientIds.length,
    managingEntity: { reference: `Organization/${CLINIC_ORGANIZATION_ID}` },
    member: memberPatientIds.map((id) => ({ entity: { reference: `Patient/${id}` } })),
  };
}
