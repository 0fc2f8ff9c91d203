/**
 * GET /api/admin/audit (a page of the filtered trail as JSON) and GET /api/admin/audit/fhir (the filtered trail as a
 * FHIR R4 Bundle of AuditEvents, streamed), framework-free: the admin role check (through `authorize`, which the
 * route builds from the session), the query validated with zod, then lib/audit. Reading and exporting the trail are
 * audited themselves (audit.read, audit.export).
 */
import { randomUUID } from "node:crypto";
import { eventLogger } from "../app/log";
import type { AppRole } from "../smart/roles";
import { auditOrigin, auditRows, readAudit, tryRecordAudit, type AuditDb, type AuditPage, type AuditRow, type PgQueryable } from "./audit";
import { auditFiltersDetail, parseAuditQuery, type AuditQueryProblem } from "./audit-query";
import { auditBundleJson } from "./fhir-audit-event";
import { isDatabaseUnavailable } from "../db/outage";

/** The audit trail (page, API, FHIR export) is for administrators only. */
export const AUDIT_ROLES: readonly AppRole[] = ["admin"];

export interface AuditActor {
  practitionerId: string | null;
  role: string;
}

export interface AuditHandlerDeps {
  /** The admin-only session check: the actor, or the 401/403 Response to return. */
  authorize: (request: Request) => Promise<AuditActor | Response>;
  db: PgQueryable & AuditDb;
  /** The app's public origin (the AuditEvent observer's identifier). */
  appUrl?: (request: Request) => string | null;
  now?: () => Date;
}

export interface AuditApiResponse extends AuditPage {
  filters: Record<string, string>;
}

export interface AuditApiErrorBody {
  error: string;
  message: string;
  problems?: AuditQueryProblem[];
}

const log = eventLogger("audit");

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

function badRequest(problems: AuditQueryProblem[]): Response {
  return json(400, { error: "bad-request", message: `The filters are not valid: ${problems.map((p) => p.reason).join("; ")}.`, problems } satisfies AuditApiErrorBody);
}

/** 503 (try again) when the database did not answer; any other failure is a 500. */
function unavailable(error: unknown): Response {
  log("audit-read-failed", { error: error instanceof Error ? error.name : "unknown", sqlstate: typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null });
  if (!isDatabaseUnavailable(error)) return json(500, { error: "server-error", message: "The audit trail could not be read (an error in the app; it is logged)." } satisfies AuditApiErrorBody);
  return json(503, { error: "unavailable", message: "The audit trail could not be read. Try again; if it keeps failing, check the database (GET /api/health)." } satisfies AuditApiErrorBody);
}

export async function handleAdminAuditGet(request: Request, deps: AuditHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request);
  if (actor instanceof Response) return actor;
  const parsed = parseAuditQuery(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.problems);
  const { page, size, ...filters } = parsed.value;
  let result: AuditPage;
  try {
    result = await readAudit(deps.db, { ...filters, page, pageSize: size });
  } catch (error) {
    return unavailable(error);
  }
  await tryRecordAudit(deps.db, {
    actor: actor.practitionerId ?? "unknown",
    role: actor.role,
    action: "audit.read",
    outcome: "success",
    detail: { ...auditFiltersDetail(filters), page, rows: result.rows.length, via: "api" },
    origin: auditOrigin(request),
  });
  return json(200, { ...result, filters: auditFiltersDetail(filters) } satisfies AuditApiResponse);
}

async function* counting(rows: AsyncIterable<AuditRow>, counter: { rows: number }): AsyncGenerator<AuditRow, void, undefined> {
  for await (const row of rows) {
    counter.rows++;
    yield row;
  }
}

/** The filtered trail (page and size ignored) as an attachment: application/fhir+json, a Bundle of AuditEvents. */
export async function handleAdminAuditFhirGet(request: Request, deps: AuditHandlerDeps): Promise<Response> {
  const actor = await deps.authorize(request);
  if (actor instanceof Response) return actor;
  const parsed = parseAuditQuery(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.problems);
  const { page: _page, size: _size, ...filters } = parsed.value;
  const now = (deps.now ?? (() => new Date()))();
  const counter = { rows: 0 };
  const chunks = auditBundleJson(counting(auditRows(deps.db, filters), counter), { id: randomUUID(), timestamp: now, appUrl: deps.appUrl?.(request) ?? null })[Symbol.asyncIterator]();
  const audit = (outcome: "success" | "failure", extra: Record<string, string | number>) =>
    tryRecordAudit(deps.db, {
      actor: actor.practitionerId ?? "unknown",
      role: actor.role,
      action: "audit.export",
      outcome,
      detail: { ...auditFiltersDetail(filters), format: "fhir", ...extra },
      origin: auditOrigin(request),
    });
  // The head and the first row (or the end) are read before answering, so an unreachable database is a clean 503.
  const first: string[] = [];
  let done = false;
  try {
    for (let i = 0; i < 2 && !done; i++) {
      const next = await chunks.next();
      if (next.done) done = true;
      else first.push(next.value);
    }
  } catch (error) {
    await audit("failure", { error: error instanceof Error ? error.name : "unknown" });
    return unavailable(error);
  }
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first.length > 0) {
        controller.enqueue(encoder.encode(first.join("")));
        first.length = 0;
        if (!done) return;
      }
      try {
        const next = done ? ({ done: true, value: undefined } as const) : await chunks.next();
        if (next.done) {
          controller.close();
          await audit("success", { rows: counter.rows });
          return;
        }
        controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        controller.error(error);
        await audit("failure", { rows: counter.rows, error: error instanceof Error ? error.name : "unknown" });
      }
    },
    async cancel() {
      await chunks.return?.(undefined);
    },
  });
  const day = now.toISOString().slice(0, 10).replaceAll("-", "");
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/fhir+json; charset=utf-8",
      "content-disposition": `attachment; filename="audit-events-${day}.json"`,
      "cache-control": "no-store",
    },
  });
}
