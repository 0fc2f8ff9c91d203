/**
 * Request rules shared by the sync and code-mapping routes: zod schemas for bodies, query strings and path ids;
 * the cross-site refusal for state-changing requests; JSON responses; and the PHI-free audit row.
 */
import type pg from "pg";
import { z } from "zod";
import { tryRecordAudit } from "../audit/audit";
import { parseConceptId } from "../clinical/codes";
import type { PanelApiErrorBody } from "./sync-types";

const SOURCE_ID = z.string().trim().min(1, "is empty").max(200, "is too long").regex(/^[A-Za-z0-9._:-]+$/, "has characters a source id never has");

/** POST /api/panel/sync */
export const syncNowSchema = z.strictObject({
  sourceId: SOURCE_ID.optional(),
  full: z.boolean().optional(),
});

/** A sync_runs id in a path (bigint as decimal). */
export const runIdSchema = z.string().regex(/^[1-9][0-9]{0,17}$/, "is not a run id");

/** ?source= on GET routes: one source, or all when absent or empty. */
export const sourceQuerySchema = z.strictObject({
  source: z.union([SOURCE_ID, z.literal("")]).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

/** A job id (pg-boss: a UUID) in a query string. */
const JOB_ID = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "is not a job id");

/** GET /api/panel/code-coverage?source=&job=: one source or all, and the computation to report on. */
export const codeCoverageQuerySchema = z.strictObject({
  source: z.union([SOURCE_ID, z.literal("")]).optional(),
  job: JOB_ID.optional(),
});

/** POST /api/panel/code-coverage: recompute one source's view, or (no source) every view. */
export const codeCoverageRefreshSchema = z.strictObject({
  source: SOURCE_ID.optional(),
});

/** GET /api/panel/code-mappings?job=: the mappings, or how one mapping change's re-evaluation is doing. */
export const codeMappingsQuerySchema = z.strictObject({
  job: JOB_ID.optional(),
});

/** POST /api/panel/code-mappings */
export const codeMappingCreateSchema = z.strictObject({
  system: z.string().trim().min(1, "is empty").max(500, "is too long").regex(/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/, "is not a URI (e.g. http://loinc.org or urn:oid:1.2.3)"),
  code: z.string().trim().min(1, "is empty").max(200, "is too long"),
  concept: z.string().trim().refine((id) => parseConceptId(id) !== null, "is not a concept the engine knows (e.g. measure:itch, lab:anc, drug:upadacitinib)"),
  display: z.string().trim().max(300, "is too long").optional(),
});

/** DELETE /api/panel/code-mappings */
export const codeMappingDeleteSchema = z.strictObject({
  id: z.string().regex(/^[1-9][0-9]{0,17}$/, "is not a mapping id"),
});

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

export function errorResponse(status: number, error: string, message: string, extra: Partial<PanelApiErrorBody> = {}): Response {
  return jsonResponse(status, { error, message, ...extra } satisfies PanelApiErrorBody);
}

/**
 * 403 when a state-changing request comes from another site: its Origin is not the app's own origin (APP_BASE_URL,
 * else the Host the browser used), or, without Origin, Sec-Fetch-Site says cross-site or same-site. A request with
 * neither header is not from a browser page, so it carries no ambient cookie risk and passes to the session check.
 */
export function crossSiteRefusal(request: Request, appOrigin: string): Response | null {
  const origin = request.headers.get("origin");
  if (origin !== null) {
    if (origin === appOrigin) return null;
    return errorResponse(403, "cross-site", "This request came from another site and was refused.");
  }
  const fetchSite = request.headers.get("sec-fetch-site");
  if (fetchSite === "cross-site" || fetchSite === "same-site") return errorResponse(403, "cross-site", "This request came from another site and was refused.");
  return null;
}

/** Reads a JSON body and validates it: the value, or the 415/400 response to return. */
export async function readJsonBody<T extends z.ZodType>(request: Request, schema: T): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) return { ok: false, response: errorResponse(415, "unsupported-media-type", "Send the request body as application/json.") };
  let raw: unknown;
  try {
    const text = await request.text();
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    return { ok: false, response: errorResponse(400, "bad-request", "The request body is not valid JSON.") };
  }
  return validate(schema, raw);
}

export function validate<T extends z.ZodType>(schema: T, raw: unknown): { ok: true; value: z.infer<T> } | { ok: false; response: Response } {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join(".") || "(body)", message: issue.message }));
  const message = `The request is not valid: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}.`;
  return { ok: false, response: errorResponse(400, "invalid-request", message, { issues }) };
}

/** ?a=b query parameters as a plain object (the last value of a repeated key wins). */
export function queryObject(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams.entries());
}

export interface PanelActor {
  practitionerId: string | null;
  role: string;
  /** From where the request came (lib/audit auditOrigin), for the audit row. */
  origin?: string | null;
}

export interface AuditEntry {
  action: string;
  outcome: "success" | "refused" | "failure";
  entity?: string | null;
  /** No PHI: source ids, run ids, codes and counts only. */
  detail: Record<string, string | number | boolean | null>;
}

/** One audit_events row (lib/audit's writer and PHI guard); a failure to audit never fails the request it describes. */
export async function audit(pool: pg.Pool, actor: PanelActor, entry: AuditEntry): Promise<void> {
  await tryRecordAudit(pool, {
    actor: actor.practitionerId ?? "unknown",
    role: actor.role,
    action: entry.action,
    entity: entry.entity ?? null,
    outcome: entry.outcome,
    detail: entry.detail,
    origin: actor.origin ?? null,
  });
}
