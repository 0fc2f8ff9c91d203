/**
 * The pure half of ingest: one NDJSON line into the columns stored for it (patient id, version, hash), or an issue
 * saying why it cannot be stored; Bulk Data `deleted` lines into the resources they delete; the version order that
 * decides which of two copies wins; COPY text escaping. lib/db/resource-store.ts does the SQL.
 */
import { createHash } from "node:crypto";
import type { Patient } from "@medplum/fhirtypes";
import { displayName } from "../fhir/patient-view";

export interface ResourceRow {
  resourceType: string;
  id: string;
  /** The Patient's own id, else the patient its subject/patient references; "" outside any patient compartment. */
  patientId: string;
  versionId: string | null;
  /** meta.lastUpdated when it is a valid FHIR instant (anything else would abort a COPY), else null. */
  lastUpdated: string | null;
  /** sha1 of the line as received. */
  contentHash: string;
  /** For Patient resources: the display fields mirrored into the patients table. */
  patient?: { displayName: string | null; birthDate: string | null; sex: string | null };
}

export interface LineIssue {
  issue: "malformed-json" | "not-a-resource" | "missing-resource-type" | "missing-id" | "unsupported-json" | "not-a-delete" | "export-error";
  detail: string;
}

export type ParsedLine = { ok: true; row: ResourceRow } | { ok: false; issue: LineIssue };

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const FHIR_INSTANT = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$/;
const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/;
const MEDICATION_REFERENCE = /(?:^|\/)Medication\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/;
/** Compartment references tried in order: subject for most clinical types, patient for Immunization and others. */
const PATIENT_REFERENCE_FIELDS = ["subject", "patient"] as const;

/** The patient id a reference names: relative ("Patient/x"), absolute URL, or versioned (".../_history/2"); else null. */
export function patientIdFromReference(reference: unknown): string | null {
  if (typeof reference !== "string") return null;
  return PATIENT_REFERENCE.exec(reference.trim())?.[1] ?? null;
}

/** The Medication id a reference names (contained "#x" references are not stored rows), else null. */
export function medicationIdFromReference(reference: unknown): string | null {
  if (typeof reference !== "string") return null;
  return MEDICATION_REFERENCE.exec(reference.trim())?.[1] ?? null;
}

/** The patient whose compartment holds the resource: its own id for a Patient, else subject/patient; "" when none. */
export function patientIdOf(resource: { resourceType?: unknown; id?: unknown } & Record<string, unknown>): string {
  if (resource.resourceType === "Patient") return typeof resource.id === "string" ? resource.id : "";
  for (const field of PATIENT_REFERENCE_FIELDS) {
    const value = resource[field];
    if (value && typeof value === "object") {
      const id = patientIdFromReference((value as { reference?: unknown }).reference);
      if (id) return id;
    }
  }
  return "";
}

/** PostgreSQL's jsonb refuses \u0000 and unpaired surrogate escapes that JSON.parse accepts: such a line would abort a COPY. */
export function isJsonbSafe(line: string): boolean {
  if (!line.includes("\\u")) return true;
  const escapes = /\\(?:u([0-9a-fA-F]{4})|[^u])/g;
  let pendingHigh = false;
  let lastEnd = -1;
  for (let match = escapes.exec(line); match; match = escapes.exec(line)) {
    const hex = match[1];
    const adjacent = match.index === lastEnd;
    lastEnd = match.index + match[0].length;
    if (pendingHigh) {
      if (!(hex && adjacent && /^d[c-f]/i.test(hex))) return false;
      pendingHigh = false;
      continue;
    }
    if (!hex) continue;
    const code = parseInt(hex, 16);
    if (code === 0) return false;
    if (code >= 0xd800 && code <= 0xdbff) pendingHigh = true;
    else if (code >= 0xdc00 && code <= 0xdfff) return false;
  }
  return !pendingHigh;
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** One line of an NDJSON output file: the row to store, or the issue that keeps it out (kept in sync_issues). */
export function parseResourceLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, issue: { issue: "malformed-json", detail: `not valid JSON: ${error instanceof Error ? error.message.slice(0, 200) : "parse error"}` } };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { ok: false, issue: { issue: "not-a-resource", detail: "the line is JSON but not an object" } };
  const resource = value as Record<string, unknown> & { meta?: { versionId?: unknown; lastUpdated?: unknown } };
  const resourceType = resource.resourceType;
  if (typeof resourceType !== "string" || !RESOURCE_TYPE.test(resourceType)) {
    return { ok: false, issue: { issue: "missing-resource-type", detail: "the object has no valid resourceType" } };
  }
  const id = resource.id;
  if (typeof id !== "string" || !FHIR_ID.test(id)) return { ok: false, issue: { issue: "missing-id", detail: `${resourceType} without a valid id` } };
  if (!isJsonbSafe(line)) return { ok: false, issue: { issue: "unsupported-json", detail: `${resourceType}/${id} holds a \\u0000 or unpaired surrogate escape that PostgreSQL cannot store` } };
  const meta = resource.meta && typeof resource.meta === "object" ? resource.meta : undefined;
  const versionId = typeof meta?.versionId === "string" && meta.versionId.length > 0 ? meta.versionId : null;
  const lastUpdated = typeof meta?.lastUpdated === "string" && FHIR_INSTANT.test(meta.lastUpdated) ? meta.lastUpdated : null;
  const row: ResourceRow = { resourceType, id, patientId: patientIdOf(resource), versionId, lastUpdated, contentHash: sha1(line) };
  if (resourceType === "Patient") {
    const patient = resource as unknown as Patient;
    row.patient = {
      displayName: displayName(patient),
      birthDate: typeof patient.birthDate === "string" ? patient.birthDate : null,
      sex: typeof patient.gender === "string" ? patient.gender : null,
    };
  }
  return { ok: true, row };
}

export interface DeletedEntry {
  resourceType: string;
  id: string;
  /** When the deletion happened, if the Bundle says (entry.response.lastModified, else Bundle meta.lastUpdated or timestamp). */
  deletedAt: string | null;
}

/** A line of a Bulk Data `deleted` file: a transaction Bundle of DELETE entries whose request.url is Type/id. */
export function parseDeletedLine(line: string): { ok: true; entries: DeletedEntry[] } | { ok: false; issue: LineIssue } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, issue: { issue: "malformed-json", detail: `not valid JSON: ${error instanceof Error ? error.message.slice(0, 200) : "parse error"}` } };
  }
  const bundle = value as { resourceType?: unknown; entry?: unknown; meta?: { lastUpdated?: unknown }; timestamp?: unknown } | null;
  if (!bundle || typeof bundle !== "object" || bundle.resourceType !== "Bundle" || !Array.isArray(bundle.entry)) {
    return { ok: false, issue: { issue: "not-a-delete", detail: "a deleted-resources line must be a Bundle with entries" } };
  }
  const instant = (candidate: unknown): string | null => (typeof candidate === "string" && FHIR_INSTANT.test(candidate) ? candidate : null);
  const bundleTime = instant(bundle.meta?.lastUpdated) ?? instant(bundle.timestamp);
  const entries: DeletedEntry[] = [];
  for (const entry of bundle.entry as { request?: { method?: unknown; url?: unknown }; response?: { lastModified?: unknown } }[]) {
    if (entry?.request?.method !== "DELETE" || typeof entry.request.url !== "string") continue;
    const match = /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/.exec(entry.request.url.trim());
    if (!match?.[1] || !match[2]) continue;
    entries.push({ resourceType: match[1], id: match[2], deletedAt: instant(entry.response?.lastModified) ?? bundleTime });
  }
  if (entries.length === 0) return { ok: false, issue: { issue: "not-a-delete", detail: "the Bundle has no DELETE entry with a Type/id request.url" } };
  return { ok: true, entries };
}

function numericVersion(versionId: string | null): number | null {
  return versionId !== null && /^\d{1,15}$/.test(versionId) ? Number(versionId) : null;
}

/**
 * Whether `incoming` is older than `stored`: by meta.lastUpdated, then by numeric meta.versionId when lastUpdated
 * is the same (or absent on both). Unknown order is not older (the copy that arrives last wins). The SQL in
 * resource-store.ts applies the same rule.
 */
export function isOlder(incoming: { lastUpdated: string | null; versionId: string | null }, stored: { lastUpdated: string | null; versionId: string | null }): boolean {
  const incomingTime = incoming.lastUpdated === null ? null : Date.parse(incoming.lastUpdated);
  const storedTime = stored.lastUpdated === null ? null : Date.parse(stored.lastUpdated);
  if (incomingTime !== null && storedTime !== null && incomingTime !== storedTime) return incomingTime < storedTime;
  if (incomingTime !== storedTime) return false;
  const incomingVersion = numericVersion(incoming.versionId);
  const storedVersion = numericVersion(stored.versionId);
  return incomingVersion !== null && storedVersion !== null && incomingVersion < storedVersion;
}

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
export function copyText(value: string): string {
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (char) => (char === "\\" ? "\\\\" : char === "\t" ? "\\t" : char === "\n" ? "\\n" : "\\r")) : value;
}

/** A nullable value in COPY's text format (\N is NULL). */
export function copyNullable(value: string | null): string {
  return value === null ? "\\N" : copyText(value);
}
