/**
 * Input grouping for the engine: Bundles flattened, resources checked, grouped by patient (subject references
 * resolved through fullUrl aliases; panel members without a subject join their panel's patient), Medications
 * indexed. Notes about input that belongs to no patient are the "global" notes.
 */
import type { Resource } from "@medplum/fhirtypes";
import { indexMappings, type MappingIndex } from "./codes";
import type { MedicationKind } from "./courses";
import { arr, rec, str, type Json } from "./json";
import type { CodeMapping, DataQualityNote } from "./types";

/** A resource as read from input: anything, possibly malformed. */
export type InputItem = Resource | Record<string, unknown> | unknown;

export interface PatientBucket {
  patientId: string;
  patient: Json | null;
  observations: Json[];
  medications: Array<{ json: Json; kind: MedicationKind }>;
  immunizations: Json[];
  procedures: Json[];
}

const MED_KINDS = new Set(["MedicationStatement", "MedicationRequest", "MedicationDispense"]);
/** Resource types the engine reads per patient; others (Claim, Encounter, ...) are passed over silently. */
const PATIENT_TYPES = new Set(["Observation", "MedicationStatement", "MedicationRequest", "MedicationDispense", "Immunization", "Procedure"]);

interface Collected {
  json: Json;
  type: string;
  fullUrl: string | null;
  position: number;
}

/** How a resource is named in notes: Type/id, else its fullUrl, else its place in the input. */
function labelOf(c: Collected): string {
  const id = str(c.json.id);
  return id ? `${c.type}/${id}` : (c.fullUrl ?? `${c.type}/#${c.position}`);
}

/** Flattens Bundles (transaction, collection, searchset) and checks every item has a resourceType. */
function collect(input: Iterable<InputItem>, notes: DataQualityNote[]): Collected[] {
  const out: Collected[] = [];
  let position = 0;
  const visit = (item: unknown, fullUrl: string | null, depth: number) => {
    position++;
    const json = rec(item);
    if (!json) {
      notes.push({ resource: `input/#${position}`, issue: "not-a-resource", detail: "Item is not a JSON object." });
      return;
    }
    const type = str(json.resourceType);
    if (!type) {
      notes.push({ resource: str(json.id) ? `unknown/${str(json.id)}` : `input/#${position}`, issue: "no-resource-type", detail: "Item has no resourceType." });
      return;
    }
    if (type === "Bundle" && depth < 3) {
      for (const entry of arr(json.entry)) {
        const e = rec(entry);
        if (!e) continue;
        if (e.resource === undefined) continue;
        visit(e.resource, str(e.fullUrl), depth + 1);
      }
      return;
    }
    out.push({ json, type, fullUrl, position });
  };
  for (const item of input) visit(item, null, 0);
  return out;
}

/** Resolves a reference to "Type/id" through fullUrl aliases, relative and absolute URLs. */
function resolveReference(reference: string, aliases: ReadonlyMap<string, string>): string | null {
  const aliased = aliases.get(reference);
  if (aliased) return aliased;
  if (reference.startsWith("urn:") || reference.startsWith("#")) return null;
  let ref = reference;
  const history = ref.indexOf("/_history/");
  if (history >= 0) ref = ref.slice(0, history);
  const slash = ref.lastIndexOf("/");
  if (slash <= 0) return null;
  const prev = ref.lastIndexOf("/", slash - 1);
  return ref.slice(prev + 1);
}

function subjectOf(c: Collected): unknown {
  return c.type === "Immunization" ? c.json.patient : c.json.subject;
}

export interface Buckets {
  /** By patient id, in input order of first mention. */
  buckets: Map<string, PatientBucket>;
  medications: Map<string, Json>;
  /** Panel members without their own date take the panel's. */
  panelDates: Map<Json, string>;
  mappings: MappingIndex;
  globalNotes: DataQualityNote[];
}

export function bucketResources(resources: Iterable<InputItem>, codeMappings: CodeMapping[] | undefined): Buckets {
  const globalNotes: DataQualityNote[] = [];
  const collected = collect(resources, globalNotes);
  const mappings = indexMappings(codeMappings);

  // Index once: fullUrl and relative aliases, Medications, Patients.
  const aliases = new Map<string, string>();
  const medications = new Map<string, Json>();
  const buckets = new Map<string, PatientBucket>();
  const bucketFor = (patientId: string): PatientBucket => {
    let b = buckets.get(patientId);
    if (!b) buckets.set(patientId, (b = { patientId, patient: null, observations: [], medications: [], immunizations: [], procedures: [] }));
    return b;
  };
  for (const c of collected) {
    const id = str(c.json.id);
    if (id && c.fullUrl) aliases.set(c.fullUrl, `${c.type}/${id}`);
    if (c.type === "Medication") {
      if (id) medications.set(`Medication/${id}`, c.json);
      if (c.fullUrl) medications.set(c.fullUrl, c.json);
    } else if (c.type === "Patient") {
      const patientId = id ?? c.fullUrl;
      if (!patientId) {
        globalNotes.push({ resource: labelOf(c), issue: "no-id", detail: "Patient has no id and no fullUrl." });
        continue;
      }
      if (!id && c.fullUrl) aliases.set(c.fullUrl, `Patient/${patientId}`);
      bucketFor(patientId).patient = c.json;
    }
  }

  const orphans = new Map<string, Json>();
  const panels: Array<[Json, PatientBucket]> = [];
  for (const c of collected) {
    if (!PATIENT_TYPES.has(c.type)) continue;
    const subject = rec(subjectOf(c));
    const reference = str(subject?.reference);
    const resolved = reference ? resolveReference(reference, aliases) : null;
    if (!resolved || !resolved.startsWith("Patient/") || resolved.length <= 8) {
      if (c.type === "Observation" && !subject) {
        orphans.set(labelOf(c), c.json); // may be a panel member that inherits the panel's subject
        continue;
      }
      globalNotes.push({
        resource: labelOf(c),
        issue: subject ? "unresolved-subject" : "no-subject",
        detail: subject ? `Subject reference "${reference ?? "(none)"}" does not resolve to a Patient.` : `${c.type} has no ${c.type === "Immunization" ? "patient" : "subject"}.`,
      });
      continue;
    }
    const bucket = bucketFor(resolved.slice(8));
    if (c.type === "Observation") {
      bucket.observations.push(c.json);
      if (Array.isArray(c.json.hasMember) && c.json.hasMember.length > 0) panels.push([c.json, bucket]);
    } else if (MED_KINDS.has(c.type)) bucket.medications.push({ json: c.json, kind: c.type as MedicationKind });
    else if (c.type === "Immunization") bucket.immunizations.push(c.json);
    else bucket.procedures.push(c.json);
  }

  // Panels: members without a subject or a date take the panel's.
  const panelDates = new Map<Json, string>();
  for (const [panel, bucket] of panels) {
    const members = arr(panel.hasMember);
    const panelDate = str(panel.effectiveDateTime) ?? str(rec(panel.effectivePeriod)?.start) ?? str(panel.issued);
    for (const m of members) {
      const reference = str(rec(m)?.reference);
      if (!reference) continue;
      const resolved = aliases.get(reference) ?? resolveReference(reference, aliases) ?? reference;
      const member = orphans.get(resolved) ?? orphans.get(reference);
      if (member) {
        orphans.delete(resolved);
        orphans.delete(reference);
        bucket.observations.push(member);
        if (panelDate) panelDates.set(member, panelDate);
      }
    }
  }
  for (const label of orphans.keys()) globalNotes.push({ resource: label, issue: "no-subject", detail: "Observation has no subject and is not a member of a patient's panel." });

  return { buckets, medications, panelDates, mappings, globalNotes };
}
