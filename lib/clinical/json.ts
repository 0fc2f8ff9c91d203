/** Defensive readers for resources that may be malformed: never throw, return null for the wrong shape. */
export type Json = Record<string, unknown>;

export function rec(x: unknown): Json | null {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Json) : null;
}
export function str(x: unknown): string | null {
  return typeof x === "string" ? x : null;
}
/** A finite number; -0 reads as 0 (JSON has one zero, and a score of -0 must not differ from its JSON). */
export function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x + 0 : null;
}
export function arr(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}
/** All display/text strings of a CodeableConcept, lower-cased and joined (for keyword checks). */
export function conceptText(x: unknown): string {
  const cc = rec(x);
  if (!cc) return "";
  let out = str(cc.text) ?? "";
  for (const c of arr(cc.coding)) {
    const d = str(rec(c)?.display);
    if (d) out += ` ${d}`;
  }
  return out.toLowerCase();
}
/** True when any coding of a CodeableConcept has this system and code. */
export function hasCoding(x: unknown, system: string, code: string): boolean {
  const cc = rec(x);
  if (!cc) return false;
  for (const c of arr(cc.coding)) {
    const r = rec(c);
    if (r && r.system === system && r.code === code) return true;
  }
  return false;
}
const NUMERIC = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$/;
/** A number written as a string ("7", " 6.5 "), else null. */
export function numericString(x: unknown): number | null {
  if (typeof x !== "string" || !NUMERIC.test(x)) return null;
  const n = Number(x);
  return Number.isFinite(n) ? n + 0 : null;
}
