/**
 * Vaccination rules (clinical-reference 6): no zoster vaccination on record before an oral JAK (info);
 * a live vaccine during an oral JAK course (warning).
 */
import { matchConcept } from "./codes";
import type { EvalContext } from "./context";
import { note, tallyMatch } from "./context";
import { calendarDate, dayNumber } from "./dates";
import { rec, str, type Json } from "./json";
import { resourceRef } from "./normalize";
import type { IsoDate } from "./types";

export interface VaccineEvent {
  resource: string;
  date: IsoDate;
  day: number;
  zoster: boolean;
  live: boolean;
}

export function readImmunizations(immunizations: readonly Json[], ctx: EvalContext): VaccineEvent[] {
  const out: VaccineEvent[] = [];
  for (let i = 0; i < immunizations.length; i++) {
    const imm = immunizations[i]!;
    const ref = resourceRef("Immunization", imm, `Immunization/#${i}`);
    const match = matchConcept(imm.vaccineCode, ctx.mappings, "vaccine");
    if (!match || match.concept.domain !== "vaccine") {
      const first = rec((Array.isArray(rec(imm.vaccineCode)?.coding) ? (rec(imm.vaccineCode)!.coding as unknown[]) : [])[0]);
      tallyMatch(ctx, "Immunization", str(first?.system), str(first?.code), str(first?.display) ?? str(rec(imm.vaccineCode)?.text), null, null, "not a zoster or live vaccine");
      continue;
    }
    tallyMatch(ctx, "Immunization", match.system, match.code, match.display, match.concept, match.how);
    const status = str(imm.status);
    if (status === "entered-in-error" || status === "not-done") {
      note(ctx, ref, `status-${status}`, `Immunization ${status} is not used.`);
      continue;
    }
    const raw = str(imm.occurrenceDateTime) ?? str(imm.recorded);
    const date = calendarDate(raw);
    if (!date) {
      note(ctx, ref, raw ? "invalid-date" : "no-date", "Immunization has no valid occurrence date.");
      continue;
    }
    const day = dayNumber(date);
    if (day > ctx.asOfDay) continue;
    const key = match.concept.key;
    out.push({ resource: ref, date, day, zoster: key === "zoster" || key === "zoster-live", live: key === "live" || key === "zoster-live" });
  }
  return out;
}
