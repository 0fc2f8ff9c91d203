/**
 * Observation -> typed measurements (eczema instruments) and lab results (clinical-reference 1-2).
 * Handles value[x], components, hasMember panels (members are Observations of their own), status,
 * effective[x] including periods, issued, same-day duplicates (keep the latest issued), range checks and
 * unit conversion. Anything dropped becomes a data-quality note naming the resource and why.
 */
import { matchConcept } from "./codes";
import type { EvalContext } from "./context";
import { note, tallyMatch } from "./context";
import { calendarDate, dayNumber } from "./dates";
import { arr, conceptText, num, numericString, rec, str, type Json } from "./json";
import { convertLab, isQuantitativeLab } from "./units";
import type { IsoDate, LabKey, MatchHow, MeasureKey } from "./types";

export interface Measurement {
  measure: MeasureKey;
  date: IsoDate;
  day: number;
  value: number;
  resource: string;
  /** final / amended / corrected: usable for baselines and checkpoints. Preliminary values are shown, not used. */
  valid: boolean;
  preliminary: boolean;
  /** Orders same-day duplicates, which the first stage settles; not kept in a prepared input (prepare.ts). */
  issued?: string;
  how: MatchHow;
  excludedReason?: string;
}

export type Interpretation = "positive" | "negative" | "indeterminate" | null;

export interface LabResult {
  lab: LabKey;
  date: IsoDate;
  day: number;
  /** In the canonical unit of units.ts; null when qualitative or the unit could not be converted. */
  value: number | null;
  interpretation: Interpretation;
  /** Reference range upper limit in the canonical unit (ALT/AST against ULN). */
  referenceHigh: number | null;
  resource: string;
  unitProblem: string | null;
}

export interface NormalizedObservations {
  measurements: Measurement[];
  labs: LabResult[];
}

const VALID_STATUSES = new Set(["final", "amended", "corrected"]);
const DROPPED_STATUSES = new Set(["entered-in-error", "cancelled"]);
const SKIN_WORDS = ["skin", "eczema", "dermatitis", "atopic", "cutaneous"];

export function resourceRef(resourceType: string, r: Json, fallback: string): string {
  const id = str(r.id);
  return id ? `${resourceType}/${id}` : fallback;
}

/** The calendar date of an Observation: effective[x] (period start, else end), else issued. */
export function observationDate(obs: Json): { date: IsoDate | null; raw: string | null } {
  const raw =
    str(obs.effectiveDateTime) ??
    str(obs.effectiveInstant) ??
    str(rec(obs.effectivePeriod)?.start) ??
    str(rec(obs.effectivePeriod)?.end) ??
    str(obs.issued);
  return { date: raw ? calendarDate(raw) : null, raw };
}

const IGA_WORDS: ReadonlyArray<[string, number]> = [["almost clear", 1], ["clear", 0], ["mild", 2], ["moderate", 3], ["severe", 4]];

/** A score from valueQuantity / valueInteger / numeric valueString / coded valueCodeableConcept. */
function scoreValue(holder: Json, measure: MeasureKey): number | null {
  const q = rec(holder.valueQuantity);
  if (q) return num(q.value);
  const i = num(holder.valueInteger);
  if (i !== null) return i;
  const d = num(holder.valueDecimal);
  if (d !== null) return d;
  const s = numericString(holder.valueString);
  if (s !== null) return s;
  const cc = rec(holder.valueCodeableConcept);
  if (cc) {
    for (const c of arr(cc.coding)) {
      const n = numericString(rec(c)?.code);
      if (n !== null) return n;
    }
    if (measure === "iga") {
      const text = conceptText(cc);
      for (const [word, grade] of IGA_WORDS) if (text.includes(word)) return grade;
    }
  }
  return null;
}

const POSITIVE_ANSWERS = new Set(["LA6576-8", "10828004", "POS", "11214006"]);
const NEGATIVE_ANSWERS = new Set(["LA6577-6", "260385009", "NEG", "131194007"]);
const INDETERMINATE_ANSWERS = new Set(["LA11884-6", "82334004", "IND"]);

function interpretationOf(text: string): Interpretation {
  const t = text.toLowerCase();
  if (t.includes("indeterminate") || t.includes("equivocal")) return "indeterminate";
  if (t.includes("non-reactive") || t.includes("nonreactive") || t.includes("negative") || t.includes("not detected")) return "negative";
  if (t.includes("positive") || t.includes("reactive") || t.includes("detected")) return "positive";
  return null;
}

function qualitative(holder: Json): Interpretation | undefined {
  const cc = rec(holder.valueCodeableConcept);
  if (cc) {
    for (const c of arr(cc.coding)) {
      const code = str(rec(c)?.code);
      if (code && POSITIVE_ANSWERS.has(code)) return "positive";
      if (code && NEGATIVE_ANSWERS.has(code)) return "negative";
      if (code && INDETERMINATE_ANSWERS.has(code)) return "indeterminate";
    }
    return interpretationOf(conceptText(cc));
  }
  const s = str(holder.valueString);
  if (s !== null) return interpretationOf(s);
  if (typeof holder.valueBoolean === "boolean") return holder.valueBoolean ? "positive" : "negative";
  return undefined;
}

function isWholeBodyArea(unit: string | null): boolean {
  if (!unit) return false;
  const u = unit.trim().toLowerCase();
  return u === "m2" || u === "m^2" || u === "m\u00b2" || u === "[sq_m]";
}

function mentionsSkin(obs: Json): boolean {
  const text = `${conceptText(obs.code)} ${conceptText(obs.bodySite)} ${conceptText(obs.method)} ${arr(obs.note).map((n) => str(rec(n)?.text) ?? "").join(" ").toLowerCase()}`;
  for (const w of SKIN_WORDS) if (text.includes(w)) return true;
  return false;
}

interface Holder {
  json: Json;
  /** "" for the Observation itself, "component[i]" otherwise */
  path: string;
}

/**
 * Normalises one patient's Observations. `panelDates` gives members without their own date the date of
 * the panel that lists them in hasMember.
 */
export function normalizeObservations(observations: readonly Json[], ctx: EvalContext, panelDates?: ReadonlyMap<Json, string>): NormalizedObservations {
  const measurements: Measurement[] = [];
  const labs: LabResult[] = [];
  for (let index = 0; index < observations.length; index++) {
    const obs = observations[index]!;
    ctx.gateDay = null;
    const ref = resourceRef("Observation", obs, `Observation/#${index}`);
    const status = str(obs.status);
    const match = matchConcept(obs.code, ctx.mappings, "observation");
    const components = arr(obs.component);
    if (!match && components.length === 0) {
      if (!ctx.collectMatches) continue;
      const first = rec(arr(rec(obs.code)?.coding)[0]);
      tallyMatch(ctx, "Observation", str(first?.system), str(first?.code), str(first?.display) ?? str(rec(obs.code)?.text), null, null, "no concept");
      continue;
    }
    if (status === null || DROPPED_STATUSES.has(status) || (!VALID_STATUSES.has(status) && status !== "preliminary")) {
      if (match) note(ctx, ref, status ? `status-${status}` : "no-status", `Observation with status ${status ?? "(none)"} is not used.`);
      continue;
    }
    let { date, raw } = observationDate(obs);
    if (!date && raw === null) {
      const inherited = panelDates?.get(obs);
      if (inherited) {
        date = calendarDate(inherited);
        raw = inherited;
      }
    }
    if (!date) {
      if (match) note(ctx, ref, raw === null ? "no-date" : "invalid-date", raw === null ? "Observation has no effective date or issued time." : `Observation date "${raw}" is not a valid calendar date.`);
      continue;
    }
    const day = dayNumber(date);
    if (day > ctx.asOfDay) continue; // data dated after asOf is ignored (clinical-reference 4)
    ctx.gateDay = day; // what follows exists only at an asOf on or after this day
    const valid = VALID_STATUSES.has(status);
    const issued = str(obs.issued) ?? raw ?? date;

    const holders: Array<{ holder: Holder; match: NonNullable<typeof match> }> = [];
    let parentMeasure: string | null = null;
    if (match) {
      holders.push({ holder: { json: obs, path: "" }, match });
      if (match.concept.domain === "measure") parentMeasure = match.concept.key;
    }
    const parentHasValue = hasAnyValue(obs);
    for (let ci = 0; ci < components.length; ci++) {
      const comp = rec(components[ci]);
      if (!comp) continue;
      const compMatch = matchConcept(comp.code, ctx.mappings, "observation");
      if (!compMatch) continue;
      // Sub-scores of the instrument the parent already reports (EASI regions) are not the total.
      if (compMatch.concept.domain === "measure" && compMatch.concept.key === parentMeasure && parentHasValue) continue;
      holders.push({ holder: { json: comp, path: `component[${ci}]` }, match: compMatch });
    }

    for (const { holder, match: hm } of holders) {
      const c = hm.concept;
      const where = holder.path ? ` (${holder.path})` : "";
      if (c.domain === "measure-candidate") {
        if (mentionsSkin(obs)) {
          tallyMatch(ctx, "Observation", hm.system, hm.code, hm.display, { domain: "measure", key: "pain" }, hm.how, "generic pain severity with skin context");
          pushMeasurement(measurements, ctx, ref, "pain", holder, date, day, valid, status, issued, hm.how, where);
        } else {
          tallyMatch(ctx, "Observation", hm.system, hm.code, hm.display, null, null, "generic pain severity, not skin pain");
        }
        continue;
      }
      tallyMatch(ctx, "Observation", hm.system, hm.code, hm.display, c, hm.how);
      if (c.domain === "measure") {
        if (holder.path === "" && !hasAnyValue(holder.json)) {
          if (components.length === 0 && arr(obs.hasMember).length === 0) note(ctx, ref, "no-value", `${c.key} Observation has no value.`);
          continue;
        }
        pushMeasurement(measurements, ctx, ref, c.key, holder, date, day, valid, status, issued, hm.how, where);
      } else if (c.domain === "lab") {
        if (!valid) {
          note(ctx, ref, `status-${status}`, `${c.key} result is ${status}; only final, amended or corrected results count.`);
          continue;
        }
        const lab = labResult(c.key, holder.json, ref, date, day, ctx, where);
        if (lab) labs.push(lab);
      }
    }
  }
  const deduped = dedupeSameDay(measurements, ctx);
  ctx.gateDay = null;
  return { measurements: deduped, labs };
}

function hasAnyValue(j: Json): boolean {
  return (
    j.valueQuantity !== undefined || j.valueInteger !== undefined || j.valueString !== undefined ||
    j.valueCodeableConcept !== undefined || j.valueDecimal !== undefined || j.valueBoolean !== undefined
  );
}

function pushMeasurement(
  out: Measurement[], ctx: EvalContext, ref: string, measure: MeasureKey, holder: Holder, date: IsoDate, day: number,
  valid: boolean, status: string, issued: string, how: MatchHow, where: string,
): void {
  const value = scoreValue(holder.json, measure);
  if (value === null) {
    note(ctx, ref, "no-value", `${measure} value${where} is missing or not a number.`);
    return;
  }
  if (measure === "bsa") {
    const q = rec(holder.json.valueQuantity);
    if (q && (isWholeBodyArea(str(q.unit)) || isWholeBodyArea(str(q.code)))) {
      note(ctx, ref, "wrong-unit", `BSA value${where} is in m2 (whole-body surface area), not % affected.`);
      return;
    }
  }
  const [min, max] = ctx.rules.measureRanges[measure];
  if (value < min || value > max) {
    note(ctx, ref, "out-of-range", `${measure} value ${value}${where} is outside ${min}-${max}.`);
    return;
  }
  out.push({ measure, date, day, value, resource: ref, valid, preliminary: status === "preliminary", issued, how });
}

function labResult(lab: LabKey, holder: Json, ref: string, date: IsoDate, day: number, ctx: EvalContext, where: string): LabResult | null {
  const q = rec(holder.valueQuantity);
  const rawValue = q ? num(q.value) : (num(holder.valueInteger) ?? num(holder.valueDecimal) ?? numericString(holder.valueString));
  const isPanel = lab === "cbc-panel" || lab === "lipid-panel";
  let interpretation = qualitative(holder) ?? null;
  if (interpretation === null) {
    for (const i of arr(holder.interpretation)) {
      for (const c of arr(rec(i)?.coding)) {
        const code = str(rec(c)?.code);
        if (code === "POS" || code === "DET") interpretation = "positive";
        else if (code === "NEG" || code === "ND") interpretation = "negative";
        else if (code === "IND") interpretation = "indeterminate";
      }
    }
  }
  if (rawValue === null && interpretation === null && !isPanel) {
    note(ctx, ref, "no-value", `${lab} result${where} has no value.`);
    return null;
  }
  let value: number | null = null;
  let referenceHigh: number | null = null;
  let unitProblem: string | null = null;
  if (rawValue !== null) {
    if (rawValue < 0) {
      note(ctx, ref, "out-of-range", `${lab} value ${rawValue}${where} is negative.`);
      return null;
    }
    if (isQuantitativeLab(lab)) {
      const unit = q ? (str(q.code) ?? str(q.unit)) : null;
      let converted = convertLab(lab, rawValue, unit);
      if (!converted && q && str(q.unit) && str(q.code)) converted = convertLab(lab, rawValue, str(q.unit));
      if (converted) {
        value = converted.value;
        const high = highLimit(holder, lab, unit);
        referenceHigh = high;
      } else {
        unitProblem = unit ?? "(no unit)";
        note(ctx, ref, "unit-not-convertible", `${lab} unit "${unitProblem}"${where} cannot be converted; the value is not checked against thresholds.`);
      }
    } else {
      value = rawValue;
    }
  }
  return { lab, date, day, value, interpretation, referenceHigh, resource: ref, unitProblem };
}

function highLimit(holder: Json, lab: LabKey, valueUnit: string | null): number | null {
  for (const range of arr(holder.referenceRange)) {
    const high = rec(rec(range)?.high);
    const v = high ? num(high.value) : null;
    if (v === null || !high) continue;
    const converted = convertLab(lab, v, str(high.code) ?? str(high.unit) ?? valueUnit);
    if (converted) return converted.value;
  }
  return null;
}

/** Several valid values of one measure on one day: keep the latest issued; the others are excluded with a note. */
function dedupeSameDay(measurements: Measurement[], ctx: EvalContext): Measurement[] {
  if (measurements.length < 2) return measurements;
  const byKey = new Map<string, Measurement>();
  for (const m of measurements) {
    if (!m.valid) continue;
    const key = `${m.measure}|${m.date}`;
    const kept = byKey.get(key);
    if (!kept) {
      byKey.set(key, m);
      continue;
    }
    const newer = (m.issued ?? "") >= (kept.issued ?? "") ? m : kept;
    const older = newer === m ? kept : m;
    older.excludedReason = "superseded-same-day";
    ctx.gateDay = older.day;
    note(ctx, older.resource, "superseded-same-day", `Another ${m.measure} value on ${m.date} (${newer.resource}) was issued later and is used instead.`);
    byKey.set(key, newer);
  }
  return measurements;
}
