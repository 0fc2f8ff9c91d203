/**
 * The audit trail's filters as they travel in a URL (the admin page, GET /api/admin/audit and its FHIR export):
 * ?action=<prefix>&actor=&role=&outcome=&from=YYYY-MM-DD&to=YYYY-MM-DD&page=&size=. Parsed with zod into
 * AuditFilters, and written back the same way so every filtered view can be bookmarked and shared.
 */
import { z } from "zod";
import { AUDIT_MAX_PAGE_SIZE, AUDIT_OUTCOMES, AUDIT_PAGE_SIZE, type AuditFilters } from "./audit";

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "is not a date (YYYY-MM-DD)")
  .refine((text) => {
    const date = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
  }, "is not a calendar date")
  // PostgreSQL has no year 0 (JavaScript does).
  .refine((text) => text >= "0001-01-01", "is before year 1");

const optional = <T extends z.ZodType>(schema: T) => z.union([z.literal("").transform(() => undefined), schema]).optional();

export const auditQuerySchema = z
  .strictObject({
    action: optional(z.string().max(100, "is too long").regex(/^[A-Za-z0-9._:-]+$/, "has characters an action never has")),
    actor: optional(z.string().max(500, "is too long").regex(/^[^\u0000-\u001f]+$/, "has control characters")),
    role: optional(z.string().max(50, "is too long").regex(/^[a-z][a-z-]*$/, "is not a role")),
    outcome: optional(z.enum(AUDIT_OUTCOMES, { error: `is not one of ${AUDIT_OUTCOMES.join(", ")}` })),
    from: optional(day),
    to: optional(day),
    page: optional(z.coerce.number({ error: "is not a number" }).int("is not a whole number").min(1, "is below 1").max(1_000_000, "is too large")),
    size: optional(z.coerce.number({ error: "is not a number" }).int("is not a whole number").min(1, "is below 1").max(AUDIT_MAX_PAGE_SIZE, `is above ${AUDIT_MAX_PAGE_SIZE}`)),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: "is before from", path: ["to"] });

export interface AuditQuery extends AuditFilters {
  page: number;
  size: number;
}

export interface AuditQueryProblem {
  param: string;
  reason: string;
}

export type ParsedAuditQuery = { ok: true; value: AuditQuery } | { ok: false; problems: AuditQueryProblem[] };

/** URLSearchParams or a Next page's searchParams (the first value of a repeated key). */
export function parseAuditQuery(params: URLSearchParams | Record<string, string | string[] | undefined>): ParsedAuditQuery {
  const raw: Record<string, string> = {};
  if (params instanceof URLSearchParams) {
    for (const [key, value] of params) if (!(key in raw)) raw[key] = value;
  } else {
    for (const [key, value] of Object.entries(params)) {
      const first = Array.isArray(value) ? value[0] : value;
      if (first !== undefined) raw[key] = first;
    }
  }
  const parsed = auditQuerySchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((issue) => ({ param: String(issue.path[0] ?? "(query)"), reason: `${String(issue.path[0] ?? "query")} ${issue.message}` })) };
  }
  const { page, size, ...filters } = parsed.data;
  const value: AuditQuery = { page: page ?? 1, size: size ?? AUDIT_PAGE_SIZE };
  for (const [key, v] of Object.entries(filters)) if (v !== undefined) (value as unknown as Record<string, unknown>)[key] = v;
  return { ok: true, value };
}

/** The filters as a query string ("" when none), without the page unless asked for; the default size is left out. */
export function auditQueryString(query: Partial<AuditQuery>, options: { page?: boolean } = {}): string {
  const params = new URLSearchParams();
  for (const key of ["action", "actor", "role", "outcome", "from", "to"] as const) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  if (options.page && query.page && query.page > 1) params.set("page", String(query.page));
  if (query.size && query.size !== AUDIT_PAGE_SIZE) params.set("size", String(query.size));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** The filters without paging: what an audit of reading the trail records. */
export function auditFiltersDetail(query: AuditFilters): Record<string, string> {
  const detail: Record<string, string> = {};
  for (const key of ["action", "actor", "role", "outcome", "from", "to"] as const) {
    const value = query[key];
    if (value) detail[key] = value;
  }
  return detail;
}
