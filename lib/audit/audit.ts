/**
 * The audit trail (table audit_events): one writer, `recordAudit`, for every audited event (launches, patient views,
 * panel drill-downs, score writes, exports, CDS calls, sync runs, code mappings, role changes), and one reader,
 * `readAudit`, for the admin page, its API and the FHIR AuditEvent export. The table is append-only in the database
 * itself (triggers refuse UPDATE, DELETE and TRUNCATE: migration 20261130081144_roles_and_audit_origin).
 *
 * A row says who (actor: a practitioner reference, a CDS client's iss, "unknown" or "system:<job>"), in which role,
 * did what (action, entity), when (at), from where (origin: the client address chain the app saw, null for jobs),
 * with which outcome (success, refused, failure), and a small `detail` object. It never holds PHI; the guard below
 * enforces the rule on every write:
 *
 * - no patient names, birth dates, addresses, contact details or free text about a patient, anywhere;
 * - a patient (or other person) identifier appears only hashed with lib/app/log.ts `hashId` (HMAC-SHA256 under
 *   LOG_HASH_SECRET or the session secret, 24 hex characters): `patientEntity(id)` for the entity, `hashId(id)` for
 *   a detail value. An auditor holding the key can find every access to one patient by hashing the id the same way;
 *   nobody else learns the id;
 * - detail keys that name patient data (patient..., subject, name, given, family, birth..., dob, address, phone,
 *   telecom, email, mrn, ssn, identifier, comment, note) hold only booleans, numbers, null or hashed ids;
 * - no string anywhere holds a raw "Patient/<id>" reference, a value the caller declared sensitive (`phi`), or more
 *   than 1000 characters.
 *
 * A value that breaks the rule is not written: it is replaced by "[redacted]", the row gets `phiGuard` (the paths
 * redacted) and the logger warns (action and paths only). The event is still recorded, so the trail has no gap.
 */
import type pg from "pg";
import { hashId, logger } from "../app/log";

export const AUDIT_OUTCOMES = ["success", "refused", "failure"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export type AuditDetail = Record<string, unknown>;

export interface AuditEntry {
  /** Who: "Practitioner/123" (the fhirUser), a CDS client's iss, "unknown", or "system:<job>" for background work. */
  actor: string;
  /** The app role (dermatologist, clinic-lead, quality, admin), "cds-client", "system", or null when unknown. */
  role: string | null;
  /** What happened: "patient.view", "report.export", "cds.patient-view", "sync.start", ... (lib/audit/actions.ts). */
  action: string;
  /** What it was about: "Measure/x", "source:main", "sync-run:12", "patient:<hash>", ... */
  entity?: string | null;
  outcome: AuditOutcome;
  /** Small, PHI-free facts: codes, counts, reason codes, hashed ids. */
  detail: AuditDetail;
  /** From where: the client address chain as the app saw it (`auditOrigin(request)`); null for jobs. */
  origin?: string | null;
}

/** A pg Pool, PoolClient or Client. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A Prisma client (the SMART code's database handle). */
export interface PrismaRawClient {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

export type AuditDb = PgQueryable | PrismaRawClient | pg.Pool;

export const REDACTED = "[redacted]";
/** A hashed identifier as hashId writes it. */
const HASHED_ID = /^[0-9a-f]{24}$/;
const PATIENT_ENTITY = /^patient:[0-9a-f]{24}$/;
/** Keys whose value would be patient data: only booleans, numbers, null or hashed ids are allowed under them. */
const PATIENT_DATA_KEY = /patient|subject|name$|^name|given|family|birth|^dob$|address|phone|telecom|email|mrn|ssn|identifier|comment|note/i;
/** A raw FHIR Patient reference (a hashed one is allowed). */
const RAW_PATIENT_REFERENCE = /\bPatient\/(?![0-9a-f]{24}\b)[A-Za-z0-9\-.]{1,64}/;
const RAW_PATIENT_REFERENCES = new RegExp(RAW_PATIENT_REFERENCE.source, "g");
const MAX_STRING = 1000;
const MAX_DEPTH = 4;
const KEY_SHAPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The audit entity of a patient: `patient:<hashId(id)>`. */
export function patientEntity(patientId: string): string {
  return `patient:${hashId(patientId)}`;
}

/**
 * From where: the X-Forwarded-For chain (Next's server sets it to the socket's address when no proxy did; a proxy in
 * front must set or append it), else X-Real-IP; each hop checked to look like an address, the last 5, or null.
 */
export function auditOrigin(request: Request | Headers | null | undefined): string | null {
  if (!request) return null;
  const headers = request instanceof Headers ? request : request.headers;
  const chain = headers.get("x-forwarded-for") ?? headers.get("x-real-ip");
  if (!chain) return null;
  // The last hops: the ones the app's own proxies appended, not what the client claimed first.
  const hops = chain
    .split(",")
    .map((hop) => hop.trim())
    .filter(isAddress)
    .slice(-MAX_HOPS);
  return hops.length > 0 ? hops.join(", ") : null;
}

const MAX_HOPS = 5;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/;
const IPV6 = /^\[?[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f.]{0,15}){2,8}(%[A-Za-z0-9_.-]{1,16})?\]?(:\d{1,5})?$/;
/** Only hops shaped like IPv4 or IPv6 addresses are kept, so a forged header cannot write text into the trail. */
const isAddress = (hop: string): boolean => hop.length <= 64 && (IPV4.test(hop) || IPV6.test(hop));

// ---------- the PHI guard ----------

export interface PhiGuardResult {
  entity: string | null;
  detail: AuditDetail;
  /** Paths of the values replaced (empty when the entry was clean). */
  redacted: string[];
}

function tokensOf(text: string): string[] {
  return text.split(/[^A-Za-z0-9\-.]+/).filter(Boolean);
}

function stringProblem(value: string, sensitive: ReadonlySet<string>): boolean {
  if (value.length > MAX_STRING) return true;
  if (RAW_PATIENT_REFERENCE.test(value)) return true;
  if (sensitive.size > 0) {
    if (sensitive.has(value)) return true;
    for (const token of tokensOf(value)) if (sensitive.has(token)) return true;
    for (const phrase of sensitive) if (phrase.includes(" ") && value.includes(phrase)) return true;
  }
  return false;
}

/**
 * Checks an entry against the rule in this file's header and returns it with every offending value replaced.
 * `phi`: values the caller knows are patient data (the raw patient id, a name) that must appear nowhere.
 */
export function guardAuditEntry(entry: Pick<AuditEntry, "entity" | "detail" | "action">, phi: readonly string[] = []): PhiGuardResult {
  const sensitive = new Set(phi.filter((v) => v.length > 0));
  const redacted: string[] = [];
  const visit = (value: unknown, path: string, key: string | null, depth: number): unknown => {
    const patientKey = key !== null && PATIENT_DATA_KEY.test(key);
    if (value === null || typeof value === "boolean") return value;
    if (typeof value === "number") return Number.isFinite(value) ? value : null;
    if (typeof value === "string") {
      if (stringProblem(value, sensitive) || (patientKey && !HASHED_ID.test(value) && !PATIENT_ENTITY.test(value))) {
        redacted.push(path);
        return REDACTED;
      }
      return value;
    }
    if (depth >= MAX_DEPTH || patientKey) {
      // Nested data under a patient key, or nested too deep to be a fact: not audit material.
      redacted.push(path);
      return REDACTED;
    }
    if (Array.isArray(value)) return value.slice(0, 100).map((item, i) => visit(item, `${path}[${i}]`, key, depth + 1));
    if (typeof value === "object") {
      const out: AuditDetail = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) continue;
        const childPath = path ? `${path}.${k}` : k;
        if (!KEY_SHAPE.test(k) || stringProblem(k, sensitive)) {
          redacted.push(childPath.replace(/[^A-Za-z0-9_.[\]-]/g, "?"));
          continue;
        }
        out[k] = visit(v, childPath, k, depth + 1);
      }
      return out;
    }
    // Functions, symbols, bigints: not JSON facts.
    redacted.push(path);
    return REDACTED;
  };
  const detail = visit(entry.detail ?? {}, "", null, 0) as AuditDetail;
  let entity = entry.entity ?? null;
  if (entity !== null && (stringProblem(entity, sensitive) || (/^patient\b/i.test(entity) && !PATIENT_ENTITY.test(entity)))) {
    redacted.push("(entity)");
    entity = REDACTED;
  }
  return { entity, detail, redacted };
}

/** The actor as stored: a patient who launched the app (fhirUser Patient/123) is recorded by hashed reference. */
export function auditActor(actor: string): string {
  const hashed = actor.replace(RAW_PATIENT_REFERENCES, (reference) => `Patient/${hashId(reference.slice("Patient/".length))}`);
  return hashed.slice(0, 500) || "unknown";
}

// ---------- writing ----------

const INSERT = "insert into audit_events (actor, role, action, entity, outcome, detail, origin) values ($1, $2, $3, $4, $5, $6::jsonb, $7)";

function isPrisma(db: AuditDb): db is PrismaRawClient {
  return typeof (db as PrismaRawClient).$executeRawUnsafe === "function";
}

/**
 * Appends one audit row (in its own statement: never inside the transaction of the work it describes, so a rolled
 * back piece of work is still audited). Throws when the database refuses; `tryRecordAudit` does not.
 */
export async function recordAudit(db: AuditDb, entry: AuditEntry, options: { phi?: readonly string[] } = {}): Promise<void> {
  const guarded = guardAuditEntry(entry, options.phi);
  const detail = guarded.redacted.length > 0 ? { ...guarded.detail, phiGuard: guarded.redacted } : guarded.detail;
  if (guarded.redacted.length > 0) {
    logger().warn({ component: "audit", event: "audit-phi-guard", action: entry.action, paths: guarded.redacted.join(",") }, "audit-phi-guard");
  }
  const values = [auditActor(entry.actor), entry.role, entry.action, guarded.entity, entry.outcome, JSON.stringify(detail), entry.origin ? entry.origin.slice(0, 300) : null];
  if (isPrisma(db)) await db.$executeRawUnsafe(INSERT, ...values);
  else await (db as PgQueryable).query(INSERT, values);
}

/** recordAudit for request paths: a failure to audit never fails the request it describes; it is logged (kind only). */
export async function tryRecordAudit(db: AuditDb, entry: AuditEntry, options: { phi?: readonly string[] } = {}): Promise<boolean> {
  try {
    await recordAudit(db, entry, options);
    return true;
  } catch (error) {
    const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : null;
    logger().error({ component: "audit", event: "audit-write-failed", action: entry.action, error: error instanceof Error ? error.name : "unknown", sqlstate: code }, "audit-write-failed");
    return false;
  }
}

/** The `audit` dependency lib/ modules take (launch, score writes, patient views): entries go to `db`. */
export type AuditFn = (entry: AuditEntry) => Promise<void>;

export function auditTo(db: AuditDb): AuditFn {
  return async (entry) => void (await tryRecordAudit(db, entry));
}

// ---------- reading ----------

export interface AuditFilters {
  /** Actions starting with this ("cds." for every CDS call, "report.export" for exports). */
  action?: string;
  /** Exactly this actor. */
  actor?: string;
  role?: string;
  outcome?: AuditOutcome;
  /** First day (YYYY-MM-DD), inclusive, in `timeZone`. */
  from?: string;
  /** Last day (YYYY-MM-DD), inclusive, in `timeZone`. */
  to?: string;
}

export interface AuditRow {
  id: string;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  entity: string | null;
  outcome: string;
  detail: AuditDetail;
  origin: string | null;
}

export interface AuditPage {
  rows: AuditRow[];
  total: number;
  page: number;
  pageSize: number;
}

export const AUDIT_PAGE_SIZE = 50;
export const AUDIT_MAX_PAGE_SIZE = 200;

interface RawAuditRow {
  id: string;
  at: Date;
  actor: string;
  role: string | null;
  action: string;
  entity: string | null;
  outcome: string;
  detail: AuditDetail | null;
  origin: string | null;
}

const COLUMNS = "id::text AS id, at, actor, role, action, entity, outcome, detail, origin";

function toRow(r: RawAuditRow): AuditRow {
  return { id: r.id, at: r.at.toISOString(), actor: r.actor, role: r.role, action: r.action, entity: r.entity, outcome: r.outcome, detail: r.detail ?? {}, origin: r.origin };
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function validTimeZone(zone: string | undefined): string {
  if (!zone) return "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return "UTC";
  }
}

/** The WHERE clause of the filters, and its parameters (numbered from 1). */
function whereOf(filters: AuditFilters, timeZone: string): { sql: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown): void => {
    values.push(value);
    clauses.push(sql(`$${values.length}`));
  };
  if (filters.action) add((n) => `action LIKE ${n} || '%'`, escapeLike(filters.action));
  if (filters.actor) add((n) => `actor = ${n}`, filters.actor);
  if (filters.role) add((n) => `role = ${n}`, filters.role);
  if (filters.outcome) add((n) => `outcome = ${n}`, filters.outcome);
  if (filters.from || filters.to) values.push(timeZone);
  const zone = `$${values.length}`;
  if (filters.from) add((n) => `at >= (${n}::date)::timestamp AT TIME ZONE ${zone}`, filters.from);
  if (filters.to) add((n) => `at < (${n}::date + 1)::timestamp AT TIME ZONE ${zone}`, filters.to);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", values };
}

/** One page of the filtered trail, newest first, with the total. */
export async function readAudit(db: PgQueryable | pg.Pool, filters: AuditFilters & { page?: number; pageSize?: number }, options: { timeZone?: string } = {}): Promise<AuditPage> {
  const page = Math.max(1, Math.floor(filters.page ?? 1));
  const pageSize = Math.min(AUDIT_MAX_PAGE_SIZE, Math.max(1, Math.floor(filters.pageSize ?? AUDIT_PAGE_SIZE)));
  const where = whereOf(filters, validTimeZone(options.timeZone));
  const n = where.values.length;
  const q = db as PgQueryable;
  const [rows, total] = await Promise.all([
    q.query(`SELECT ${COLUMNS} FROM audit_events ${where.sql} ORDER BY at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`, [...where.values, pageSize, (page - 1) * pageSize]),
    q.query(`SELECT count(*)::bigint::text AS n FROM audit_events ${where.sql}`, where.values),
  ]);
  return { rows: (rows.rows as RawAuditRow[]).map(toRow), total: Number((total.rows[0] as { n: string } | undefined)?.n ?? 0), page, pageSize };
}

/** Every filtered row, newest first, read in keyset batches (one batch in memory at a time): the FHIR export's source. */
export async function* auditRows(db: PgQueryable | pg.Pool, filters: AuditFilters, options: { timeZone?: string; batchSize?: number } = {}): AsyncGenerator<AuditRow, void, undefined> {
  const batchSize = Math.max(1, Math.min(5000, options.batchSize ?? 500));
  const where = whereOf(filters, validTimeZone(options.timeZone));
  const q = db as PgQueryable;
  let after: { at: Date; id: string } | null = null;
  for (;;) {
    const values: unknown[] = [...where.values];
    let keyset = "";
    if (after) {
      values.push(after.at, after.id);
      keyset = `${where.sql ? " AND" : "WHERE"} (at, id) < ($${values.length - 1}::timestamptz, $${values.length}::bigint)`;
    }
    values.push(batchSize);
    const { rows } = await q.query(`SELECT ${COLUMNS} FROM audit_events ${where.sql}${keyset} ORDER BY at DESC, id DESC LIMIT $${values.length}`, values);
    const batch = rows as RawAuditRow[];
    for (const row of batch) yield toRow(row);
    if (batch.length < batchSize) return;
    const last = batch[batch.length - 1]!;
    after = { at: last.at, id: last.id };
  }
}
