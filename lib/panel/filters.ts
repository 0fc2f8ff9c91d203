/**
 * The panel's URL state, both ways: query parameters -> validated filters (each bad value rejected with a
 * reason) and filters -> the canonical query string (defaults left out, fixed order), so a filtered worklist
 * can be bookmarked and shared and the server and the browser read the same thing. Pure; zod validates.
 */
import { z } from "zod";
import { calendarDate } from "../clinical/dates";
import type { CheckpointVerdict, DrugId, FlagKind, Route, Severity } from "../clinical/types";
import { DRUG_LABELS, flagKindLabel, formatDate, verdictLabel } from "../patient-view/format";

export const DRUGS = ["upadacitinib", "abrocitinib", "baricitinib", "ruxolitinib-cream"] as const satisfies readonly DrugId[];
export const ROUTES = ["oral", "topical"] as const satisfies readonly Route[];
export const CHECKPOINT_WEEKS = [2, 4, 8, 12, 16, 24] as const;
/** Verdicts the latest decided checkpoint can have, plus "none" (no checkpoint decided yet). */
export const VERDICT_FILTERS = ["responded", "not-responded", "not-assessable", "none"] as const;
export const FLAG_KINDS = [
  "non-response",
  "early-signal",
  "missing-lab",
  "overdue-lab",
  "abnormal-lab",
  "bsa-limit",
  "cream-quantity",
  "vaccination",
  "data-quality",
] as const satisfies readonly FlagKind[];
export const SEVERITIES = ["critical", "warning", "info"] as const satisfies readonly Severity[];
export const PRESETS = ["not-responded", "overdue-labs", "abnormal-labs", "due-7-days"] as const;
export const SCOPES = ["on-jak", "all"] as const;
export const DATE_FIELDS = ["start", "due"] as const;
export const SORT_KEYS = ["severity", "name", "drug", "week", "verdict", "due"] as const;
export const SORT_DIRECTIONS = ["asc", "desc"] as const;
export const PAGE_SIZES = [10, 25, 50, 100] as const;

export type CheckpointWeek = (typeof CHECKPOINT_WEEKS)[number];
export type VerdictFilter = (typeof VERDICT_FILTERS)[number];
export type Preset = (typeof PRESETS)[number];
export type Scope = (typeof SCOPES)[number];
export type DateField = (typeof DATE_FIELDS)[number];
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDirection = (typeof SORT_DIRECTIONS)[number];
export type PageSize = (typeof PAGE_SIZES)[number];

/** Everything a worklist URL can hold. null = no filter on that field. */
export interface PanelFilters {
  source: string | null;
  /** "on-jak": patients whose latest JAK course is running (default); "all": every synced, evaluated patient. */
  scope: Scope;
  drug: DrugId | null;
  route: Route | null;
  /** Week of the latest decided checkpoint of the latest course. */
  week: CheckpointWeek | null;
  /** Verdict of that checkpoint ("none": no checkpoint decided yet). */
  verdict: VerdictFilter | null;
  /** Has at least one flag of this kind (and of `severity` when both are given). */
  flag: FlagKind | null;
  /** Has at least one flag of this severity. */
  severity: Severity | null;
  prescriber: string | null;
  /** What from/to apply to: the latest course's start date, or the next due date (checkpoint target or lab). */
  dateOf: DateField;
  from: string | null;
  to: string | null;
  preset: Preset | null;
  sort: SortKey;
  dir: SortDirection;
  page: number;
  size: PageSize;
}

/** The direction each sort key reads naturally in: most urgent or alphabetical first. */
export const NATURAL_DIRECTION: Record<SortKey, SortDirection> = {
  severity: "desc",
  name: "asc",
  drug: "asc",
  week: "desc",
  verdict: "asc",
  due: "asc",
};

export const DEFAULT_FILTERS: PanelFilters = {
  source: null,
  scope: "on-jak",
  drug: null,
  route: null,
  week: null,
  verdict: null,
  flag: null,
  severity: null,
  prescriber: null,
  dateOf: "start",
  from: null,
  to: null,
  preset: null,
  sort: "severity",
  dir: NATURAL_DIRECTION.severity,
  page: 1,
  size: 25,
};

export const PRESET_LABELS: Record<Preset, string> = {
  "not-responded": "Not responded at the latest closed checkpoint",
  "overdue-labs": "Overdue or missing safety labs",
  "abnormal-labs": "Abnormal safety labs",
  "due-7-days": "Checkpoint due in the next 7 days",
};

export const SORT_LABELS: Record<SortKey, string> = {
  severity: "Flag severity",
  name: "Name",
  drug: "Drug",
  week: "Course week",
  verdict: "Latest verdict",
  due: "Next due",
};

export const DATE_FIELD_LABELS: Record<DateField, string> = {
  start: "course start",
  due: "next due date",
};

export interface FilterProblem {
  param: string;
  reason: string;
}

export type ParsedFilters = { ok: true; filters: PanelFilters } | { ok: false; problems: FilterProblem[] };

/** What Next passes a page as searchParams, or what a route handler has. */
export type QueryInput = URLSearchParams | Record<string, string | string[] | undefined>;

const SOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function oneOf<T extends string>(values: readonly T[]) {
  return z.string().refine((v): v is T => (values as readonly string[]).includes(v), { error: `must be one of ${values.join(", ")}` });
}

const isoDate = z.string().refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && calendarDate(v) === v, { error: "must be a date written YYYY-MM-DD" });

const sourceId = z.string().regex(SOURCE_ID, { error: "must be a source id (letters, digits, '.', '_' or '-', at most 64)" });

/** Each URL parameter, its schema and where it goes; the order here is the canonical order of the query string. */
const PARAMS = {
  source: sourceId,
  scope: oneOf(SCOPES),
  drug: oneOf(DRUGS),
  route: oneOf(ROUTES),
  week: z
    .string()
    .regex(/^\d{1,2}$/, { error: `must be one of ${CHECKPOINT_WEEKS.join(", ")}` })
    .transform(Number)
    .refine((n): n is CheckpointWeek => (CHECKPOINT_WEEKS as readonly number[]).includes(n), { error: `must be one of ${CHECKPOINT_WEEKS.join(", ")}` }),
  verdict: oneOf(VERDICT_FILTERS),
  flag: oneOf(FLAG_KINDS),
  severity: oneOf(SEVERITIES),
  prescriber: z
    .string()
    .transform((s) => s.trim())
    .pipe(z.string().min(1, { error: "must not be empty" }).max(200, { error: "must be at most 200 characters" })),
  dateOf: oneOf(DATE_FIELDS),
  from: isoDate,
  to: isoDate,
  preset: oneOf(PRESETS),
  sort: oneOf(SORT_KEYS),
  dir: oneOf(SORT_DIRECTIONS),
  page: z
    .string()
    .regex(/^\d{1,6}$/, { error: "must be a whole number from 1" })
    .transform(Number)
    .refine((n) => n >= 1, { error: "must be a whole number from 1" }),
  size: z
    .string()
    .regex(/^\d{1,3}$/, { error: `must be one of ${PAGE_SIZES.join(", ")}` })
    .transform(Number)
    .refine((n): n is PageSize => (PAGE_SIZES as readonly number[]).includes(n), { error: `must be one of ${PAGE_SIZES.join(", ")}` }),
} satisfies Record<keyof PanelFilters, z.ZodType>;

type ParamName = keyof typeof PARAMS;
const PARAM_NAMES = Object.keys(PARAMS) as ParamName[];

function readAll(input: QueryInput, name: string): string[] {
  if (input instanceof URLSearchParams) return input.getAll(name);
  const value = input[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Reads the worklist filters from a URL's query. Unknown parameters are ignored (a shared link may carry
 * others); a known one given twice, empty or with a value outside its set is a problem with a reason.
 */
export function parsePanelFilters(input: QueryInput): ParsedFilters {
  const problems: FilterProblem[] = [];
  const out: Record<string, unknown> = { ...DEFAULT_FILTERS };
  let dirGiven = false;
  for (const name of PARAM_NAMES) {
    const values = readAll(input, name);
    if (values.length === 0) continue;
    if (values.length > 1) {
      problems.push({ param: name, reason: `${name} is given ${values.length} times; give it once` });
      continue;
    }
    const raw = values[0]!;
    const parsed = PARAMS[name].safeParse(raw);
    if (!parsed.success) {
      problems.push({ param: name, reason: `${name} "${truncate(raw)}" ${parsed.error.issues[0]?.message ?? "is not valid"}` });
      continue;
    }
    out[name] = parsed.data;
    if (name === "dir") dirGiven = true;
  }
  const filters = out as unknown as PanelFilters;
  if (!dirGiven) filters.dir = NATURAL_DIRECTION[filters.sort];
  if (filters.from && filters.to && filters.from > filters.to) problems.push({ param: "to", reason: `to ${filters.to} is before from ${filters.from}` });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, filters };
}

/** Only the source: what the summary and charts read. */
export function parseSourceParam(input: QueryInput): { ok: true; source: string | null } | { ok: false; problems: FilterProblem[] } {
  const values = readAll(input, "source");
  if (values.length === 0) return { ok: true, source: null };
  if (values.length > 1) return { ok: false, problems: [{ param: "source", reason: `source is given ${values.length} times; give it once` }] };
  const parsed = sourceId.safeParse(values[0]);
  if (!parsed.success) return { ok: false, problems: [{ param: "source", reason: `source "${truncate(values[0]!)}" ${parsed.error.issues[0]?.message ?? "is not valid"}` }] };
  return { ok: true, source: parsed.data };
}

/**
 * The canonical query string of filters (without "?"): defaults left out, parameters in a fixed order, the
 * sort direction only when it differs from the sort's natural one. parsePanelFilters reads it back equal.
 */
export function serializePanelFilters(filters: PanelFilters): string {
  const params = new URLSearchParams();
  for (const name of PARAM_NAMES) {
    const value = filters[name];
    if (value === null || value === undefined) continue;
    if (name === "dir") {
      if (value !== NATURAL_DIRECTION[filters.sort]) params.set(name, String(value));
      continue;
    }
    if (value === DEFAULT_FILTERS[name]) continue;
    params.set(name, String(value));
  }
  return params.toString();
}

/** The filters with some fields changed; any change other than the page goes back to page 1. */
export function withFilters(filters: PanelFilters, change: Partial<PanelFilters>): PanelFilters {
  const next = { ...filters, ...change };
  if (change.sort && !change.dir) next.dir = NATURAL_DIRECTION[change.sort];
  if (!("page" in change)) next.page = 1;
  return next;
}

/** Whether filters narrow the list beyond the source (sort, direction, page and size only order and cut it). */
export function hasNarrowingFilters(filters: PanelFilters): boolean {
  return (
    filters.scope !== DEFAULT_FILTERS.scope ||
    [filters.drug, filters.route, filters.week, filters.verdict, filters.flag, filters.severity, filters.prescriber, filters.from, filters.to, filters.preset].some((v) => v !== null)
  );
}

/** The worklist's URL for filters: what a link or a bookmark holds. */
export function worklistHref(filters: PanelFilters): string {
  const query = serializePanelFilters(filters);
  return query ? `/panel/worklist?${query}` : "/panel/worklist";
}

/** The panel patient view's path for a synced patient. */
export function panelPatientHref(source: string, patientId: string): string {
  return `/panel/patients/${encodeURIComponent(source)}/${encodeURIComponent(patientId)}`;
}

/** One short phrase per active filter, in the URL's order, for the "showing" line. */
export function describeFilters(filters: PanelFilters, sourceName?: (id: string) => string): string[] {
  const out: string[] = [];
  if (filters.source) out.push(`source ${sourceName ? sourceName(filters.source) : filters.source}`);
  out.push(filters.scope === "on-jak" ? "on a JAK inhibitor now" : "every synced patient");
  if (filters.drug) out.push(DRUG_LABELS[filters.drug]);
  if (filters.route) out.push(`${filters.route} route`);
  if (filters.week) out.push(`latest decided checkpoint week ${filters.week}`);
  if (filters.verdict) out.push(filters.verdict === "none" ? "no checkpoint decided yet" : `latest verdict ${verdictLabel(filters.verdict as CheckpointVerdict)}`);
  if (filters.flag) out.push(`flag: ${flagKindLabel(filters.flag).toLowerCase()}${filters.severity ? ` (${filters.severity})` : ""}`);
  else if (filters.severity) out.push(`flag severity: ${filters.severity}`);
  if (filters.prescriber) out.push(`prescriber ${filters.prescriber}`);
  if (filters.from || filters.to) {
    const field = DATE_FIELD_LABELS[filters.dateOf];
    if (filters.from && filters.to) out.push(`${field} ${formatDate(filters.from)} to ${formatDate(filters.to)}`);
    else if (filters.from) out.push(`${field} on or after ${formatDate(filters.from)}`);
    else out.push(`${field} on or before ${formatDate(filters.to)}`);
  }
  if (filters.preset) out.push(PRESET_LABELS[filters.preset].toLowerCase());
  return out;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
