/**
 * The quality reports' URL state and request rules, both ways: query parameters (a report page's URL, an API
 * call) -> validated filters, period and list options, each bad value rejected with a reason; and the canonical
 * query string back (fixed order, absent values left out), so a report can be bookmarked and shared and the page,
 * its server prefetch and the API read the same thing. Pure (zod; "today" is passed in); safe in the browser.
 */
import { z } from "zod";
import { addDays, calendarDate, daysBetween } from "../clinical/dates";
import type { DrugId, IsoDate, Route } from "../clinical/types";
import { DRUGS, ROUTES, type FilterProblem, type QueryInput } from "../panel/filters";
import type { AppRole } from "../smart/roles";
import type { ReportPeriod } from "./compute";
import type { ExportFormat, ExportOptions } from "./export/report-export";
import { isMeasureId, type MeasureId } from "./measures";
import type { CaseOutcomeFilter, ReportRequest } from "./report-queries";

/** Who may open the reports and their API. */
export const REPORT_ROLES = ["quality", "clinic-lead"] as const satisfies readonly AppRole[];
/** Who may read the export audit trail. */
export const AUDIT_ROLES = ["quality"] as const satisfies readonly AppRole[];
/** Roles that may open a synced patient's view (/panel/patients/...), so the drill-down links to it. */
const PATIENT_VIEW_ROLES: readonly AppRole[] = ["clinic-lead"];

export function canOpenPatient(role: string): boolean {
  return (PATIENT_VIEW_ROLES as readonly string[]).includes(role);
}

/** Kept here (not imported from the export writers, which are server-only) so the browser can use them. */
export const EXPORT_FORMATS = ["csv", "xlsx", "pdf", "fhir"] as const satisfies readonly ExportFormat[];
export const CASE_OUTCOMES = ["all", "numerator", "not-met", "excluded", "denominator"] as const satisfies readonly CaseOutcomeFilter[];
export const DEFAULT_PAGE_SIZE = 25;
export const DEFAULT_AUDIT_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** A longer period would make the monthly trend unreadable and the scan pointless. */
export const MAX_PERIOD_YEARS = 10;

/** A report's filters as a URL holds them: each one absent unless given; the period defaults from "today". */
export interface ReportFilterState {
  from?: IsoDate;
  to?: IsoDate;
  source?: string;
  drug?: DrugId;
  route?: Route;
  prescriber?: string;
}

/** Which cases the patient list shows, and which page of them. */
export interface CaseListState {
  outcome: CaseOutcomeFilter;
  page: number;
  size: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: FilterProblem[] };

function oneOf<T extends string>(values: readonly T[]) {
  return z.string().refine((v): v is T => (values as readonly string[]).includes(v), { error: `must be one of ${values.join(", ")}` });
}

const isoDate = z.string().refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && calendarDate(v) === v, { error: "must be a date written YYYY-MM-DD" });
const sourceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: "must be a source id (letters, digits, '.', '_' or '-', at most 64)" });
const prescriber = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().min(1, { error: "must not be empty" }).max(200, { error: "must be at most 200 characters" }));
const wholeNumber = (max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, { error: `must be a whole number from 1 to ${max}` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, { error: `must be a whole number from 1 to ${max}` });
const flag = z.enum(["1", "0", "true", "false"], { error: "must be 1 or 0" }).transform((v) => v === "1" || v === "true");

/** Each parameter's schema; the order here is the canonical order of the query string. */
const FILTER_PARAMS = { from: isoDate, to: isoDate, source: sourceId, drug: oneOf(DRUGS), route: oneOf(ROUTES), prescriber } as const;
const LIST_PARAMS = { outcome: oneOf(CASE_OUTCOMES), page: wholeNumber(999_999), size: wholeNumber(MAX_PAGE_SIZE) } as const;
const EXPORT_PARAMS = { format: oneOf(EXPORT_FORMATS), bom: flag, shared: flag, outcome: oneOf(CASE_OUTCOMES) } as const;

function readAll(input: QueryInput, name: string): string[] {
  if (input instanceof URLSearchParams) return input.getAll(name);
  const value = input[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * Reads the named parameters. Unknown parameters are ignored (a shared link may carry others); an empty one is
 * absent (an "any" choice in a form); one given twice or with a bad value is a problem with a reason.
 */
function readParams<P extends Record<string, z.ZodType>>(input: QueryInput, params: P): Parsed<{ [K in keyof P]?: z.output<P[K]> }> {
  const problems: FilterProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(params)) {
    const values = readAll(input, name).filter((v) => v !== "");
    if (values.length === 0) continue;
    if (values.length > 1) {
      problems.push({ param: name, reason: `${name} is given ${values.length} times; give it once` });
      continue;
    }
    const parsed = schema.safeParse(values[0]);
    if (parsed.success) out[name] = parsed.data;
    else problems.push({ param: name, reason: `${name} "${truncate(values[0]!)}" ${parsed.error.issues[0]?.message ?? "is not valid"}` });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out as { [K in keyof P]?: z.output<P[K]> } };
}

/** The report filters in a URL or API query (period as given: defaults are applied by reportRequestFor). */
export function parseReportFilters(input: QueryInput): Parsed<ReportFilterState> {
  const parsed = readParams(input, FILTER_PARAMS);
  if (!parsed.ok) return parsed;
  const { from, to } = parsed.value;
  if (from !== undefined && to !== undefined && from > to) return { ok: false, problems: [{ param: "to", reason: `to ${to} is before from ${from}` }] };
  return { ok: true, value: parsed.value as ReportFilterState };
}

/** The default period: the 12 months ending today (to = today, from = to minus 12 months plus 1 day). */
export function defaultReportPeriod(today: IsoDate, to: IsoDate = today): ReportPeriod {
  const year = Math.max(1, Number(to.slice(0, 4)) - 1); // no year 0: PostgreSQL refuses the date
  const monthDay = to.slice(5) === "02-29" ? "02-28" : to.slice(5);
  return { from: addDays(`${String(year).padStart(4, "0")}-${monthDay}`, 1), to };
}

/** The query for a measure: the period (defaults filled in from today) and the filters given. */
export function reportRequestFor(measureId: MeasureId, filters: ReportFilterState, today: IsoDate): Parsed<ReportRequest> {
  const to = filters.to ?? today;
  const from = filters.from ?? defaultReportPeriod(today, to).from;
  if (from > to) return { ok: false, problems: [{ param: "from", reason: `from ${from} is after to ${to}` }] };
  if (daysBetween(from, to) > MAX_PERIOD_YEARS * 366) return { ok: false, problems: [{ param: "from", reason: `the period spans more than ${MAX_PERIOD_YEARS} years; choose a shorter one` }] };
  const request: ReportRequest = { measureId, period: { from, to }, filters: {} };
  if (filters.source !== undefined) request.filters.source = filters.source;
  if (filters.drug !== undefined) request.filters.drug = filters.drug;
  if (filters.route !== undefined) request.filters.route = filters.route;
  if (filters.prescriber !== undefined) request.filters.prescriber = filters.prescriber;
  return { ok: true, value: request };
}

/** A measure id from a path: the id, or the problem. */
export function parseMeasureId(raw: string): Parsed<MeasureId> {
  return isMeasureId(raw) ? { ok: true, value: raw } : { ok: false, problems: [{ param: "measureId", reason: `there is no measure "${truncate(raw)}"` }] };
}

/** ?outcome=&page=&size= of the patient list (all cases, page 1, 25 a page by default). */
export function parseCaseListQuery(input: QueryInput): Parsed<CaseListState> {
  const parsed = readParams(input, LIST_PARAMS);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { outcome: parsed.value.outcome ?? "all", page: parsed.value.page ?? 1, size: parsed.value.size ?? DEFAULT_PAGE_SIZE } };
}

/** ?format=&bom=&shared=&outcome= of a direct export's URL; the format is required. */
export function parseExportQuery(input: QueryInput): Parsed<ExportOptions> {
  const parsed = readParams(input, EXPORT_PARAMS);
  if (!parsed.ok) return parsed;
  const { format, bom, shared, outcome } = parsed.value;
  if (format === undefined) return { ok: false, problems: [{ param: "format", reason: `format is required (one of ${EXPORT_FORMATS.join(", ")})` }] };
  return { ok: true, value: exportOptions({ format, bom, shared, outcome }) };
}

function exportOptions(input: { format: ExportFormat; bom?: boolean | undefined; shared?: boolean | undefined; outcome?: CaseOutcomeFilter | undefined }): ExportOptions {
  const options: ExportOptions = { format: input.format };
  if (input.format === "csv" && input.bom) options.bom = true;
  if (input.shared) options.shared = true;
  if (input.outcome !== undefined && input.outcome !== "all") options.outcome = input.outcome;
  return options;
}

/** POST /api/reports/[measureId]/exports: the period, the filters and the export's options. */
export const exportBodySchema = z.strictObject({
  from: isoDate,
  to: isoDate,
  source: sourceId.optional(),
  drug: oneOf(DRUGS).optional(),
  route: oneOf(ROUTES).optional(),
  prescriber: prescriber.optional(),
  format: oneOf(EXPORT_FORMATS),
  bom: z.boolean().optional(),
  shared: z.boolean().optional(),
  outcome: oneOf(CASE_OUTCOMES).optional(),
});
export type ExportBody = z.input<typeof exportBodySchema>;

/** A validated export body as the report request and the export options, or the problems (zod's, and the period's). */
export function parseExportBody(measureId: MeasureId, raw: unknown, today: IsoDate): Parsed<{ request: ReportRequest; options: ExportOptions }> {
  const parsed = exportBodySchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => ({ param: i.path.join(".") || "(body)", reason: `${i.path.join(".") || "the body"} ${i.message}` })) };
  const { from, to, source, drug, route, prescriber: who, format, bom, shared, outcome } = parsed.data;
  const request = reportRequestFor(measureId, { from, to, source, drug, route, prescriber: who }, today);
  if (!request.ok) return request;
  return { ok: true, value: { request: request.value, options: exportOptions({ format, bom, shared, outcome }) } };
}

/** The canonical query string (without "?") of report filters: fixed order, absent ones left out. */
export function serializeReportFilters(filters: ReportFilterState): string {
  const params = new URLSearchParams();
  for (const name of Object.keys(FILTER_PARAMS) as Array<keyof ReportFilterState>) {
    const value = filters[name];
    if (value !== undefined && value !== "") params.set(name, value);
  }
  return params.toString();
}

/** The filters of a resolved request, period included (what an export's URL carries). */
export function requestFilterState(request: ReportRequest): ReportFilterState {
  return { from: request.period.from, to: request.period.to, ...request.filters };
}

/** The patient list's part of a query string: defaults left out. */
export function serializeCaseList(list: CaseListState): string {
  const params = new URLSearchParams();
  if (list.outcome !== "all") params.set("outcome", list.outcome);
  if (list.page !== 1) params.set("page", String(list.page));
  if (list.size !== DEFAULT_PAGE_SIZE) params.set("size", String(list.size));
  return params.toString();
}

function joinQuery(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("&");
}

/** A report page's URL: the filters, then the list's outcome and page when not the defaults. */
export function reportHref(measureId: MeasureId, filters: ReportFilterState, list?: CaseListState): string {
  const query = joinQuery(serializeReportFilters(filters), list ? serializeCaseList(list) : "");
  return query ? `/reports/${measureId}?${query}` : `/reports/${measureId}`;
}

/** The URL that streams a direct export (GET /api/reports/[measureId]/export). */
export function directExportUrl(request: ReportRequest, options: ExportOptions): string {
  const params = new URLSearchParams(serializeReportFilters(requestFilterState(request)));
  params.set("format", options.format);
  if (options.bom) params.set("bom", "1");
  if (options.shared) params.set("shared", "1");
  if (options.outcome && options.outcome !== "all") params.set("outcome", options.outcome);
  return `/api/reports/${request.measureId}/export?${params.toString()}`;
}

/** ?page=&size= of the audit page (page 1, 50 a page by default). */
export function parseAuditQuery(input: QueryInput): Parsed<{ page: number; size: number }> {
  const parsed = readParams(input, { page: LIST_PARAMS.page, size: LIST_PARAMS.size });
  if (!parsed.ok) return parsed;
  return { ok: true, value: { page: parsed.value.page ?? 1, size: parsed.value.size ?? DEFAULT_AUDIT_SIZE } };
}

/** A report_exports id in a path (bigint as decimal). */
export const exportIdSchema = z.string().regex(/^[1-9][0-9]{0,17}$/, { error: "is not an export id" });
