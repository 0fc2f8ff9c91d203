/**
 * order-sign / order-select cards: the patient's record plus the draft JAK order, evaluated by the same engine as
 * the patient page, as if the draft started today (ctx.asOf). Pure: no IO, no clock; uuids come from ctx.uuid.
 *
 * A draft is recognised when the engine builds a JAK course from it (the engine's drug and route recognition:
 * topical ruxolitinib is the cream, oral ruxolitinib is not an eczema JAK); drafts that only continue a course
 * already running (a renewal, a dose change) start nothing and get no cards; the patient-view cards cover that
 * course. For each course that starts today, cards for:
 * - abnormal baseline values the label says not to start on (the engine's abnormal-lab flags of the new course,
 *   one card per rule: ANC, ALC, hemoglobin, platelets before abrocitinib, liver enzymes, EU start thresholds);
 * - missing baseline screening (every baseline requirement not done, with orders to place; ruxolitinib cream:
 *   only the TB "consider" rule);
 * - a live vaccine in the 28 days before today (oral courses; the engine's vaccine concepts);
 * - no zoster vaccination on record (the engine's flag for the new oral course).
 */
import { indexMappings } from "../clinical/codes";
import type { EvalContext } from "../clinical/context";
import { addDays, calendarDate, dayNumber } from "../clinical/dates";
import { evaluatePatient } from "../clinical/evaluate";
import { ruleFlag } from "../clinical/flags";
import { arr, rec, str, type Json } from "../clinical/json";
import { DEFAULT_RULES, type RuleSet } from "../clinical/rules";
import type { CodeMapping, CourseEvaluation, DrugId, Flag, LabRequirementResult, PatientEvaluation, Route } from "../clinical/types";
import { readImmunizations } from "../clinical/vaccination";
import type { CardContext, RuledCard } from "./card-types";
import { buildCard, compareConcerns, DRUG_NAMES, flagListCard, labCard, md, mostSevere, SUMMARY_MAX, unreadableCard, type Concern, type ConcernKind } from "./cards";
import { LAB_REQUIREMENT_NAMES, requirementLab } from "./lab-orders";

export interface DraftOrderResult {
  recognised: Array<{ resource: string; drug: DrugId; route: Route }>;
  ignored: string[];
}

export interface OrderSignInput {
  /** The patient's record (prefetch or fetched): Patient, Observations, medications, Immunizations; Bundles are read. */
  resources: readonly unknown[];
  /** context.draftOrders: the Bundle, or its resources. */
  draftOrders: readonly unknown[];
  codeMappings?: CodeMapping[];
  /** The site's rule set (EU start thresholds, ...); default rules when absent. */
  rules?: RuleSet;
}

/** Days before the start within which a live vaccine is reported ("the last 4 weeks"). */
export const LIVE_VACCINE_DAYS_BEFORE = 28;

const ORDER_TYPES = new Set(["MedicationRequest", "MedicationStatement"]);

interface Item {
  json: Json;
  type: string;
  position: number;
}

/** Bundles (any depth up to 3) flattened to their resources; non-objects dropped. */
function flatten(items: readonly unknown[]): Item[] {
  const out: Item[] = [];
  const visit = (x: unknown, depth: number) => {
    const json = rec(x);
    if (!json) return;
    const type = str(json.resourceType) ?? "";
    if (type === "Bundle" && depth < 3) {
      for (const e of arr(json.entry)) visit(rec(e)?.resource, depth + 1);
      return;
    }
    out.push({ json, type, position: out.length });
  };
  for (const x of items) visit(x, 0);
  return out;
}

/** The patient id a reference names ("Patient/1", "https://ehr/fhir/Patient/1/_history/2"), or null (urn:, #, other types). */
function patientIdOf(reference: string | null): string | null {
  if (!reference) return null;
  const history = reference.indexOf("/_history/");
  const ref = history >= 0 ? reference.slice(0, history) : reference;
  const m = /(?:^|\/)Patient\/([^/]+)$/.exec(ref);
  return m ? m[1]! : null;
}

/** A resource of another patient: its reference names a different Patient id. */
function ofAnotherPatient(reference: unknown, patientId: string): boolean {
  const named = patientIdOf(str(rec(reference)?.reference));
  return named !== null && named !== patientId;
}

/**
 * The draft as the order it becomes once signed, starting on asOf: the engine dates a MedicationRequest by its
 * dosage bounds start, else authoredOn (a draft may carry neither, or a later start), and counts a draft status as
 * ongoing but never intent "proposal"; a MedicationStatement by its effective period.
 */
function asStartingOn(draft: Json, type: string, id: string, asOf: string, patientId: string): Json {
  const copy: Json = { ...draft, id };
  // A subject the engine cannot resolve on its own (absent, urn:uuid of the draft Bundle) is the hook's patient.
  if (patientIdOf(str(rec(draft.subject)?.reference)) === null) copy.subject = { reference: `Patient/${patientId}` };
  if (!str(draft.status)) copy.status = type === "MedicationRequest" ? "draft" : "intended";
  if (type === "MedicationRequest") {
    copy.intent = "order";
    copy.authoredOn = asOf;
    copy.dosageInstruction = arr(draft.dosageInstruction).map((d) => {
      const dosage = rec(d);
      const repeat = rec(rec(dosage?.timing)?.repeat);
      const bounds = rec(repeat?.boundsPeriod);
      if (!dosage || !repeat || !bounds) return d;
      const end = calendarDate(bounds.end);
      const boundsPeriod: Json = { start: asOf };
      if (end && end >= asOf) boundsPeriod.end = bounds.end;
      return { ...dosage, timing: { ...rec(dosage.timing), repeat: { ...repeat, boundsPeriod } } };
    });
  } else {
    const end = calendarDate(rec(draft.effectivePeriod)?.end);
    delete copy.effectiveDateTime;
    copy.effectivePeriod = end && end >= asOf ? { start: asOf, end: rec(draft.effectivePeriod)?.end } : { start: asOf };
  }
  return copy;
}

/**
 * order-sign / order-select: the patient's resources plus the draft MedicationRequest/MedicationStatement(s)
 * (context.draftOrders entries); drafts recognised as JAK inhibitors the way the engine recognises drugs give the
 * cards of the module comment, each with overrideReasons.
 */
export function orderSignCards(input: OrderSignInput, ctx: CardContext): { cards: RuledCard[]; drafts: DraftOrderResult } {
  const rules = input.rules ?? DEFAULT_RULES;
  const drafts: DraftOrderResult = { recognised: [], ignored: [] };
  const copies: Array<{ label: string; ref: string; json: Json }> = [];
  const supporting: Json[] = [];
  for (const item of flatten(input.draftOrders)) {
    const id = str(item.json.id);
    const label = id ? `${item.type || "Resource"}/${id}` : `draftOrders/#${item.position + 1}`;
    // A Medication the draft refers to is read with it, not a draft of its own.
    if (item.type === "Medication") {
      supporting.push(item.json);
      continue;
    }
    if (!ORDER_TYPES.has(item.type) || ofAnotherPatient(item.json.subject, ctx.patientId)) {
      drafts.ignored.push(label);
      continue;
    }
    const draftId = id ?? `cds-draft-${item.position + 1}`;
    copies.push({ label, ref: `${item.type}/${draftId}`, json: asStartingOn(item.json, item.type, draftId, ctx.asOf, ctx.patientId) });
  }

  const record = flatten(input.resources);
  const draftRefs = new Set(copies.map((c) => c.ref));
  // A draft the EHR already returns in its searches is replaced by its dated copy, not counted twice.
  const kept = record.filter((r) => !draftRefs.has(`${r.type}/${str(r.json.id) ?? ""}`)).map((r) => r.json);
  const evaluation = evaluatePatient([...kept, ...supporting, ...copies.map((c) => c.json)], {
    asOf: ctx.asOf, patientId: ctx.patientId, rules, codeMappings: input.codeMappings, details: false, facts: true,
  });

  const starting = new Set<number>();
  for (const copy of copies) {
    const index = evaluation.courses.findIndex((c) => (c.sources ?? [c.startSource]).includes(copy.ref));
    const course = evaluation.courses[index];
    if (!course) {
      drafts.ignored.push(copy.label);
      continue;
    }
    drafts.recognised.push({ resource: copy.label, drug: course.drug, route: course.route });
    if (course.start === ctx.asOf) starting.add(index);
  }

  const concerns: Concern[] = [];
  const mappings = input.codeMappings;
  for (const index of [...starting].sort((a, b) => a - b)) concerns.push(...startConcerns(evaluation, index, record, rules, mappings, ctx));
  concerns.sort(compareConcerns);
  const cards = concerns.map((c) => startCard(c, ctx, rules));
  if (cards.length === 0 && starting.size > 0 && (ctx.unreadable?.length ?? 0) > 0) {
    const drugs = [...starting].map((i) => DRUG_NAMES[evaluation.courses[i]!.drug]).join(" and ");
    cards.push(unreadableCard(ctx, `Screening before ${drugs} could not be checked completely: some of the record could not be read`));
  }
  return { cards, drafts };
}

function concern(kind: ConcernKind, key: string, flags: Flag[], course: CourseEvaluation, courseIndex: number): Concern {
  return { kind, key, severity: mostSevere(flags), flags, course, courseIndex };
}

/** The concerns of a course that starts on asOf (see the module comment). */
function startConcerns(evaluation: PatientEvaluation, index: number, record: readonly Item[], rules: RuleSet, mappings: CodeMapping[] | undefined, ctx: CardContext): Concern[] {
  const course = evaluation.courses[index]!;
  const drug = rules.drugs[course.drug] ?? DEFAULT_RULES.drugs[course.drug];
  const own = evaluation.flags.filter((f) => f.course === index);
  const out: Concern[] = [];

  const byRule = new Map<string, Flag[]>();
  for (const f of own) {
    if (f.kind !== "abnormal-lab") continue;
    const list = byRule.get(f.ruleId);
    if (list) list.push(f);
    else byRule.set(f.ruleId, [f]);
  }
  for (const [ruleId, flags] of byRule) out.push(concern("abnormal-lab", `abnormal-lab:${ruleId}`, flags, course, index));

  // Baseline requirements are "due" on the start day (missing only after start + 3 days): both are missing today.
  const screening: Flag[] = [];
  for (const lab of course.labs) {
    if (!lab.requirement.startsWith("baseline:") || (lab.status !== "due" && lab.status !== "missing")) continue;
    const name = requirementLab(lab.requirement);
    const params = { lab: name ? LAB_REQUIREMENT_NAMES[name].long : lab.requirement, drug: drug.label, start: course.start, dueBy: lab.dueBy, phase: "baseline" };
    screening.push(ruleFlag(rules, "labs.baseline-missing", params, { course: index, requirement: lab.requirement }, course.drug));
  }
  if (drug.tbScreenConsider && !hasTbScreen(evaluation, course, rules)) {
    screening.push(ruleFlag(rules, "labs.tb-screen-consider", { drug: drug.label }, { course: index, requirement: "baseline:tb-screen" }, course.drug));
  }
  if (screening.length > 0) out.push(concern("missing-lab", "missing-lab", screening, course, index));

  if (course.route === "oral") {
    const live = liveVaccinesBefore(record, rules, mappings, ctx).map((v) => ruleFlag(rules, "vaccination.live-during-oral-jak", { drug: drug.label, date: v.date }, { course: index, resource: v.resource }, course.drug));
    if (live.length > 0) out.push(concern("vaccination", "vaccination:live", live, course, index));
    const zoster = own.filter((f) => f.ruleId === "vaccination.no-zoster-before-oral-jak");
    if (zoster.length > 0) out.push(concern("vaccination", "vaccination:zoster", zoster, course, index));
  }
  return out;
}

/** TB screening (IGRA or skin test) in the screening lookback up to start + 3 days, as the engine's "consider" rule reads it. */
function hasTbScreen(evaluation: PatientEvaluation, course: CourseEvaluation, rules: RuleSet): boolean {
  const from = addDays(course.start, -rules.labWindows.screeningLookbackDays);
  const to = addDays(course.start, rules.labWindows.baselineDaysAfterStart);
  return (evaluation.facts?.labResults ?? []).some((r) => (r.lab === "igra" || r.lab === "tst") && r.date >= from && r.date <= to);
}

/** Live vaccines (the engine's vaccine concepts, statuses and dates) given in the 28 days up to asOf, latest first. */
function liveVaccinesBefore(record: readonly Item[], rules: RuleSet, mappings: CodeMapping[] | undefined, ctx: CardContext): Array<{ resource: string; date: string }> {
  const immunizations = record.filter((r) => r.type === "Immunization" && !ofAnotherPatient(r.json.patient, ctx.patientId)).map((r) => r.json);
  if (immunizations.length === 0) return [];
  const asOfDay = dayNumber(ctx.asOf);
  const engineContext: EvalContext = {
    asOf: ctx.asOf, asOfDay, rules, mappings: indexMappings(mappings), notes: [], matches: new Map(), routeUnknown: [], collectMatches: false,
  };
  return readImmunizations(immunizations, engineContext)
    .filter((v) => v.live && v.day >= asOfDay - LIVE_VACCINE_DAYS_BEFORE && v.day <= asOfDay)
    .sort((a, b) => b.day - a.day)
    .map((v) => ({ resource: v.resource, date: v.date }));
}

function startCard(c: Concern, ctx: CardContext, rules: RuleSet): RuledCard {
  if (c.kind === "missing-lab") return labCard(c, ctx, "starting");
  if (c.kind === "abnormal-lab") return abnormalStartCard(c, ctx, rules);
  if (c.key === "vaccination:live") return liveVaccineCard(c, ctx);
  return flagListCard(c, ctx, "starting");
}

/** The analyte, its limit and what the label says, per abnormal-lab rule, in a clinician's words. */
function abnormalAdvice(ruleId: string, rules: RuleSet, drug: string): { analyte: string; limit: string; says: string } {
  const t = rules.thresholds;
  const notStart = `the label says not to start ${drug}`;
  switch (ruleId) {
    case "abnormal.anc-low":
      return { analyte: "ANC", limit: `below ${t.ancCritical} x10^3/uL`, says: notStart };
    case "abnormal.alc-low":
      return { analyte: "ALC", limit: `below ${t.alcCritical} x10^3/uL`, says: notStart };
    case "abnormal.hemoglobin-low":
      return { analyte: "Hemoglobin", limit: `below ${t.hemoglobinCritical} g/dL`, says: notStart };
    case "abnormal.platelets-before-abrocitinib":
      return { analyte: "Platelets", limit: `below ${t.plateletsBeforeAbrocitinib} x10^3/uL`, says: notStart };
    case "abnormal.platelets-abrocitinib":
      return { analyte: "Platelets", limit: `below ${t.plateletsCriticalAbrocitinib} x10^3/uL`, says: notStart };
    case "abnormal.eu-abrocitinib-start-anc":
      return { analyte: "ANC", limit: `below ${t.euAbrocitinibStart.anc} x10^3/uL`, says: `the EU label says not to start ${drug}` };
    case "abnormal.eu-abrocitinib-start-hemoglobin":
      return { analyte: "Hemoglobin", limit: `below ${t.euAbrocitinibStart.hemoglobin} g/dL`, says: `the EU label says not to start ${drug}` };
    case "abnormal.transaminase-high":
      return { analyte: "ALT or AST", limit: `above ${t.transaminaseUlnMultiple} x ULN`, says: `evaluate the liver before starting ${drug}` };
    default:
      return { analyte: "A baseline result", limit: "is abnormal", says: `review before starting ${drug}` };
  }
}

/** The checklist's value of a flagged result, when the result is one the checklist shows. */
function resultOf(course: CourseEvaluation, resource: string | undefined): LabRequirementResult | null {
  if (!resource) return null;
  for (const lab of course.labs) for (const r of lab.results ?? []) if (r.resource === resource) return r;
  return null;
}

function unitText(unit: string | undefined): string {
  return unit ? ` ${unit.replace("10*3/uL", "x10^3/uL")}` : "";
}

function abnormalStartCard(c: Concern, ctx: CardContext, rules: RuleSet): RuledCard {
  const drug = DRUG_NAMES[c.course.drug];
  const flags = [...c.flags].sort((a, b) => {
    const da = resultOf(c.course, a.resource)?.date ?? "";
    const db = resultOf(c.course, b.resource)?.date ?? "";
    return da < db ? 1 : da > db ? -1 : 0;
  });
  const latest = resultOf(c.course, flags[0]?.resource);
  const { analyte, limit, says } = abnormalAdvice(flags[0]!.ruleId, rules, drug);
  const plain = `${analyte} ${limit}: ${says}`;
  const withValue = latest && typeof latest.value === "number" ? `${latest.display} ${latest.value}${unitText(latest.unit)} on ${latest.date}, ${limit}: ${says}` : plain;
  const summary = withValue.length <= SUMMARY_MAX ? withValue : plain;
  const body = `**Abnormal baseline result${flags.length > 1 ? "s" : ""}** before starting ${md(drug)}:\n\n${flags.map((f) => `- ${md(f.message)}`).join("\n")}`;
  return buildCard({ summary, body, flags, severity: c.severity, overrides: ["result-outside-ehr", "reviewed-continue", "not-indicated"] }, ctx);
}

function liveVaccineCard(c: Concern, ctx: CardContext): RuledCard {
  const drug = DRUG_NAMES[c.course.drug];
  const dates = c.flags.map((f) => /\d{4}-\d{2}-\d{2}/.exec(f.message)?.[0] ?? "").filter((d) => d !== "");
  const latest = dates[0] ?? "";
  const summary = `Live vaccine on ${latest} (within ${LIVE_VACCINE_DAYS_BEFORE} days): avoid live vaccines shortly before starting ${drug}`;
  const body = [
    `**Live vaccine${dates.length > 1 ? "s" : ""} in the last ${LIVE_VACCINE_DAYS_BEFORE} days** before starting ${md(drug)} on ${c.course.start}: ${dates.join(", ")}.`,
    "The label advises avoiding live vaccines during treatment and shortly before it: consider delaying the start.",
  ].join("\n\n");
  return buildCard({ summary, body, flags: c.flags, severity: c.severity, overrides: ["reviewed-continue", "not-indicated"] }, ctx);
}
