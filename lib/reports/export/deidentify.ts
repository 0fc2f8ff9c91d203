/**
 * De-identified patient lists for sharing outside the clinic.
 *
 * - Pseudonym: HMAC-SHA256 over (source id, patient id) with a key derived from the configured secret, base32
 *   (RFC 4648, no padding), truncated (16 characters = 80 bits by default). Stable: the same secret gives the same
 *   pseudonym in every export, so exports can be linked with each other but not back to the EHR without the secret.
 *   The same person in two sources gets two pseudonyms.
 * - Date shift: every date of a patient moves by the same number of days, derived from the secret (a second key)
 *   and the patient, between -maxShiftDays and +maxShiftDays and never 0. Intervals between that patient's dates
 *   are kept; calendar facts (weekday, season, exact age) are not.
 * - Output holds only the pseudonym, the shifted date fields and the fields explicitly kept; every other field of
 *   the input (names, identifiers, patient id, source id) is left out. Kept fields whose names look identifying are
 *   refused.
 * Pure: no IO and no configuration read here; the caller passes the secret. Error messages name fields, never
 * values (they may reach logs).
 * This is pseudonymisation with date shifting, not HIPAA Safe Harbor (which drops all date parts but the year).
 */
import { createHmac, hkdfSync } from "node:crypto";

export type DeidentificationSecret = string | Uint8Array;

export const MIN_SECRET_BYTES = 32;
export const DEFAULT_PSEUDONYM_LENGTH = 16;
export const DEFAULT_MAX_SHIFT_DAYS = 180;
const MAX_PSEUDONYM_LENGTH = 52; // 256 bits in base32
const MAX_SHIFT_DAYS_LIMIT = 3650;
const KEY_SALT = "eczema-jak-monitor/deidentify";
const DAY_MS = 86_400_000;

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function secretBytes(secret: DeidentificationSecret): Uint8Array {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(`de-identification secret must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Separate keys for pseudonyms and date shifts, so one output reveals nothing about the other. */
function deriveKey(secret: DeidentificationSecret, purpose: "pseudonym" | "date-shift"): Buffer {
  return Buffer.from(hkdfSync("sha256", secretBytes(secret), KEY_SALT, `${purpose} v1`, 32));
}

function patientMac(key: Buffer, sourceId: string, patientId: string): Buffer {
  if (sourceId === "" || patientId === "") throw new RangeError("source id and patient id must not be empty");
  // JSON keeps the pair unambiguous ("a|b" + "c" differs from "a" + "b|c").
  return createHmac("sha256", key).update(JSON.stringify([sourceId, patientId])).digest();
}

function checkPseudonymLength(length: number): void {
  if (!Number.isInteger(length) || length < 8 || length > MAX_PSEUDONYM_LENGTH) {
    throw new RangeError(`pseudonym length must be an integer from 8 to ${MAX_PSEUDONYM_LENGTH}, got ${length}`);
  }
}

function checkMaxShiftDays(maxShiftDays: number): void {
  if (!Number.isInteger(maxShiftDays) || maxShiftDays < 1 || maxShiftDays > MAX_SHIFT_DAYS_LIMIT) {
    throw new RangeError(`maxShiftDays must be an integer from 1 to ${MAX_SHIFT_DAYS_LIMIT}, got ${maxShiftDays}`);
  }
}

function pseudonymWithKey(key: Buffer, sourceId: string, patientId: string, length: number): string {
  return base32(patientMac(key, sourceId, patientId)).slice(0, length);
}

function shiftDaysWithKey(key: Buffer, sourceId: string, patientId: string, maxShiftDays: number): number {
  // 48 bits modulo 2N: the bias is below 2^-30 for any allowed N.
  const n = patientMac(key, sourceId, patientId).readUIntBE(0, 6) % (2 * maxShiftDays);
  return n < maxShiftDays ? n - maxShiftDays : n - maxShiftDays + 1;
}

/** Stable keyed pseudonym of a patient of a source: base32 characters A-Z and 2-7. */
export function pseudonym(secret: DeidentificationSecret, sourceId: string, patientId: string, length = DEFAULT_PSEUDONYM_LENGTH): string {
  checkPseudonymLength(length);
  return pseudonymWithKey(deriveKey(secret, "pseudonym"), sourceId, patientId, length);
}

/** The patient's date shift in days: in [-maxShiftDays, -1] or [1, maxShiftDays], the same on every call. */
export function dateShiftDays(secret: DeidentificationSecret, sourceId: string, patientId: string, maxShiftDays = DEFAULT_MAX_SHIFT_DAYS): number {
  checkMaxShiftDays(maxShiftDays);
  return shiftDaysWithKey(deriveKey(secret, "date-shift"), sourceId, patientId, maxShiftDays);
}

const FULL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))$/;

function shiftFullDate(date: string, days: number): string | undefined {
  const match = FULL_DATE.exec(date);
  if (!match) return undefined;
  const time = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (new Date(time).toISOString().slice(0, 10) !== date) return undefined; // 2026-02-30 and the like
  return new Date(time + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A FHIR date (YYYY-MM-DD) or dateTime with time zone moved by whole days; a dateTime keeps its time and offset.
 * Returns undefined for partial dates (YYYY, YYYY-MM: no day to shift), dateTimes without a zone and anything else.
 */
export function shiftDate(value: string, days: number): string | undefined {
  if (!Number.isInteger(days)) throw new RangeError(`date shift must be whole days, got ${days}`);
  const dateTime = DATE_TIME.exec(value);
  if (dateTime) {
    const shifted = shiftFullDate(dateTime[1]!, days);
    return shifted === undefined ? undefined : shifted + dateTime[2]!;
  }
  return shiftFullDate(value, days);
}

export type KeptValue = string | number | boolean | null;

/** A patient-list row: the patient's keys, date fields, kept fields, and anything else (dropped). */
export type PatientListRow<D extends string, K extends string> = {
  readonly sourceId: string;
  readonly patientId: string;
} & { readonly [F in D]?: string | null } & { readonly [F in K]?: KeptValue };

export type DeidentifiedRow<D extends string, K extends string> = { readonly pseudonym: string } & {
  readonly [F in D]: string | null;
} & { readonly [F in K]: KeptValue };

export interface DeidentifyOptions<D extends string, K extends string> {
  readonly secret: DeidentificationSecret;
  /** Date fields to shift (YYYY-MM-DD or dateTime with zone); missing or null stays null. */
  readonly dateFields: readonly D[];
  /** Non-identifying fields copied as they are (drug, route, outcome, ...). */
  readonly keepFields: readonly K[];
  readonly maxShiftDays?: number;
  readonly pseudonymLength?: number;
}

/** Field names that name or identify a person, refused in keepFields and dateFields. */
const IDENTIFYING_FIELD =
  /^(patientId|sourceId|pseudonym|id|mrn|ssn)$|^(patient|given|family|full|first|last|middle|display)?name$|identifier|address|phone|email|telecom|postal|zip/i;

/**
 * A function that de-identifies one patient-list row. Keys are derived once here, so a long list costs one HMAC
 * pair per row. Throws a RangeError naming the field when a date cannot be shifted or a kept text equals the
 * patient id.
 */
export function deidentifier<D extends string, K extends string>(options: DeidentifyOptions<D, K>): (row: PatientListRow<D, K>) => DeidentifiedRow<D, K> {
  const maxShiftDays = options.maxShiftDays ?? DEFAULT_MAX_SHIFT_DAYS;
  const length = options.pseudonymLength ?? DEFAULT_PSEUDONYM_LENGTH;
  checkMaxShiftDays(maxShiftDays);
  checkPseudonymLength(length);
  const fields: readonly string[] = [...options.dateFields, ...options.keepFields];
  for (const field of fields) {
    if (IDENTIFYING_FIELD.test(field)) throw new RangeError(`field "${field}" may identify a patient and cannot be in a de-identified list`);
  }
  if (new Set(fields).size !== fields.length) throw new RangeError("a field is listed twice in dateFields and keepFields");
  const pseudonymKey = deriveKey(options.secret, "pseudonym");
  const shiftKey = deriveKey(options.secret, "date-shift");

  return (row) => {
    const out: Record<string, KeptValue> = { pseudonym: pseudonymWithKey(pseudonymKey, row.sourceId, row.patientId, length) };
    const days = shiftDaysWithKey(shiftKey, row.sourceId, row.patientId, maxShiftDays);
    const values = row as unknown as Readonly<Record<string, unknown>>;
    for (const field of options.dateFields) {
      const value = values[field];
      if (value === null || value === undefined) { out[field] = null; continue; }
      const shifted = typeof value === "string" ? shiftDate(value, days) : undefined;
      if (shifted === undefined) {
        throw new RangeError(`date field "${field}" is not a full date (YYYY-MM-DD) or a dateTime with time zone, so it cannot be shifted`);
      }
      out[field] = shifted;
    }
    for (const field of options.keepFields) {
      const value = values[field];
      if (value === undefined || value === null) { out[field] = null; continue; }
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        throw new RangeError(`kept field "${field}" is not a string, number or boolean`);
      }
      if (value === row.patientId) throw new RangeError(`kept field "${field}" holds the patient id`);
      out[field] = value;
    }
    return out as DeidentifiedRow<D, K>;
  };
}

/** The note for the header block of a de-identified export. */
export function deidentificationNote(maxShiftDays = DEFAULT_MAX_SHIFT_DAYS): string {
  return `Patients are identified by a keyed pseudonym only. Each patient's dates are shifted by the same secret number of days (up to ${maxShiftDays} either way), so intervals within a patient are true but calendar dates are not.`;
}
