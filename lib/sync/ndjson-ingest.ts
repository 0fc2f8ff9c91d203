/**
 * The pure half of ingest: one NDJSON line into the columns stored for it (patient id, version, hash), or an issue
 * saying why it cannot be stored; Bulk Data `deleted` lines into the resources they delete; the version order that
 * decides which of two copies wins; rows encoded for COPY. lib/db/resource-store.ts does the SQL.
 */
import { hash } from "node:crypto";
import type { Patient } from "@medplum/fhirtypes";
import { displayName } from "../fhir/patient-view";

export interface ResourceRow {
  resourceType: string;
  id: string;
  /** The Patient's own id, else the patient its subject/patient references; "" outside any patient compartment. */
  patientId: string;
  versionId: string | null;
  /** meta.lastUpdated when it is a FHIR instant PostgreSQL accepts (see instantMicros), else null. */
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

function daysFromCivil(year: number, month: number, day: number): number {
  // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil), exact for any year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719468;
}

const POSTGRES_EPOCH_DAYS = daysFromCivil(2000, 1, 1);
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** C's rint(): to the nearest integer, halves to even. */
function rint(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

function digitsAt(value: string, from: number, to: number): number {
  let result = 0;
  for (let i = from; i < to; i++) result = result * 10 + value.charCodeAt(i) - 48;
  return result;
}

/**
 * A FHIR instant as PostgreSQL's timestamptz input reads it: [seconds since 2000-01-01T00:00:00Z, microseconds],
 * or null when it is no FHIR instant or one PostgreSQL refuses (a day the month does not have, year 0, a leap
 * second with a fraction). The fraction is rounded to microseconds as PostgreSQL does (rint of the parsed double);
 * the column's millisecond precision is applied by PostgreSQL on receipt.
 */
function instantParts(value: string): [seconds: number, micros: number] | null {
  if (!FHIR_INSTANT.test(value)) return null;
  // The pattern fixed every position up to the seconds.
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 7);
  const day = digitsAt(value, 8, 10);
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (year === 0 || day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return null;
  const second = digitsAt(value, 17, 19);
  let zone = 19;
  let micros = 0;
  if (value.charCodeAt(19) === 46) {
    while (++zone < value.length && value.charCodeAt(zone) >= 48 && value.charCodeAt(zone) <= 57);
    micros = rint(Number(value.slice(19, zone)) * 1_000_000);
  }
  if (second === 60 && micros !== 0) return null;
  const zoneChar = value.charCodeAt(zone);
  const offset = zoneChar === 90 ? 0 : (zoneChar === 45 ? -1 : 1) * (digitsAt(value, zone + 1, zone + 3) * 3600 + digitsAt(value, zone + 4, zone + 6) * 60);
  const seconds = (daysFromCivil(year, month, day) - POSTGRES_EPOCH_DAYS) * 86400 + digitsAt(value, 11, 13) * 3600 + digitsAt(value, 14, 16) * 60 + second - offset;
  return [seconds, micros];
}

/** A FHIR instant in microseconds since 2000-01-01T00:00:00Z as PostgreSQL reads it (see instantParts), or null. */
export function instantMicros(value: string): bigint | null {
  const parts = instantParts(value);
  return parts && BigInt(parts[0]) * 1_000_000n + BigInt(parts[1]);
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
  // The one-shot hash: a third cheaper than createHash() for a line of a few hundred bytes.
  return hash("sha1", text, "hex");
}

/** Nesting PostgreSQL's json input stops at ("stack depth limit exceeded") is far beyond any FHIR resource. */
const MAX_DEPTH = 1000;

/** The deepest nesting of arrays and objects in JSON text (outside strings); only long lines can be deep. */
function nestingDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) deepest = Math.max(deepest, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

/** One line of an NDJSON output file: the row to store, or the issue that keeps it out (kept in sync_issues). */
export function parseResourceLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, issue: { issue: "malformed-json", detail: `not valid JSON: ${error instanceof Error ? error.message.slice(0, 200).replace(/\u0000/g, "\\u0000") : "parse error"}` } }; // text cannot hold NUL
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
  if (line.length > MAX_DEPTH && nestingDepth(line) > MAX_DEPTH) {
    return { ok: false, issue: { issue: "unsupported-json", detail: `${resourceType}/${id} is nested deeper than ${MAX_DEPTH} levels, more than PostgreSQL's JSON parser takes` } };
  }
  const meta = resource.meta && typeof resource.meta === "object" ? resource.meta : undefined;
  const versionId = typeof meta?.versionId === "string" && meta.versionId.length > 0 ? meta.versionId : null;
  const lastUpdated = typeof meta?.lastUpdated === "string" && instantParts(meta.lastUpdated) !== null ? meta.lastUpdated : null;
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
    return { ok: false, issue: { issue: "malformed-json", detail: `not valid JSON: ${error instanceof Error ? error.message.slice(0, 200).replace(/\u0000/g, "\\u0000") : "parse error"}` } }; // text cannot hold NUL
  }
  const bundle = value as { resourceType?: unknown; entry?: unknown; meta?: { lastUpdated?: unknown }; timestamp?: unknown } | null;
  if (!bundle || typeof bundle !== "object" || bundle.resourceType !== "Bundle" || !Array.isArray(bundle.entry)) {
    return { ok: false, issue: { issue: "not-a-delete", detail: "a deleted-resources line must be a Bundle with entries" } };
  }
  const instant = (candidate: unknown): string | null => (typeof candidate === "string" && instantParts(candidate) !== null ? candidate : null);
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

/** The columns of a COPY into fhir_resources (or the staging table), in the order CopyRowEncoder writes them. */
export const COPY_COLUMNS = "source, sync_run_id, patient_id, resource_type, id, version_id, last_updated, content_hash, resource";

/**
 * COPY's binary format: every field its length and bytes, so nothing is escaped here and PostgreSQL scans for no
 * delimiter, quote or backslash (about a quarter less of its CPU than the text or CSV format for the same rows).
 * The fields must be the columns' own types: text, bigint, timestamptz, and json (whose binary form is its text).
 */
export const COPY_FORMAT = "FORMAT binary";

const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const COPY_FIELDS = 9;
/** Bytes of a COPY data message: large enough that messages cost little, small enough that PostgreSQL starts early. */
const COPY_CHUNK_BYTES = 128 * 1024;
const COPY_BUFFER_BYTES = 1024 * 1024;

function putText(buffer: Buffer, at: number, value: string): number {
  const length = buffer.write(value, at + 4);
  buffer.writeInt32BE(length, at);
  return at + 4 + length;
}

function putNull(buffer: Buffer, at: number): number {
  return buffer.writeInt32BE(-1, at);
}

/**
 * A timestamptz field: seconds * 1e6 + micros as a 64-bit integer, without BigInt. seconds * 15625 is exact in a
 * double (|seconds| < 2^39 for years 1 to 9999); the value is that times 64 plus micros, split at bit 32.
 */
function putTimestamp(buffer: Buffer, at: number, [seconds, micros]: [number, number]): number {
  const scaled = seconds * 15625;
  let high = Math.floor(scaled / 67_108_864);
  let low = (scaled - high * 67_108_864) * 64 + micros;
  if (low >= 4_294_967_296) {
    high += 1;
    low -= 4_294_967_296;
  }
  at = buffer.writeInt32BE(8, at);
  at = buffer.writeInt32BE(high, at);
  return buffer.writeUInt32BE(low, at);
}

function putHeader(buffer: Buffer, at: number): number {
  at += COPY_SIGNATURE.copy(buffer, at);
  // Flags, header extension length.
  at = buffer.writeInt32BE(0, at);
  return buffer.writeInt32BE(0, at);
}

/** The columns of a COPY of keys (encodeCopyKeys), in the order they are written. */
export const COPY_KEY_COLUMNS = "patient_id, resource_type, id, version_id, last_updated";

/**
 * The keys and versions of rows as one COPY in COPY_FORMAT, for the search for resources that moved to another
 * patient. Patients are left out: their key is their own id, they cannot move.
 */
export function encodeCopyKeys(rows: ResourceRow[]): Buffer {
  let most = COPY_SIGNATURE.length + 8 + 2;
  for (const row of rows) most += 2 + 5 * 4 + 8 + 3 * (row.patientId.length + row.resourceType.length + row.id.length + (row.versionId?.length ?? 0));
  const buffer = Buffer.allocUnsafe(most);
  let at = putHeader(buffer, 0);
  for (const row of rows) {
    if (row.resourceType === "Patient") continue;
    const lastUpdated = row.lastUpdated === null ? null : instantParts(row.lastUpdated);
    at = buffer.writeInt16BE(5, at);
    at = putText(buffer, at, row.patientId);
    at = putText(buffer, at, row.resourceType);
    at = putText(buffer, at, row.id);
    at = row.versionId === null ? putNull(buffer, at) : putText(buffer, at, row.versionId);
    at = lastUpdated === null ? putNull(buffer, at) : putTimestamp(buffer, at, lastUpdated);
  }
  at = buffer.writeInt16BE(-1, at);
  return buffer.subarray(0, at);
}

/**
 * Encodes the rows of one COPY (header, rows, trailer) straight into large buffers, handing them on in chunks of
 * about COPY_CHUNK_BYTES as they fill, so PostgreSQL can read a batch while it is still being parsed. Rows must
 * come from parseResourceLine: a lastUpdated it kept is one PostgreSQL accepts, a line it kept is valid JSON.
 */
export class CopyRowEncoder {
  /** Field count, source and sync_run_id: the same bytes at the start of every row. */
  private readonly prefix: Buffer;
  private buffer = Buffer.allocUnsafe(0);
  private start = 0;
  private offset = 0;

  constructor(
    source: string,
    runId: bigint,
    private readonly onChunk: (chunk: Buffer) => void,
    private readonly chunkBytes = COPY_CHUNK_BYTES,
  ) {
    const sourceBytes = Buffer.from(source, "utf8");
    this.prefix = Buffer.allocUnsafe(2 + 4 + sourceBytes.length + 4 + 8);
    let at = this.prefix.writeInt16BE(COPY_FIELDS, 0);
    at = this.prefix.writeInt32BE(sourceBytes.length, at);
    at += sourceBytes.copy(this.prefix, at);
    at = this.prefix.writeInt32BE(8, at);
    this.prefix.writeBigInt64BE(runId, at);
    this.reserve(COPY_SIGNATURE.length + 8);
    this.offset = putHeader(this.buffer, this.offset);
  }

  add(row: ResourceRow, line: string): void {
    const lastUpdated = row.lastUpdated === null ? null : instantParts(row.lastUpdated);
    if (row.lastUpdated !== null && lastUpdated === null) throw new Error(`${row.resourceType}/${row.id}: lastUpdated is not an instant PostgreSQL accepts`);
    // At most 3 UTF-8 bytes per UTF-16 unit; 4 bytes of length per field, 8 of timestamp.
    const text = row.patientId.length + row.resourceType.length + row.id.length + (row.versionId?.length ?? 0) + row.contentHash.length + line.length;
    this.reserve(this.prefix.length + 7 * 4 + 8 + 3 * text);
    const buffer = this.buffer;
    let at = this.offset + this.prefix.copy(buffer, this.offset);
    at = putText(buffer, at, row.patientId);
    at = putText(buffer, at, row.resourceType);
    at = putText(buffer, at, row.id);
    at = row.versionId === null ? putNull(buffer, at) : putText(buffer, at, row.versionId);
    at = lastUpdated === null ? putNull(buffer, at) : putTimestamp(buffer, at, lastUpdated);
    at = putText(buffer, at, row.contentHash);
    at = putText(buffer, at, line);
    this.offset = at;
    if (at - this.start >= this.chunkBytes) this.handOn();
  }

  /** Writes the trailer and hands on the last chunk. */
  end(): void {
    this.reserve(2);
    this.offset = this.buffer.writeInt16BE(-1, this.offset);
    this.handOn();
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    this.handOn();
    this.buffer = Buffer.allocUnsafe(Math.max(COPY_BUFFER_BYTES, bytes));
    this.start = this.offset = 0;
  }

  private handOn(): void {
    if (this.offset === this.start) return;
    const chunk = this.buffer.subarray(this.start, this.offset);
    this.start = this.offset;
    this.onChunk(chunk);
  }
}
