/**
 * Medication courses (clinical-reference 3) from MedicationStatement, MedicationRequest and
 * MedicationDispense, and the prior-therapy timeline for sequencing (steroids, calcineurin inhibitors,
 * biologics, systemic immunosuppressants, phototherapy Procedures).
 */
import { matchConcept, ROUTE_ORAL, ROUTE_SUBCUTANEOUS, ROUTE_TOPICAL, SNOMED } from "./codes";
import type { ConceptMatch } from "./codes";
import type { EvalContext } from "./context";
import { note, tallyMatch } from "./context";
import { calendarDate, dayNumber, fromDayNumber } from "./dates";
import { arr, conceptText, num, rec, str, type Json } from "./json";
import { resourceRef } from "./normalize";
import type { DoseChange, DrugId, IsoDate, Route, TherapyClass, TherapyEpisode } from "./types";

export type MedicationKind = "MedicationStatement" | "MedicationRequest" | "MedicationDispense";

export interface MedicationEvent {
  kind: MedicationKind;
  resource: string;
  therapyClass: TherapyClass;
  /** AD JAK drug id when the event is one; otherwise a therapy name. */
  drug: DrugId | null;
  name: string;
  route: Route | "subcutaneous" | "other" | null;
  start: IsoDate;
  startDay: number;
  /** Explicit end (period end), or null. */
  end: IsoDate | null;
  /** Last day this event covers; Infinity for an active order/statement without an end. */
  coveredUntilDay: number;
  doseMg: number | null;
  /** Topical quantity in grams and the days it is meant to last (cream-quantity rule). */
  grams: number | null;
  supplyDays: number | null;
  /** coveredUntilDay had the event no end (the first stage keeps it for an asOf before the end). */
  openCoveredUntilDay: number;
}

export interface Course {
  drug: DrugId;
  route: Route;
  start: IsoDate;
  startDay: number;
  end: IsoDate | null;
  endDay: number | null;
  startSource: string;
  events: MedicationEvent[];
  doseChanges: DoseChange[];
  doseMg: number | null;
  coveredUntilDay: number;
}

const KIND_ORDER: Record<MedicationKind, number> = { MedicationStatement: 0, MedicationRequest: 1, MedicationDispense: 2 };
const ONGOING_STATUSES = new Set(["active", "intended", "on-hold", "draft"]);
const TOPICAL_WORDS = ["cream", "ointment", "topical", "lotion", "gel", "foam", "cutaneous", "emollient", "to skin", "on skin"];
const ORAL_WORDS = ["tablet", "capsule", "oral", "by mouth", "extended release", "extended-release", "solution for oral"];
const INJECTION_WORDS = ["subcutaneous", "injection", "syringe", "pen", "auto-injector", "prefilled"];
const MG_PATTERN = /(\d+(?:\.\d+)?)\s*mg\b/i;

function routeFromText(text: string): MedicationEvent["route"] {
  for (const w of TOPICAL_WORDS) if (text.includes(w)) return "topical";
  for (const w of ORAL_WORDS) if (text.includes(w)) return "oral";
  for (const w of INJECTION_WORDS) if (text.includes(w)) return "subcutaneous";
  return null;
}

function routeFromCodeable(cc: unknown): MedicationEvent["route"] {
  const r = rec(cc);
  if (!r) return null;
  for (const c of arr(r.coding)) {
    const coding = rec(c);
    if (!coding || coding.system !== SNOMED) continue;
    if (coding.code === ROUTE_TOPICAL) return "topical";
    if (coding.code === ROUTE_ORAL) return "oral";
    if (coding.code === ROUTE_SUBCUTANEOUS) return "subcutaneous";
  }
  const text = conceptText(r);
  return text ? routeFromText(text) : null;
}

interface ResolvedMedication {
  match: ConceptMatch | null;
  formText: string;
  nameText: string;
  display: { system: string | null; code: string | null; display: string | null };
}

/** Resolves medication[x]: codeable concept, contained or referenced Medication, or a reference display. */
function resolveMedication(r: Json, medications: ReadonlyMap<string, Json>, ctx: EvalContext): ResolvedMedication {
  const cc = rec(r.medicationCodeableConcept);
  if (cc) {
    const match = matchConcept(cc, ctx.mappings, "drug");
    const first = rec(arr(cc.coding)[0]);
    return { match, formText: "", nameText: conceptText(cc), display: { system: str(first?.system), code: str(first?.code), display: str(first?.display) ?? str(cc.text) } };
  }
  const ref = rec(r.medicationReference);
  if (ref) {
    const target = str(ref.reference);
    let med: Json | null = null;
    if (target?.startsWith("#")) {
      const id = target.slice(1);
      for (const c of arr(r.contained)) {
        const cr = rec(c);
        if (cr && cr.resourceType === "Medication" && cr.id === id) med = cr;
      }
    } else if (target) {
      med = medications.get(target) ?? null;
    }
    if (med) {
      let match = matchConcept(med.code, ctx.mappings, "drug");
      if (!match) {
        for (const ing of arr(med.ingredient)) {
          match = matchConcept(rec(ing)?.itemCodeableConcept, ctx.mappings, "drug");
          if (match) break;
        }
      }
      const first = rec(arr(rec(med.code)?.coding)[0]);
      return {
        match,
        formText: conceptText(med.form),
        nameText: conceptText(med.code),
        display: { system: str(first?.system), code: str(first?.code), display: str(first?.display) ?? str(rec(med.code)?.text) },
      };
    }
    const display = str(ref.display);
    if (display) {
      return { match: matchConcept({ text: display }, ctx.mappings, "drug"), formText: "", nameText: display.toLowerCase(), display: { system: null, code: null, display } };
    }
  }
  return { match: null, formText: "", nameText: "", display: { system: null, code: null, display: null } };
}

function dosages(r: Json, kind: MedicationKind): unknown[] {
  return kind === "MedicationStatement" ? arr(r.dosage) : arr(r.dosageInstruction);
}

function supplyDaysOf(duration: unknown): number | null {
  const d = rec(duration);
  const v = d ? num(d.value) : null;
  if (v === null || v <= 0 || !d) return null;
  const unit = (str(d.code) ?? str(d.unit) ?? "d").toLowerCase();
  if (unit === "d" || unit.startsWith("day")) return v;
  if (unit === "wk" || unit.startsWith("week")) return v * 7;
  if (unit === "mo" || unit.startsWith("month")) return v * 30;
  return null;
}

function gramsOf(quantity: unknown): number | null {
  const q = rec(quantity);
  const v = q ? num(q.value) : null;
  if (v === null || !q) return null;
  const unit = (str(q.code) ?? str(q.unit) ?? "").toLowerCase();
  if (unit === "g" || unit === "gram" || unit === "grams") return v;
  if (unit === "kg") return v * 1000;
  return null;
}

/** Reads one medication resource into an event, or null (excluded, unrecognised or undated). */
export function medicationEvent(r: Json, kind: MedicationKind, index: number, medications: ReadonlyMap<string, Json>, ctx: EvalContext): MedicationEvent | null {
  ctx.gateDay = null;
  const ref = resourceRef(kind, r, `${kind}/#${index}`);
  const status = str(r.status);
  const resolved = resolveMedication(r, medications, ctx);
  const match = resolved.match;
  const concept = match?.concept;
  if (!match || !concept || (concept.domain !== "drug" && concept.domain !== "therapy")) {
    tallyMatch(ctx, kind, resolved.display.system, resolved.display.code, resolved.display.display, null, null, "not a tracked therapy");
    return null;
  }
  if (status === "entered-in-error") {
    note(ctx, ref, "status-entered-in-error", `${kind} entered in error is not used.`);
    return null;
  }
  if (kind === "MedicationStatement" && status === "not-taken") {
    note(ctx, ref, "status-not-taken", "MedicationStatement not taken is not used.");
    return null;
  }
  if (kind === "MedicationRequest" && str(r.intent) === "proposal") {
    note(ctx, ref, "intent-proposal", "MedicationRequest with intent proposal is not a prescription and is not used.");
    return null;
  }
  if (kind === "MedicationDispense" && (status === "cancelled" || status === "declined")) {
    note(ctx, ref, `status-${status}`, `MedicationDispense ${status} is not used.`);
    return null;
  }

  // Route: dosage route, then Medication.form, then words in the drug's name.
  let route: MedicationEvent["route"] = null;
  for (const d of dosages(r, kind)) {
    route = routeFromCodeable(rec(d)?.route);
    if (route) break;
  }
  if (!route && resolved.formText) route = routeFromText(resolved.formText);
  if (!route && resolved.nameText) route = routeFromText(resolved.nameText);

  // Start, end and coverage.
  let startRaw: string | null = null;
  let endRaw: string | null = null;
  let supplyDays: number | null = null;
  let grams: number | null = null;
  if (kind === "MedicationStatement") {
    const period = rec(r.effectivePeriod);
    startRaw = str(period?.start) ?? str(r.effectiveDateTime);
    endRaw = str(period?.end);
  } else if (kind === "MedicationRequest") {
    for (const d of arr(r.dosageInstruction)) {
      const bounds = rec(rec(rec(rec(d)?.timing)?.repeat)?.boundsPeriod);
      if (bounds && str(bounds.start)) {
        startRaw = str(bounds.start);
        endRaw = str(bounds.end);
        break;
      }
    }
    startRaw ??= str(r.authoredOn);
    const dispense = rec(r.dispenseRequest);
    if (dispense) {
      supplyDays = supplyDaysOf(dispense.expectedSupplyDuration);
      grams = gramsOf(dispense.quantity);
    }
  } else {
    startRaw = str(r.whenHandedOver) ?? str(r.whenPrepared);
    supplyDays = supplyDaysOf(r.daysSupply);
    grams = gramsOf(r.quantity);
  }
  const start = calendarDate(startRaw);
  if (!start) {
    note(ctx, ref, startRaw ? "invalid-date" : "no-date", startRaw ? `${kind} start "${startRaw}" is not a valid calendar date.` : `${kind} has no start date.`);
    return null;
  }
  const startDay = dayNumber(start);
  if (startDay > ctx.asOfDay) return null; // after asOf: ignored
  ctx.gateDay = startDay; // what follows exists only at an asOf on or after the start
  let end = endRaw ? calendarDate(endRaw) : null;
  if (endRaw && !end) note(ctx, ref, "invalid-date", `${kind} end "${endRaw}" is not a valid calendar date; the end is ignored.`);
  if (end && dayNumber(end) < startDay) {
    note(ctx, ref, "end-before-start", `${kind} ends (${end}) before it starts (${start}); the end is ignored.`);
    end = null;
  }
  if (end && dayNumber(end) > ctx.asOfDay) end = null; // not ended yet at asOf
  // Coverage when the end does not count (none given, or after asOf): the first stage keeps both.
  let openCoveredUntilDay: number;
  if (status !== null && ONGOING_STATUSES.has(status)) openCoveredUntilDay = Number.POSITIVE_INFINITY;
  else if (supplyDays !== null) {
    const repeats = kind === "MedicationRequest" ? (num(rec(r.dispenseRequest)?.numberOfRepeatsAllowed) ?? 0) : 0;
    openCoveredUntilDay = startDay + supplyDays * (1 + Math.max(0, repeats)) - 1;
  } else openCoveredUntilDay = startDay;
  const coveredUntilDay = end ? dayNumber(end) : openCoveredUntilDay;

  // Dose in mg: dosage doseQuantity, else the strength in the drug's name.
  let doseMg: number | null = null;
  for (const d of dosages(r, kind)) {
    for (const dr of arr(rec(d)?.doseAndRate)) {
      const q = rec(rec(dr)?.doseQuantity);
      const v = q ? num(q.value) : null;
      const unit = q ? (str(q.code) ?? str(q.unit) ?? "").toLowerCase() : "";
      if (v !== null && unit === "mg") doseMg = v;
    }
    if (doseMg !== null) break;
  }
  if (doseMg === null && resolved.nameText) {
    const mg = MG_PATTERN.exec(resolved.nameText.slice(0, 500)); // a drug name is short; a long digit run makes the pattern quadratic
    if (mg?.[1]) doseMg = Number(mg[1]);
  }

  let drug: DrugId | null = null;
  let therapyClass: TherapyClass = concept.therapyClass;
  const name = concept.key;
  if (concept.domain === "drug") {
    if (concept.key === "ruxolitinib") {
      if (route === "topical") drug = "ruxolitinib-cream";
      else if (route === "oral") therapyClass = "jak-other";
      else {
        note(ctx, ref, "route-unknown", "Ruxolitinib without route or form: not counted as the eczema cream.");
        ctx.routeUnknown.push({ resource: ref, date: start });
        therapyClass = "jak-other";
      }
      if (route === "topical") route = "topical";
    } else if (concept.key === "ruxolitinib-cream") {
      drug = "ruxolitinib-cream";
      route = "topical";
    } else if (concept.key === "upadacitinib" || concept.key === "abrocitinib" || concept.key === "baricitinib") {
      drug = concept.key;
      route = "oral";
    }
  } else if (name === "tacrolimus" && route === "oral") {
    therapyClass = "systemic-immunosuppressant";
  } else if (therapyClass === "topical-corticosteroid" && route !== "topical") {
    // Inhaled or oral corticosteroids (e.g. a fluticasone inhaler) are not eczema therapy.
    tallyMatch(ctx, kind, match.system, match.code, match.display, null, null, "corticosteroid that is not topical");
    return null;
  }
  tallyMatch(ctx, kind, match.system, match.code, match.display, concept, match.how);
  return {
    kind, resource: ref, therapyClass, drug, name: drug ?? name, route, start, startDay, end, coveredUntilDay, doseMg, grams, supplyDays, openCoveredUntilDay,
  };
}

function compareEvents(a: MedicationEvent, b: MedicationEvent): number {
  return a.startDay - b.startDay || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0);
}

/**
 * Builds AD JAK courses: same drug after a gap of more than `gapDays` starts a new course; a switch to
 * another JAK starts a new course (and ends the previous one); a dose change is annotated.
 */
export function buildCourses(events: readonly MedicationEvent[], gapDays: number): Course[] {
  const jak = events.filter((e) => e.drug !== null).sort(compareEvents);
  const courses: Course[] = [];
  let current: Course | null = null;
  for (const e of jak) {
    const drug = e.drug!;
    if (current && current.drug === drug && e.startDay - current.coveredUntilDay <= gapDays) {
      current.events.push(e);
      current.coveredUntilDay = Math.max(current.coveredUntilDay, e.coveredUntilDay);
      if (e.doseMg !== null && current.doseMg !== null && e.doseMg !== current.doseMg) {
        current.doseChanges.push({ date: e.start, fromMg: current.doseMg, toMg: e.doseMg, resource: e.resource });
        current.doseMg = e.doseMg;
      } else if (e.doseMg !== null && current.doseMg === null) current.doseMg = e.doseMg;
      continue;
    }
    if (current) finishCourse(current, e.drug !== current.drug ? e.startDay : null);
    current = {
      drug,
      route: drug === "ruxolitinib-cream" ? "topical" : "oral",
      start: e.start,
      startDay: e.startDay,
      end: null,
      endDay: null,
      startSource: e.resource,
      events: [e],
      doseChanges: [],
      doseMg: e.doseMg,
      coveredUntilDay: e.coveredUntilDay,
    };
    courses.push(current);
  }
  if (current) finishCourse(current, null);
  return courses;
}

/**
 * End = the period end (or stop date) when the course's resources give one and none is still ongoing;
 * a switch to another JAK ends the course the day the next one starts.
 */
function finishCourse(course: Course, switchDay: number | null): void {
  const hasExplicitEnd = course.events.some((e) => e.end !== null);
  let endDay: number | null = Number.isFinite(course.coveredUntilDay) && hasExplicitEnd ? course.coveredUntilDay : null;
  if (switchDay !== null && (endDay === null || endDay > switchDay)) endDay = switchDay;
  course.endDay = endDay;
  course.end = endDay === null ? null : fromDayNumber(endDay);
}

/** A phototherapy Procedure as read (any date: the history keeps those on or before asOf). */
export interface PhototherapySession {
  resource: string;
  start: IsoDate;
  startDay: number;
  end: IsoDate | null;
}

/** Reads phototherapy Procedures (matches tallied, undated ones noted) for the therapy history. */
export function readProcedures(procedures: readonly Json[], ctx: EvalContext): PhototherapySession[] {
  const sessions: PhototherapySession[] = [];
  for (let i = 0; i < procedures.length; i++) {
    const p = procedures[i]!;
    const ref = resourceRef("Procedure", p, `Procedure/#${i}`);
    const match = matchConcept(p.code, ctx.mappings, "procedure");
    if (!match || match.concept.domain !== "therapy") continue;
    tallyMatch(ctx, "Procedure", match.system, match.code, match.display, match.concept, match.how);
    const status = str(p.status);
    if (status === "entered-in-error" || status === "not-done") continue;
    const period = rec(p.performedPeriod);
    const start = calendarDate(str(p.performedDateTime) ?? str(period?.start));
    if (!start) {
      note(ctx, ref, "no-date", "Phototherapy Procedure has no valid performed date.");
      continue;
    }
    sessions.push({ resource: ref, start, startDay: dayNumber(start), end: calendarDate(str(period?.end)) });
  }
  return sessions;
}

/** Prior and concurrent therapy episodes (non-JAK therapies and other JAKs), merged with the same gap rule. */
export function buildTherapyHistory(events: readonly MedicationEvent[], courses: readonly Course[], sessions: readonly PhototherapySession[], asOfDay: number, gapDays: number): TherapyEpisode[] {
  const episodes: TherapyEpisode[] = [];
  const open = new Map<string, { episode: TherapyEpisode; coveredUntilDay: number }>();
  const others = events.filter((e) => e.drug === null).sort(compareEvents);
  for (const e of others) {
    const key = `${e.therapyClass}|${e.name}`;
    const cur = open.get(key);
    if (cur && e.startDay - cur.coveredUntilDay <= gapDays) {
      cur.episode.resources.push(e.resource);
      cur.coveredUntilDay = Math.max(cur.coveredUntilDay, e.coveredUntilDay);
      cur.episode.end = Number.isFinite(cur.coveredUntilDay) ? fromDayNumber(Math.min(cur.coveredUntilDay, asOfDay)) : null;
      continue;
    }
    const episode: TherapyEpisode = {
      therapyClass: e.therapyClass,
      name: e.name,
      route: e.route,
      start: e.start,
      end: Number.isFinite(e.coveredUntilDay) ? fromDayNumber(Math.min(e.coveredUntilDay, asOfDay)) : null,
      resources: [e.resource],
    };
    episodes.push(episode);
    open.set(key, { episode, coveredUntilDay: e.coveredUntilDay });
  }
  for (const session of sessions) {
    const { resource: ref, start, startDay, end } = session;
    if (startDay > asOfDay) continue;
    const key = "phototherapy";
    const cur = open.get(key);
    if (cur && startDay - cur.coveredUntilDay <= gapDays) {
      cur.episode.resources.push(ref);
      cur.coveredUntilDay = Math.max(cur.coveredUntilDay, end ? dayNumber(end) : startDay);
      cur.episode.end = fromDayNumber(Math.min(cur.coveredUntilDay, asOfDay));
      continue;
    }
    const episode: TherapyEpisode = { therapyClass: "phototherapy", name: "phototherapy", route: "other", start, end: end ?? start, resources: [ref] };
    episodes.push(episode);
    open.set(key, { episode, coveredUntilDay: end ? dayNumber(end) : startDay });
  }
  for (const c of courses) {
    episodes.push({ therapyClass: "jak-ad", name: c.drug, route: c.route, start: c.start, end: c.end, resources: c.events.map((e) => e.resource) });
  }
  episodes.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return episodes;
}
