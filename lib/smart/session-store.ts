/**
 * SMART sessions in PostgreSQL (model Session). The browser holds only an opaque random id in an HttpOnly
 * cookie. fhirclient's storage (its state: PKCE verifier, token response, endpoints) is kept encrypted in
 * `tokens_enc` (AES-256-GCM, crypto.ts); `state` holds a PHI-free, token-free summary; the launch context
 * (patient, practitioner, role, issuer) has its own columns so authorization checks read the server's copy.
 */
import { randomBytes } from "node:crypto";
import type { PrismaClient, Session as SessionRow } from "../generated/prisma/client";
import { decryptString, encryptString } from "./crypto";
import { claimAuthorizationCode } from "./spent-codes";

/** fhirclient's storage content: SMART_KEY -> state key, state key -> client state. */
export type SmartStorageData = Record<string, unknown>;

export interface SessionContext {
  patientId: string | null;
  practitionerId: string | null;
  role: string | null;
  issuer: string | null;
}

export interface LoadedSession extends SessionContext {
  id: string;
  data: SmartStorageData;
  expiresAt: Date;
  /** Past its absolute lifetime or idle longer than SESSION_IDLE_SECONDS. */
  expired: boolean;
}

/** SESSION_IDLE_SECONDS: a session unused this long ends (besides the absolute SESSION_TTL_SECONDS); default 30 min. */
export function sessionIdleSeconds(env: Record<string, string | undefined> = process.env): number {
  const n = Number(env.SESSION_IDLE_SECONDS);
  return Number.isFinite(n) && n > 0 ? n : 30 * 60;
}

/** Activity is written at most this often (updated_at is the last-used time), not on every request. */
export const TOUCH_INTERVAL_SECONDS = 60;

/** Secrets that come from configuration, never persisted (re-injected on load). */
const CONFIG_ONLY_KEYS = ["clientSecret", "clientPrivateJwk"] as const;

function stripConfigSecrets(data: SmartStorageData): SmartStorageData {
  const out: SmartStorageData = {};
  for (const [k, v] of Object.entries(data)) {
    if (v && typeof v === "object" && !Array.isArray(v) && "serverUrl" in v) {
      const copy = { ...(v as Record<string, unknown>) };
      for (const secret of CONFIG_ONLY_KEYS) delete copy[secret];
      out[k] = copy;
    } else out[k] = v;
  }
  return out;
}

/** A token-free summary of fhirclient's state for the `state` column (diagnostics only). */
function summarize(data: SmartStorageData): Record<string, unknown> {
  for (const v of Object.values(data)) {
    if (v && typeof v === "object" && "serverUrl" in v) {
      const s = v as { serverUrl?: string; expiresAt?: number; tokenResponse?: { scope?: string; access_token?: string; refresh_token?: string } };
      return {
        serverUrl: s.serverUrl ?? null,
        phase: s.tokenResponse?.access_token ? "authorized" : "authorizing",
        grantedScope: s.tokenResponse?.scope ?? null,
        tokenExpiresAt: s.expiresAt ?? null,
        hasRefreshToken: Boolean(s.tokenResponse?.refresh_token),
      };
    }
  }
  return { phase: "new" };
}

export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}

/** The columns a session read needs, as stored. */
interface StoredSessionRow {
  id: string;
  tokens_enc: string | null;
  patient_id: string | null;
  practitioner_id: string | null;
  role: string | null;
  issuer: string | null;
  expires_at: Date;
  updated_at: Date;
}

/** Plain SQL on a pg pool: every API request reads its session, and Prisma's query engine costs more than the read. */
export interface SessionPool {
  query<R extends object>(sql: string, params: unknown[]): Promise<{ rows: R[] }>;
}

const READ_SESSION_SQL = "SELECT id, tokens_enc, patient_id, practitioner_id, role, issuer, expires_at, updated_at FROM sessions WHERE id = $1";
const TOUCH_SESSION_SQL = "UPDATE sessions SET updated_at = $2 WHERE id = $1";

/** What a loaded session is made from: a Prisma row, or the read's columns (fromStored). */
type SessionFields = Pick<SessionRow, "id" | "tokensEnc" | "patientId" | "practitionerId" | "role" | "issuer" | "expiresAt" | "updatedAt">;

function fromStored(r: StoredSessionRow): SessionFields {
  return { id: r.id, tokensEnc: r.tokens_enc, patientId: r.patient_id, practitionerId: r.practitioner_id, role: r.role, issuer: r.issuer, expiresAt: r.expires_at, updatedAt: r.updated_at };
}

/**
 * The session a request's role gate read (role-gate.ts), for the handler that needs it whole (getSessionAccess):
 * one read of the session row per request instead of two. Taken once; keyed by the Request, so it goes with it.
 */
const sessionsReadFor = new WeakMap<Request, LoadedSession>();

export function rememberRequestSession(request: Request, session: LoadedSession): void {
  sessionsReadFor.set(request, session);
}

export function takeRequestSession(request: Request, id: string): LoadedSession | null {
  const session = sessionsReadFor.get(request);
  sessionsReadFor.delete(request);
  return session && session.id === id ? session : null;
}

export class SessionStore {
  constructor(
    private readonly db: PrismaClient,
    private readonly key: Buffer,
    private readonly now: () => Date = () => new Date(),
    private readonly idleSeconds: number = sessionIdleSeconds(),
    /** Where `load` reads and touches sessions (the app's pg pool); without one, the same SQL through Prisma. */
    private readonly pool?: SessionPool,
  ) {}

  private async sql<R extends object>(text: string, params: unknown[]): Promise<R[]> {
    if (this.pool) return (await this.pool.query<R>(text, params)).rows;
    return this.db.$queryRawUnsafe<R[]>(text, ...params);
  }

  /** A new session row; `data` (a launch's state, encrypted like every write) goes in with it, in one insert. */
  async create(ttlSeconds: number, issuer?: string | null, data?: SmartStorageData): Promise<LoadedSession> {
    const id = newSessionId();
    const expiresAt = new Date(this.now().getTime() + ttlSeconds * 1000);
    const columns = data ? this.dataColumns(data) : { state: { phase: "new" }, updatedAt: this.now() };
    await this.db.session.create({ data: { id, ...columns, expiresAt, issuer: issuer ?? null } });
    return { id, data: data ? { ...data } : {}, expiresAt, expired: false, patientId: null, practitionerId: null, role: null, issuer: issuer ?? null };
  }

  /**
   * Claims an authorization code for this app's one token request (spent-codes.ts): true the first time, false
   * when this or another instance claimed it before. Atomic across instances.
   */
  async claimAuthorizationCode(issuer: string, code: string): Promise<boolean> {
    return claimAuthorizationCode(this.db, issuer, code, this.now());
  }

  /** The session, or null when the id is unknown or its tokens cannot be decrypted (key rotated). */
  async load(id: string): Promise<LoadedSession | null> {
    if (!id || id.length > 128) return null;
    const [stored] = await this.sql<StoredSessionRow>(READ_SESSION_SQL, [id]);
    const row = stored ? fromStored(stored) : null;
    const session = row ? this.fromRow(row) : null;
    if (!row || !session) return null;
    const now = this.now().getTime();
    // updated_at doubles as last use: a live session in use is touched (at most once a minute).
    if (!session.expired && row.updatedAt.getTime() + TOUCH_INTERVAL_SECONDS * 1000 <= now) {
      await this.sql(TOUCH_SESSION_SQL, [id, new Date(now)]);
    }
    return session;
  }

  private fromRow(row: SessionFields): LoadedSession | null {
    let data: SmartStorageData = {};
    if (row.tokensEnc) {
      try {
        data = JSON.parse(decryptString(row.tokensEnc, this.key)) as SmartStorageData;
      } catch {
        return null;
      }
    }
    const now = this.now().getTime();
    const idle = row.updatedAt.getTime() + this.idleSeconds * 1000 <= now;
    return {
      id: row.id,
      data,
      expiresAt: row.expiresAt,
      expired: idle || row.expiresAt.getTime() <= now,
      patientId: row.patientId,
      practitionerId: row.practitionerId,
      role: row.role,
      issuer: row.issuer,
    };
  }

  private dataColumns(data: SmartStorageData): { tokensEnc: string; state: object; updatedAt: Date } {
    const clean = stripConfigSecrets(data);
    return { tokensEnc: encryptString(JSON.stringify(clean), this.key), state: summarize(clean) as object, updatedAt: this.now() };
  }

  async saveData(id: string, data: SmartStorageData): Promise<void> {
    await this.db.session.update({ where: { id }, data: this.dataColumns(data) });
  }

  /**
   * Runs `work` (a token refresh) under a PostgreSQL transaction-level advisory lock on this session, shared by
   * every app instance on the database, with the session as stored once the lock is held (a refresh another
   * instance finished meanwhile is visible there, so its refresh token is not spent twice). The data `work`
   * returns is written in the same transaction, before the lock is released. Page views do not wait: the lock
   * is not a row lock.
   */
  async withRefreshLock<T>(id: string, work: (current: LoadedSession | null) => Promise<{ result: T; data?: SmartStorageData }>): Promise<T> {
    return this.db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`ejm-session-refresh:${id}`}, 0))) AS l`;
        const row = await tx.session.findUnique({ where: { id } });
        const current = row ? this.fromRow(row) : null;
        const out = await work(current);
        if (out.data && current) await tx.session.update({ where: { id }, data: this.dataColumns(out.data) });
        return out.result;
      },
      // Waiters queue on the lock for at most one refresh (token requests time out after 10 s).
      { maxWait: 15_000, timeout: 30_000 },
    );
  }

  async setContext(id: string, ctx: Partial<SessionContext> & { expiresAt?: Date }): Promise<void> {
    await this.db.session.update({ where: { id }, data: { ...ctx, updatedAt: this.now() } });
  }

  /**
   * Gives the session a new id (at the callback, once the user is authenticated: an id planted or seen before
   * the login is worth nothing after it). Returns the new id.
   */
  async rotate(id: string): Promise<string> {
    const next = newSessionId();
    await this.db.session.update({ where: { id }, data: { id: next, updatedAt: this.now() } });
    return next;
  }

  async delete(id: string): Promise<void> {
    await this.db.session.deleteMany({ where: { id } });
  }

  async deleteMany(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const { count } = await this.db.session.deleteMany({ where: { id: { in: ids } } });
    return count;
  }

  /** Removes expired and idle rows; returns how many. Called opportunistically on launch. */
  async deleteExpired(): Promise<number> {
    const now = this.now();
    const idleSince = new Date(now.getTime() - this.idleSeconds * 1000);
    const { count } = await this.db.session.deleteMany({ where: { OR: [{ expiresAt: { lt: now } }, { updatedAt: { lt: idleSince } }] } });
    return count;
  }
}

/**
 * fhirclient's Storage interface over one session's data. Every write is persisted (encrypted) before it
 * resolves, so the launch and the callback may run in different processes.
 */
export class SessionSmartStorage {
  constructor(
    private readonly store: SessionStore,
    private readonly session: LoadedSession,
    private readonly inject: Record<string, unknown> = {},
  ) {}

  async get(key: string): Promise<unknown> {
    const v = this.session.data[key];
    if (v && typeof v === "object" && !Array.isArray(v) && "serverUrl" in v) return { ...(v as object), ...this.inject };
    return v;
  }

  async set(key: string, value: unknown): Promise<unknown> {
    this.session.data[key] = value;
    await this.store.saveData(this.session.id, this.session.data);
    return value;
  }

  async unset(key: string): Promise<boolean> {
    if (!Object.prototype.hasOwnProperty.call(this.session.data, key)) return false;
    delete this.session.data[key];
    await this.store.saveData(this.session.id, this.session.data);
    return true;
  }
}
