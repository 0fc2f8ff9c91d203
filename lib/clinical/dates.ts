/**
 * Calendar-day arithmetic on dates as written in resources (clinical-reference 4: "their own offset; no
 * conversion to UTC"). Pure integer arithmetic on YYYY-MM-DD; never reads the clock.
 */
import type { IsoDate } from "./types";

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/**
 * The calendar date a FHIR date/dateTime/instant was written on: its first 10 characters, validated.
 * Returns null for partial dates (YYYY, YYYY-MM), impossible dates (2026-02-30) and anything else.
 */
export function calendarDate(value: unknown): IsoDate | null {
  if (typeof value !== "string" || value.length < 10) return null;
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return null; // '-'
  let y = 0;
  for (let i = 0; i < 4; i++) {
    const d = digit(value, i);
    if (d < 0) return null;
    y = y * 10 + d;
  }
  const m1 = digit(value, 5), m2 = digit(value, 6), d1 = digit(value, 8), d2 = digit(value, 9);
  if (m1 < 0 || m2 < 0 || d1 < 0 || d2 < 0) return null;
  const m = m1 * 10 + m2;
  const d = d1 * 10 + d2;
  if (y < 1 || m < 1 || m > 12 || d < 1) return null;
  const max = m === 2 && isLeap(y) ? 29 : (DAYS_IN_MONTH[m - 1] ?? 31);
  if (d > max) return null;
  // Anything after the date must be a time part (T...) to be a FHIR dateTime.
  if (value.length > 10 && value.charCodeAt(10) !== 84) return null; // 'T'
  return value.length === 10 ? value : value.slice(0, 10);
}

/** Days since 1970-01-01 of a valid YYYY-MM-DD (Howard Hinnant's days_from_civil). */
export function dayNumber(date: IsoDate): number {
  let y = (date.charCodeAt(0) - 48) * 1000 + (date.charCodeAt(1) - 48) * 100 + (date.charCodeAt(2) - 48) * 10 + (date.charCodeAt(3) - 48);
  const m = (date.charCodeAt(5) - 48) * 10 + (date.charCodeAt(6) - 48);
  const d = (date.charCodeAt(8) - 48) * 10 + (date.charCodeAt(9) - 48);
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The YYYY-MM-DD of a day number (civil_from_days). */
export function fromDayNumber(n: number): IsoDate {
  const z = n + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, "0")}-${m < 10 ? "0" : ""}${m}-${d < 10 ? "0" : ""}${d}`;
}

export function addDays(date: IsoDate, days: number): IsoDate {
  return fromDayNumber(dayNumber(date) + days);
}

/** Whole calendar days from `from` to `to` (positive when `to` is later). */
export function daysBetween(from: IsoDate, to: IsoDate): number {
  return dayNumber(to) - dayNumber(from);
}

/** Age in whole years on a date, from a birth date (YYYY-MM-DD or YYYY or YYYY-MM). */
export function ageOn(birthDate: string | null | undefined, on: IsoDate): number | null {
  // Input from the EHR: anything but text is no birth date.
  if (typeof birthDate !== "string" || birthDate.length < 4) return null;
  const by = Number(birthDate.slice(0, 4));
  const bm = birthDate.length >= 7 ? Number(birthDate.slice(5, 7)) : 1;
  const bd = birthDate.length >= 10 ? Number(birthDate.slice(8, 10)) : 1;
  if (!Number.isFinite(by) || !Number.isFinite(bm) || !Number.isFinite(bd)) return null;
  const y = Number(on.slice(0, 4)), m = Number(on.slice(5, 7)), d = Number(on.slice(8, 10));
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age -= 1;
  // Born after that day: no age, rather than a negative one.
  return age >= 0 ? age : null;
}
