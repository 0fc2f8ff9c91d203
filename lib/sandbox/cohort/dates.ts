/** Calendar days as integers (days since 1970-01-01) so plans do arithmetic, not Date objects. */
const MS_PER_DAY = 86_400_000;

export function dayFromIso(isoDate: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!match) throw new Error(`not a YYYY-MM-DD date: ${isoDate}`);
  return Math.round(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / MS_PER_DAY);
}

export function isoFromDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** A local date-time with its offset, as an EHR writes it: the written date is the plan's date. */
export function localDateTime(day: number, minutesOfDay: number, offset: string): string {
  const hours = Math.floor(minutesOfDay / 60) % 24;
  const minutes = minutesOfDay % 60;
  return `${isoFromDay(day)}T${pad2(hours)}:${pad2(minutes)}:00${offset}`;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Whole years between two days (age at a date). */
export function ageInYears(birthDay: number, atDay: number): number {
  const birth = isoFromDay(birthDay);
  const at = isoFromDay(atDay);
  let years = Number(at.slice(0, 4)) - Number(birth.slice(0, 4));
  if (at.slice(5) < birth.slice(5)) years -= 1;
  return years;
}
