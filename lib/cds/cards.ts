/**
 * patient-view cards from the engine's evaluation (lib/clinical), so a card never disagrees with the patient page.
 * Pure: no IO, no clock; uuids come from ctx.uuid.
 *
 * Which flags become cards (all of the current course, the patient page's "current course": the latest by start,
 * and only while it runs at asOf; an ended course's flags are history and stay on the patient page):
 * - response: the non-response or early-signal flag of the latest decided checkpoint, when that checkpoint is
 *   not responded (an early-signal miss at week 2 is no longer news once week 4 or later has been decided);
 * - missing-lab: every missing-lab flag, one card listing them (with orders to place);
 * - overdue-lab: every overdue-lab flag, one card (with orders to place);
 * - abnormal-lab: one card per rule (one analyte concern: low ANC, low ALC, low hemoglobin, platelets, liver
 *   enzymes); a rule has one severity, so a card never merges flags of different severities;
 * - vaccination: one card per rule (no zoster vaccination; live vaccines during the course).
 * Cards are ordered most severe first, then response, abnormal, missing, overdue, vaccination.
 */
import type { CheckpointEvaluation, CheckpointMeasure, CourseEvaluation, DrugId, Flag, LabRequirementLab, MeasureAtCheckpoint, PatientEvaluation, Severity } from "../clinical/types";
import { currentCourse, latestDecidedVerdict } from "../patient-view/overview";
import type { CardContext, CdsCard, CdsCoding, CdsLink, CdsSource, CdsSuggestion, RuledCard } from "./card-types";
import { LAB_REQUIREMENT_NAMES, labOrderSuggestions, requirementLab } from "./lab-orders";
import { SEVERITY_RANK } from "../patient-view/format";

/** The app's own code system for override reasons (a URN: the app owns no domain to publish it under). */
export const CDS_OVERRIDE_REASON_SYSTEM = "urn:eczema-jak-monitor:cds-override-reason";

export type OverrideReasonCode =
  | "result-outside-ehr"
  | "done-elsewhere"
  | "vaccinated-elsewhere"
  | "patient-declined"
  | "not-indicated"
  | "reviewed-continue"
  | "already-addressed";

export const CDS_OVERRIDE_REASONS: Readonly<Record<OverrideReasonCode, string>> = {
  "result-outside-ehr": "Result on file outside this EHR",
  "done-elsewhere": "Screening done elsewhere, documented",
  "vaccinated-elsewhere": "Vaccinated elsewhere, documented",
  "patient-declined": "Patient declined",
  "not-indicated": "Not clinically indicated",
  "reviewed-continue": "Reviewed: benefit outweighs the risk, continuing",
  "already-addressed": "Already addressed",
};

export function overrideReasons(codes: readonly OverrideReasonCode[]): CdsCoding[] {
  return codes.map((code) => ({ system: CDS_OVERRIDE_REASON_SYSTEM, code, display: CDS_OVERRIDE_REASONS[code] }));
}

/** Rule id of the card shown when nothing else is and some data could not be read (no engine rule behind it). */
export const UNREADABLE_RULE_ID = "cds.data-unreadable";

export type ConcernKind = "response" | "abnormal-lab" | "missing-lab" | "overdue-lab" | "vaccination";

/** Flags of one concern of the current course: they become one card. */
export interface Concern {
  kind: ConcernKind;
  /** "response", "missing-lab", "overdue-lab", or "<kind>:<ruleId>" for abnormal results and vaccination. */
  key: string;
  /** The most severe of the flags. */
  severity: Severity;
  /** Primary (the one whose source the card cites) first. */
  flags: Flag[];
  course: CourseEvaluation;
  courseIndex: number;
  /** The checkpoint of a response concern. */
  checkpoint?: CheckpointEvaluation;
}

const CONCERN_RANK: Record<ConcernKind, number> = { response: 0, "abnormal-lab": 1, "missing-lab": 2, "overdue-lab": 3, vaccination: 4 };

export const DRUG_NAMES: Readonly<Record<DrugId, string>> = {
  upadacitinib: "upadacitinib",
  abrocitinib: "abrocitinib",
  baricitinib: "baricitinib",
  "ruxolitinib-cream": "ruxolitinib cream",
};

export function mostSevere(flags: readonly Flag[]): Severity {
  let best: Severity = "info";
  for (const f of flags) if (SEVERITY_RANK[f.severity] < SEVERITY_RANK[best]) best = f.severity;
  return best;
}

/** Most severe first; equal severity in concern order, then by key (stable across calls). */
export function compareConcerns(a: { severity: Severity; kind: ConcernKind; key: string }, b: { severity: Severity; kind: ConcernKind; key: string }): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || CONCERN_RANK[a.kind] - CONCERN_RANK[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The flags behind patient-view cards, grouped by concern, in card order (see the module comment). */
export function patientViewConcerns(evaluation: PatientEvaluation, asOf: string): Concern[] {
  const current = currentCourse(evaluation, asOf);
  if (!current || !current.active) return [];
  const { course, index } = current;
  const own = evaluation.flags.filter((f) => f.course === index);
  const concerns: Concern[] = [];
  const add = (kind: ConcernKind, key: string, flags: Flag[], checkpoint?: CheckpointEvaluation) => {
    if (flags.length === 0) return;
    const concern: Concern = { kind, key, severity: mostSevere(flags), flags, course, courseIndex: index };
    if (checkpoint) concern.checkpoint = checkpoint;
    concerns.push(concern);
  };

  const decided = latestDecidedVerdict(course);
  if (decided && decided.verdict === "not-responded") {
    add("response", "response", own.filter((f) => (f.kind === "non-response" || f.kind === "early-signal") && f.week === decided.week), decided);
  }
  add("missing-lab", "missing-lab", own.filter((f) => f.kind === "missing-lab"));
  add("overdue-lab", "overdue-lab", own.filter((f) => f.kind === "overdue-lab"));
  for (const kind of ["abnormal-lab", "vaccination"] as const) {
    const byRule = new Map<string, Flag[]>();
    for (const f of own) {
      if (f.kind !== kind) continue;
      const list = byRule.get(f.ruleId);
      if (list) list.push(f);
      else byRule.set(f.ruleId, [f]);
    }
    for (const [ruleId, flags] of byRule) add(kind, `${kind}:${ruleId}`, sortByDateDesc(flags));
  }
  return concerns.sort(compareConcerns);
}

/** patient-view: one card per concern, most severe first, from the engine's evaluation of the patient. */
export function patientViewCards(evaluation: PatientEvaluation, ctx: CardContext): RuledCard[] {
  const cards = patientViewConcerns(evaluation, ctx.asOf).map((concern) => concernCard(concern, ctx));
  if (cards.length === 0 && (ctx.unreadable?.length ?? 0) > 0) cards.push(unreadableCard(ctx, "JAK monitoring could not be checked completely: some of the record could not be read"));
  return cards;
}

function concernCard(concern: Concern, ctx: CardContext): RuledCard {
  switch (concern.kind) {
    case "response":
      return responseCard(concern, ctx);
    case "missing-lab":
    case "overdue-lab":
      return labCard(concern, ctx);
    default:
      return flagListCard(concern, ctx);
  }
}

// ---------- shared card parts (order-sign uses them too) ----------

export const SUMMARY_MAX = 139;

/** The specification asks for a summary under 140 characters: cut at a word with an ellipsis when longer. */
export function clipSummary(text: string, max = SUMMARY_MAX): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  if (oneLine.length <= max) return oneLine;
  const cut = oneLine.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:(-]+$/, "")}…`;
}

/** Escapes text from rules and results for markdown ("x10*3/uL" must not start emphasis). */
export function md(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}

/** The card's source: the flag's primary source, its label and link. */
function flagSource(flag: Flag): CdsSource {
  return flag.sourceUrl ? { label: flag.sourceLabel, url: flag.sourceUrl } : { label: flag.sourceLabel };
}

export function appLink(ctx: CardContext): CdsLink {
  return { label: "Open JAK Monitor", url: ctx.appLaunchUrl, type: "smart" };
}

/** The closing lines of every detail: the rule ids, the source as a link, and what could not be read. */
export function detailFooter(ruleIds: readonly string[], source: CdsSource, ctx: CardContext): string {
  const rules = `${ruleIds.length === 1 ? "Rule" : "Rules"} ${ruleIds.map((r) => `\`${r}\``).join(", ")}`;
  const cite = source.url ? `[${md(source.label)}](${linkTarget(source.url)})` : md(source.label);
  return [`${rules} · Source: ${cite}`, unreadableText(ctx)].filter((s) => s !== "").join("\n\n");
}

/** A URL as a markdown link target: parentheses and spaces encoded so the link cannot end early. */
export function linkTarget(url: string): string {
  return url.replace(/\(/g, "%28").replace(/\)/g, "%29").replace(/ /g, "%20");
}

function unreadableText(ctx: CardContext): string {
  const lines = ctx.unreadable ?? [];
  if (lines.length === 0) return "";
  return `**Some data could not be read**, so this card may be incomplete:\n${lines.map((l) => `- ${md(l)}`).join("\n")}`;
}

export function unreadableCard(ctx: CardContext, summary: string): RuledCard {
  const source: CdsSource = { label: "Eczema JAK Monitor" };
  return {
    card: {
      uuid: ctx.uuid(),
      summary: clipSummary(summary),
      detail: unreadableText(ctx),
      indicator: "info",
      source,
      links: [appLink(ctx)],
    },
    ruleIds: [UNREADABLE_RULE_ID],
  };
}

export function uniqueRuleIds(flags: readonly Flag[]): string[] {
  return [...new Set(flags.map((f) => f.ruleId))];
}

export interface CardParts {
  summary: string;
  /** Markdown body; the footer (rules, source, unreadable data) is added. */
  body: string;
  flags: readonly Flag[];
  severity: Severity;
  overrides: readonly OverrideReasonCode[];
  suggestions?: CdsSuggestion[];
  /** The card's uuid when it was made before its suggestions' (so a card's uuid comes first); else made here. */
  uuid?: string;
}

export function buildCard(parts: CardParts, ctx: CardContext): RuledCard {
  const primary = parts.flags[0];
  const ruleIds = uniqueRuleIds(parts.flags);
  const source = primary ? flagSource(primary) : { label: "Eczema JAK Monitor" };
  const card: CdsCard = {
    uuid: parts.uuid ?? ctx.uuid(),
    summary: clipSummary(parts.summary),
    detail: `${parts.body}\n\n${detailFooter(ruleIds, source, ctx)}`,
    indicator: parts.severity,
    source,
  };
  if (parts.suggestions && parts.suggestions.length > 0) {
    card.suggestions = parts.suggestions;
    card.selectionBehavior = "any";
  }
  card.overrideReasons = overrideReasons(parts.overrides);
  card.links = [appLink(ctx)];
  return { card, ruleIds };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** "-40" for an improvement of 40, "+5" for a worsening of 5. */
function signedChange(improvement: number): string {
  const change = -improvement;
  return change > 0 ? `+${fmt(change)}` : fmt(change);
}

/** The first ISO date in a flag's message (the engine writes the result's or vaccine's date there). */
function dateInMessage(flag: Flag): string {
  return /\d{4}-\d{2}-\d{2}/.exec(flag.message)?.[0] ?? "";
}

function sortByDateDesc(flags: Flag[]): Flag[] {
  return [...flags].sort((a, b) => {
    const da = dateInMessage(a);
    const db = dateInMessage(b);
    return da < db ? 1 : da > db ? -1 : 0;
  });
}

// ---------- response ----------

const MEASURE_NAMES: Record<CheckpointMeasure, string> = { easi: "EASI", iga: "IGA", itch: "Itch NRS", pain: "Skin-pain NRS" };
const MEASURE_ORDER: readonly CheckpointMeasure[] = ["easi", "iga", "itch", "pain"];

/** What a not-met criterion needed, in the summary's words. */
function needs(m: MeasureAtCheckpoint): string {
  switch (m.criterion) {
    case "easi-50":
      return "needs -50%";
    case "iga-success":
      return "needs 0-1";
    case "iga-improved":
      return "needs -1";
    case "itch-4":
      return "needs -4";
    case "pain-3":
      return "needs -3";
  }
}

/** "EASI -40%, needs -50%" for a not-met criterion. */
function briefMeasure(measure: CheckpointMeasure, m: MeasureAtCheckpoint): string | null {
  if (m.status !== "not-met") return null;
  if (measure === "easi" && typeof m.percentImprovement === "number") return `EASI ${signedChange(m.percentImprovement)}%, ${needs(m)}`;
  if (measure === "iga" && m.baseline !== null && m.value !== null) return `IGA ${fmt(m.baseline)} to ${fmt(m.value)}, ${needs(m)}`;
  if (m.improvement === null) return null;
  return `${measure === "pain" ? "skin pain" : measure} ${signedChange(m.improvement)}, ${needs(m)}`;
}

function measureLine(measure: CheckpointMeasure, m: MeasureAtCheckpoint): string {
  const name = MEASURE_NAMES[measure];
  switch (m.status) {
    case "no-baseline":
      return `${name}: no baseline, not assessable`;
    case "no-value":
      return `${name}: baseline ${fmt(m.baseline ?? 0)}, no value in the window`;
    case "not-applicable":
      return `${name}: baseline ${fmt(m.baseline ?? 0)} is too low for criterion ${m.criterion}, not assessable`;
    default: {
      const pct = measure === "easi" && typeof m.percentImprovement === "number" ? ` (${signedChange(m.percentImprovement)}%)` : m.improvement !== null ? ` (${signedChange(m.improvement)})` : "";
      const when = m.valueDate ? ` on ${m.valueDate}` : "";
      return `${name}: ${fmt(m.baseline ?? 0)} to ${fmt(m.value ?? 0)}${when}${pct}, criterion ${m.criterion} ${m.status === "met" ? "met" : `not met (${needs(m)})`}`;
    }
  }
}

function responseCard(concern: Concern, ctx: CardContext): RuledCard {
  const { course, checkpoint } = concern;
  const flag = concern.flags[0]!;
  const drug = DRUG_NAMES[course.drug];
  const week = checkpoint?.week ?? flag.week ?? 0;
  const early = flag.kind === "early-signal";
  const measures = checkpoint ? MEASURE_ORDER.flatMap((k) => (checkpoint.measures[k] ? [[k, checkpoint.measures[k]] as const] : [])) : [];
  const briefs = measures.map(([k, m]) => briefMeasure(k, m)).filter((b): b is string => b !== null);
  const head = early ? `No early response to ${drug} at week ${week}` : `Not responded to ${drug} at week ${week}`;
  // Drop measures from the end until the summary fits rather than cutting one in half.
  let summary = head;
  for (let n = briefs.length; n > 0; n--) {
    const candidate = `${head} (${briefs.slice(0, n).join("; ")})`;
    if (candidate.length <= SUMMARY_MAX) {
      summary = candidate;
      break;
    }
  }
  const window = checkpoint ? ` (window ${checkpoint.windowStart} to ${checkpoint.windowEnd})` : "";
  const body = [
    `**${early ? "No early response" : "Not responded"} at week ${week}** of ${md(drug)}, started ${course.start}${window}.`,
    measures.map(([k, m]) => `- ${md(measureLine(k, m))}`).join("\n"),
    md(flag.message),
  ].filter((s) => s !== "").join("\n\n");
  return buildCard({ summary, body, flags: concern.flags, severity: concern.severity, overrides: ["reviewed-continue", "already-addressed", "not-indicated"] }, ctx);
}

// ---------- missing and overdue labs ----------

/** Cards read differently for a running course (patient-view) and for a drug about to be started (order-sign). */
export type CardMoment = "running" | "starting";

const PHASE_NAMES: Record<string, string> = { baseline: "baseline", "week-4": "week-4", "week-12": "week-12", periodic: "periodic" };

function requirementPhase(requirement: string): string {
  const phase = requirement.slice(0, Math.max(0, requirement.indexOf(":")));
  return PHASE_NAMES[phase] ?? phase;
}

function labName(requirement: string | undefined, form: "short" | "long"): string {
  const lab = requirement ? requirementLab(requirement) : null;
  return lab ? LAB_REQUIREMENT_NAMES[lab][form] : (requirement ?? "lab");
}

const LAB_OVERRIDES: readonly OverrideReasonCode[] = ["result-outside-ehr", "done-elsewhere", "patient-declined", "not-indicated"];

/** One card for the missing (or overdue) labs of a course, with suggestions that order them. */
export function labCard(concern: Concern, ctx: CardContext, moment: CardMoment = "running"): RuledCard {
  const { course, flags } = concern;
  const drug = DRUG_NAMES[course.drug];
  const missing = concern.kind === "missing-lab";
  const starting = moment === "starting";
  const labs = flags.map((f) => (f.requirement ? requirementLab(f.requirement) : null)).filter((l): l is LabRequirementLab => l !== null);
  const onlyConsider = flags.every((f) => f.ruleId === "labs.tb-screen-consider");
  const names = [...new Set(flags.map((f) => (missing ? labName(f.requirement, "short") : `${requirementPhase(f.requirement ?? "")} ${labName(f.requirement, "short")}`)))];
  const summary = onlyConsider
    ? `No TB screening on record ${starting ? "before" : "for"} ${drug}: the label says to consider it`
    : !missing
      ? `Overdue labs on ${drug}: ${names.join(", ")}`
      : starting
        ? `Missing baseline screening before ${drug}: ${names.join(", ")}`
        : `Missing baseline labs for ${drug}: ${names.join(", ")}`;
  const lines = flags.map((f) => {
    const status = course.labs.find((l) => l.requirement === f.requirement);
    const name = labName(f.requirement, "long");
    if (!status) return `- **${md(capitalise(name))}**: ${md(f.message)}`;
    const label = capitalise(missing ? name : `${requirementPhase(status.requirement)} ${name}`);
    if (starting) return `- **${md(label)}**: none on record since ${status.windowStart ?? status.dueBy} (due by ${status.dueBy})`;
    const window = status.windowStart && status.windowEnd ? `no result from ${status.windowStart} to ${status.windowEnd}` : "no result on record";
    return `- **${md(label)}**: ${window} (due by ${status.dueBy})`;
  });
  const intro = !missing
    ? `**Follow-up labs overdue** on ${md(drug)}, started ${course.start}.`
    : starting
      ? `**Baseline screening missing** before starting ${md(drug)} on ${course.start}: the label asks for it before the first dose.`
      : `**Baseline labs missing** for ${md(drug)}, started ${course.start}: the label asks for them before the first dose.`;
  const uuid = ctx.uuid();
  const suggestions = labOrderSuggestions(labs, {
    patientId: ctx.patientId,
    uuid: ctx.uuid,
    allLabel: missing ? "Order the missing baseline labs" : "Order the overdue labs",
    reason: missing ? `Baseline screening for ${drug}` : `Safety monitoring on ${drug}`,
  });
  return buildCard({ uuid, summary, body: `${intro}\n\n${lines.join("\n")}`, flags, severity: concern.severity, suggestions, overrides: LAB_OVERRIDES }, ctx);
}

// ---------- abnormal results and vaccination ----------

/** One card for the flags of one rule (abnormal results of one analyte, or one vaccination rule), latest first. */
export function flagListCard(concern: Concern, ctx: CardContext, moment: CardMoment = "running"): RuledCard {
  const { course, flags } = concern;
  const drug = DRUG_NAMES[course.drug];
  const latest = flags[0]!;
  const starting = moment === "starting";
  let summary: string;
  let overrides: OverrideReasonCode[];
  if (latest.ruleId === "vaccination.no-zoster-before-oral-jak") {
    summary = starting ? `No zoster vaccination on record before starting ${drug}` : `No zoster vaccination on record before ${drug} (started ${course.start})`;
    overrides = ["vaccinated-elsewhere", "patient-declined", "not-indicated"];
  } else if (concern.kind === "vaccination") {
    const date = dateInMessage(latest);
    summary = `Live vaccine${date ? ` on ${date}` : ""} during ${drug}: live vaccines are to be avoided${flags.length > 1 ? ` (${flags.length} vaccines)` : ""}`;
    overrides = ["reviewed-continue", "already-addressed", "not-indicated"];
  } else {
    const more = flags.length > 1 ? ` (${flags.length} results)` : "";
    summary = `${clipSummary(latest.message.replace(/\.\s*$/, ""), SUMMARY_MAX - more.length)}${more}`;
    overrides = ["reviewed-continue", "already-addressed", "result-outside-ehr"];
  }
  const heading = concern.kind === "vaccination"
    ? `**Vaccination** ${starting ? "before starting" : "on"} ${md(drug)}${starting ? "" : `, started ${course.start}`}:`
    : `**Abnormal result${flags.length > 1 ? "s" : ""}** on ${md(drug)}, started ${course.start} (latest first):`;
  const body = `${heading}\n\n${flags.map((f) => `- ${md(f.message)}`).join("\n")}`;
  return buildCard({ summary, body, flags, severity: concern.severity, overrides }, ctx);
}
