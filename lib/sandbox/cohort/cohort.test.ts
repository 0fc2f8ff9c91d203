import type { Group, PractitionerRole, Resource } from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { APP_ROLE_SYSTEM } from "./codes";
import { vocabularyProblems } from "./expectations";
import { generateCohort, generateCohortResources, generateSharedResources } from "./index";

const AS_OF = "2026-11-01";
const cohort = [...generateCohort({ patients: 400, seed: 1234, asOf: AS_OF })];
const shared = generateSharedResources();

/** Every "reference" string anywhere inside a resource. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) references(item, out);
  else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "reference" && typeof child === "string") out.push(child);
      else references(child, out);
    }
  }
  return out;
}

/** Every date-time the generator writes for clinical events (not birthDate or onset). */
function eventDates(resource: Resource): string[] {
  const r = resource as unknown as Record<string, unknown>;
  const dates: string[] = [];
  for (const key of ["effectiveDateTime", "authoredOn", "occurrenceDateTime", "issued", "whenHandedOver"]) if (typeof r[key] === "string") dates.push(r[key] as string);
  const period = r.effectivePeriod as { start?: string; end?: string } | undefined;
  if (period?.start) dates.push(period.start);
  if (period?.end) dates.push(period.end);
  return dates;
}

describe("generated cohort", () => {
  it("gives every resource a type and a unique id", () => {
    const ids = new Set<string>();
    for (const resource of [...shared, ...cohort.flatMap((p) => p.resources)]) {
      expect(resource.resourceType).toBeTruthy();
      expect(resource.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
      const key = `${resource.resourceType}/${resource.id}`;
      expect(ids.has(key), key).toBe(false);
      ids.add(key);
    }
  });

  it("points every reference at a resource that exists (or a contained one)", () => {
    const existing = new Set([...shared, ...cohort.flatMap((p) => p.resources)].map((r) => `${r.resourceType}/${r.id}`));
    for (const patient of cohort) {
      for (const resource of patient.resources) {
        const r = resource as unknown as { subject?: { reference?: string }; patient?: { reference?: string }; contained?: Resource[] };
        if (resource.resourceType !== "Patient") {
          expect(r.subject?.reference ?? r.patient?.reference, `${resource.resourceType}/${resource.id}`).toBe(`Patient/${patient.patientId}`);
        }
        for (const ref of references(resource)) {
          if (ref.startsWith("#")) expect(r.contained?.some((c) => `#${c.id}` === ref), ref).toBe(true);
          else expect(existing.has(ref), ref).toBe(true);
        }
      }
    }
  });

  it("dates nothing on or after asOf, and writes local times with an offset", () => {
    for (const resource of cohort.flatMap((p) => p.resources)) {
      for (const date of eventDates(resource)) {
        expect(date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
        expect(date.slice(0, 10) < AS_OF, `${resource.resourceType}/${resource.id} ${date}`).toBe(true);
      }
    }
  });

  it("starts and ends every course before asOf, in a larger cohort too", () => {
    let restarts = 0;
    for (const { expected, resources } of generateCohort({ patients: 3000, seed: 42, asOf: AS_OF })) {
      if (expected.archetype === "restarted") {
        // No dispensed supply may bridge the gap: the restart must come more than 60 days after it runs out.
        restarts++;
        const restart = Date.parse(expected.courses[1]?.start ?? "");
        for (const r of resources) {
          if (r.resourceType !== "MedicationDispense" || !r.whenHandedOver || Date.parse(r.whenHandedOver.slice(0, 10)) >= restart) continue;
          const runsOut = Date.parse(r.whenHandedOver.slice(0, 10)) + (r.daysSupply?.value ?? 0) * 86_400_000;
          expect(restart - runsOut, `${expected.patientId} ${r.id}`).toBeGreaterThan(60 * 86_400_000);
        }
      }
      for (const course of expected.courses) expect(course.start < AS_OF, `${expected.patientId} ${course.start}`).toBe(true);
      for (const resource of resources) {
        for (const match of JSON.stringify(resource).matchAll(/"(?:start|end)":"(\d{4}-\d{2}-\d{2})/g)) {
          expect(match[1]! < AS_OF, `${resource.resourceType}/${resource.id} ${match[0]}`).toBe(true);
        }
      }
    }
    expect(restarts).toBeGreaterThan(0);
  });

  it("uses only the engine's section-7 vocabulary in expectations", () => {
    for (const { expected } of cohort) {
      expect(vocabularyProblems(expected), expected.patientId).toEqual([]);
      expect(expected.asOf).toBe(AS_OF);
      const starts = expected.courses.map((c) => c.start);
      expect([...starts].sort()).toEqual(starts);
    }
  });

  it("roughly matches the intended mix of therapies and outcomes", () => {
    const random = cohort.slice(8);
    const share = (predicate: (p: (typeof cohort)[number]) => boolean) => random.filter(predicate).length / random.length;
    expect(share((p) => p.expected.courses.length === 0)).toBeGreaterThan(0.05);
    expect(share((p) => p.expected.courses.length === 0)).toBeLessThan(0.2);
    const firstDrug = (drug: string) => share((p) => p.expected.courses[0]?.drug === drug);
    expect(firstDrug("upadacitinib")).toBeGreaterThan(0.28);
    expect(firstDrug("upadacitinib")).toBeLessThan(0.5);
    expect(firstDrug("ruxolitinib-cream")).toBeGreaterThan(0.2);
    expect(firstDrug("abrocitinib")).toBeGreaterThan(0.1);
    expect(firstDrug("baricitinib")).toBeGreaterThan(0.03);
    expect(share((p) => p.expected.archetype === "responder")).toBeGreaterThan(0.3);
    expect(share((p) => p.expected.archetype.startsWith("non-responder") || p.expected.archetype === "switch" || p.expected.archetype === "stopped")).toBeGreaterThan(0.1);
    expect(share((p) => p.expected.courses.length > 1)).toBeGreaterThan(0.01);
    const restarted = random.filter((p) => p.expected.archetype === "restarted");
    expect(restarted.length).toBeGreaterThan(0);
    for (const p of restarted) expect(p.expected.courses.map((c) => c.drug)).toEqual([p.expected.courses[0]?.drug, p.expected.courses[0]?.drug]);
    expect(random.some((p) => p.expected.archetype === "responder-paused" && p.expected.courses.length === 1)).toBe(true);
    // Courses at every stage on asOf: some checkpoints open, some not yet due, some decided.
    const verdicts = random.flatMap((p) => p.expected.courses.flatMap((c) => Object.values(c.checkpoints)));
    for (const verdict of ["responded", "not-responded", "not-assessable", "open", "not-due"]) expect(verdicts, verdict).toContain(verdict);
    const flagKinds = new Set(random.flatMap((p) => p.expected.flagKinds));
    for (const kind of ["missing-lab", "overdue-lab", "early-signal", "non-response", "abnormal-lab", "bsa-limit", "cream-quantity"]) expect([...flagKinds], kind).toContain(kind);
    const labStatuses = random.flatMap((p) => p.expected.courses.flatMap((c) => Object.values(c.labs)));
    for (const status of ["done", "due", "overdue", "missing", "not-due"]) expect(labStatuses, status).toContain(status);
  });

  it("shows the realistic variety the engine must cope with", () => {
    const resources = cohort.flatMap((p) => p.resources);
    const json = resources.map((r) => JSON.stringify(r));
    const count = (needle: string) => json.filter((line) => line.includes(needle)).length;
    expect(count('"resourceType":"MedicationRequest"')).toBeGreaterThan(0);
    expect(count('"reference":"#med"')).toBeGreaterThan(0);
    expect(count('"status":"entered-in-error"')).toBeGreaterThan(0);
    expect(count('"status":"amended"')).toBeGreaterThan(0);
    expect(count("urn:oid:1.2.840.114350.1.13.0.1.7.2.768282")).toBeGreaterThan(0);
    for (const unit of ["10*9/L", "g/L", "mmol/L"]) expect(count(`"code":"${unit}"`), unit).toBeGreaterThan(0);
    expect(count('"code":"72514-3"')).toBeGreaterThan(0);
    expect(json.filter((line) => line.includes('"code":"7702100"') && line.includes('"component":[')).length).toBeGreaterThan(0);
    expect(json.filter((line) => line.includes('"code":"7702100"') && line.includes('"hasMember":[')).length).toBeGreaterThan(0);
    expect(count('"resourceType":"Immunization"')).toBeGreaterThan(0);
    expect(count('"resourceType":"MedicationDispense"')).toBeGreaterThan(0);
    expect(count('"code":"121"')).toBeGreaterThan(0);
    const easiValues = resources.flatMap((r) => (r.resourceType === "Observation" && r.code?.coding?.[0]?.code === "easi" && r.valueQuantity?.value !== undefined ? [r.valueQuantity.value] : []));
    expect(easiValues.some((v) => v > 72)).toBe(true);
    expect(json.some((line) => line.includes('"medicationReference":{"display"'))).toBe(true);
  });

  it("builds the jak-panel Group from exactly the patients with a JAK course, after all patients", () => {
    const all = [...generateCohortResources({ patients: 60, seed: 77 })];
    const group = all[all.length - 1] as Group;
    expect(group).toMatchObject({ resourceType: "Group", id: "jak-panel", name: "Dermatology clinic JAK panel", type: "person", actual: true });
    const withCourse = [...generateCohort({ patients: 60, seed: 77 })].filter((p) => p.expected.courses.length > 0).map((p) => `Patient/${p.patientId}`);
    expect(group.member?.map((m) => m.entity.reference)).toEqual(withCourse);
    expect(withCourse).not.toContain("Patient/pt-000005");
  });

  it("provides staff with the app roles", () => {
    const roles = shared.filter((r): r is PractitionerRole => r.resourceType === "PractitionerRole");
    const codes = roles.map((r) => r.code?.[0]?.coding?.find((c) => c.system === APP_ROLE_SYSTEM)?.code);
    expect(codes.filter((c) => c === "dermatologist").length).toBeGreaterThanOrEqual(2);
    expect(codes).toContain("clinic-lead");
    expect(codes).toContain("quality");
    expect(shared.some((r) => r.resourceType === "Organization")).toBe(true);
  });

  it("rejects invalid options", () => {
    expect(() => [...generateCohort({ patients: -1, seed: 1 })]).toThrow();
    expect(() => [...generateCohort({ patients: 1, seed: 1, asOf: "11/01/2026" })]).toThrow();
  });
});
