/**
 * SMART sessions in PostgreSQL (model Session). The browser holds only an opaque random id in an HttpOnly
 * cookie. fhirclient's storage (its state: PKCE verifier, token response, endpoints) is kept encrypted in
 * `tokens_enc` (AES-256-GCM, crypto.ts); `state` holds a PHI-free, token-free summary; the launch context
 * (patient, practitioner, role, issuer) has its own columns so authorization checks read the server's copy.
 */
import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../generated/prisma/client";
import { decryptString, encryptString } from "./crypto";

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
  expired: boolean;
}

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

export class SessionStore {
  constructor(
    private readonly db: PrismaClient,
    private readonly key: Buffer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(ttlSeconds: number, issuer?: string | null): Promise<LoadedSession> {
    const id = newSessionId();
    const expiresAt = new Date(this.now().getTime() + ttlSeconds * 1000);
    await this.db.session.create({ data: { id, state: { phase: "new" }, expiresAt, issuer: issuer ?? null } });
    return { id, data: {}, expiresAt, expired: false, patientId: null, practitionerId: null, role: null, issuer: issuer ?? null };
  }

  /** The session, or null when the id is unknown or its tokens cannot be decrypted (key rotated). */
  async load(id: string): Promise<LoadedSession | null> {
    if (!id || id.length > 128) return null;
    const row = await this.db.session.findUnique({ where: { id } });
    if (!row) return null;
    let data: SmartStorageData = {};
    if (row.tokensEnc) {
      try {
        data = JSON.parse(decryptString(row.tokensEnc, this.key)) as SmartStorageData;
      } catch {
        return null;
      }
    }
    return {
      id: row.id,
      data,
      expiresAt: row.expiresAt,
      expired: row.expiresAt.getTime() <= this.now().getTime(),
      patientId: row.patientId,
      practitionerId: row.practitionerId,
      role: row.role,
      issuer: row.issuer,
    };
  }

  async saveData(id: string, data: SmartStorageData): Promise<void> {
    const clean = stripConfigSecrets(data);
    await this.db.session.update({
      where: { id },
      data: { tokensEnc: encryptString(JSON.stringify(clean), this.key), state: summarize(clean) as object },
    });
  }

  async setContext(id: string, ctx: Partial<SessionContext> & { expiresAt?: Date }): Promise<void> {
    await this.db.session.update({ where: { id }, data: ctx });
  }

  async delete(id: string): Promise<void> {
    await this.db.session.deleteMany({ where: { id } });
  }

  /** Removes expired rows; returns how many. Called opportunistically on launch. */
  async deleteExpired(): Promise<number> {
    const { count } = await this.db.session.deleteMany({ where: { expiresAt: { lt: this.now() } } });
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
