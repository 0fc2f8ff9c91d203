/**
 * The process's structured log: pino, one JSON object per line on stdout, level from LOG_LEVEL (default info).
 * Log lines carry no PHI: event names, counts, codes, timings and error kinds. A patient identifier that must be
 * told apart in the logs goes through `hashId` (a keyed HMAC, truncated); fields named like patient data
 * (patientId, patient, name, birthDate, ...) are hashed or censored by pino's redaction as a second line of defence.
 */
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pino, { type Level, type LevelWithSilent, type Logger } from "pino";

type Env = Record<string, string | undefined>;

/** What a log call may carry: flat, PHI-free values. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;
/** The `log` dependency lib/ modules take (lib/sync, lib/cds, lib/smart, lib/fhir): an event name and its fields. */
export type EventLogFn = (event: string, fields: Record<string, string | number | boolean | null>) => void;

export const LOG_LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const DEFAULT_LEVEL: LevelWithSilent = "info";
/** Bytes of HMAC-SHA256 kept by hashId: 96 bits, 24 hex characters; no collisions at clinic scale. */
const HASH_BYTES = 12;
const MIN_SECRET_BYTES = 32;

/** LOG_LEVEL when it names a pino level (any case), else info. */
export function logLevelFrom(env: Env = process.env): LevelWithSilent {
  const wanted = env.LOG_LEVEL?.trim().toLowerCase();
  return wanted && (LOG_LEVELS as readonly string[]).includes(wanted) ? (wanted as LevelWithSilent) : DEFAULT_LEVEL;
}

// ---------- hashed identifiers ----------

/** The HMAC of a value under a key, truncated: what hashId computes with the process key. */
export function hashIdWith(key: Buffer, value: string): string {
  return createHmac("sha256", key).update(value, "utf8").digest("hex").slice(0, HASH_BYTES * 2);
}

const deriveHashKey = (secret: string): Buffer => Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from("eczema-jak-monitor"), Buffer.from("log-id-hash-v1"), 32));

const keyHolder = globalThis as unknown as { ejmLogHashKey?: Buffer };

/**
 * The key of hashId: LOG_HASH_SECRET (32+ bytes), else derived from SESSION_SECRET (a separate HKDF label, so it is
 * never the token key), else a development secret generated once into <EJM_DATA_DIR or .data>/log-hash-secret with a
 * warning. The same on every instance keeps hashes comparable across instances and restarts.
 */
export function logHashKey(env: Env = process.env): Buffer {
  if (keyHolder.ejmLogHashKey) return keyHolder.ejmLogHashKey;
  const explicit = env.LOG_HASH_SECRET;
  if (explicit !== undefined && explicit !== "") {
    if (Buffer.byteLength(explicit, "utf8") < MIN_SECRET_BYTES) throw new Error(`LOG_HASH_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
    keyHolder.ejmLogHashKey = deriveHashKey(explicit);
  } else if (env.SESSION_SECRET && Buffer.byteLength(env.SESSION_SECRET, "utf8") >= MIN_SECRET_BYTES) {
    keyHolder.ejmLogHashKey = deriveHashKey(env.SESSION_SECRET);
  } else {
    keyHolder.ejmLogHashKey = deriveHashKey(developmentSecret(env));
  }
  return keyHolder.ejmLogHashKey;
}

function developmentSecret(env: Env): string {
  const dir = env.EJM_DATA_DIR ? path.resolve(env.EJM_DATA_DIR) : path.resolve(process.cwd(), ".data");
  const file = path.join(dir, "log-hash-secret");
  try {
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
    mkdirSync(dir, { recursive: true });
    const secret = randomBytes(32).toString("base64url");
    writeFileSync(file, secret + "\n", { mode: 0o600 });
    logger().warn({ event: "log-hash-secret-generated" }, "LOG_HASH_SECRET and SESSION_SECRET are not set: generated a development secret for hashed ids in the data folder. Set one of them in production.");
    return secret;
  } catch {
    // A read-only folder: hashes stay consistent within this process only.
    logger().warn({ event: "log-hash-secret-ephemeral" }, "No secret for hashed ids and the data folder is not writable: hashes are stable only until this process stops.");
    return randomBytes(32).toString("base64url");
  }
}

/** A patient identifier (or any other value that must not appear in logs or the audit trail) as a keyed hash. */
export function hashId(value: string): string {
  return hashIdWith(logHashKey(), value);
}

/** Forgets the cached key (tests that change LOG_HASH_SECRET). */
export function resetLogHashKey(): void {
  keyHolder.ejmLogHashKey = undefined;
}

// ---------- the logger ----------

/** Where JSON lines go: stdout, unless redirected (tests capture them). */
export interface LogSink {
  write(line: string): void;
}

const STDOUT: LogSink = { write: (line) => void process.stdout.write(line) };

const holder = globalThis as unknown as { ejmLogger?: Logger; ejmLogSink?: LogSink };

/** Field names that would carry patient data if a caller slipped: identifiers are hashed, anything else censored. */
const REDACTED_KEYS = ["patientId", "patientIds", "patient", "subject", "name", "given", "family", "birthDate", "mrn", "identifier", "address", "telecom"];

function censor(value: unknown): unknown {
  if (typeof value === "string") return `hash:${hashId(value)}`;
  return "[redacted]";
}

export function createLogger(sink: LogSink, level: LevelWithSilent = logLevelFrom()): Logger {
  return pino(
    {
      level,
      base: { app: "eczema-jak-monitor" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)], censor },
      formatters: { level: (label) => ({ level: label }) },
    },
    sink,
  );
}

/** The process's logger (one per process; kept on globalThis because Next's dev server reloads modules). */
export function logger(): Logger {
  holder.ejmLogger ??= createLogger({ write: (line) => (holder.ejmLogSink ?? STDOUT).write(line) });
  return holder.ejmLogger;
}

function levelOf(event: string): Level {
  return /fail|error|unavailable|invalid|refused|unauthori[sz]ed/i.test(event) ? "warn" : "info";
}

/** The `(event, fields)` log function lib/ modules take, writing to the process logger under a component name. */
export function eventLogger(component: string): EventLogFn {
  return (event, fields) => {
    const log = logger();
    const level = levelOf(event);
    if (!log.isLevelEnabled(level)) return;
    log[level]({ component, event, ...fields }, event);
  };
}

/** A free-text line (worker progress, job queue warnings) under a component; keep patient data out of `line`. */
export function lineLogger(component: string, level: Level = "info"): (line: string) => void {
  return (line) => logger()[level]({ component }, line);
}

/**
 * Sends the process logger's lines to `sink` (and at `level`) until the returned function is called: what a test
 * uses to capture every line a flow logs.
 */
export function redirectLogs(sink: LogSink, level?: LevelWithSilent): () => void {
  const log = logger();
  const previousSink = holder.ejmLogSink;
  const previousLevel = log.level;
  holder.ejmLogSink = sink;
  if (level) log.level = level;
  return () => {
    holder.ejmLogSink = previousSink;
    log.level = previousLevel;
  };
}

/** Captures the process logger's lines (at trace level: everything) until restore(). */
export function captureLogs(level: LevelWithSilent = "trace"): { lines: string[]; text(): string; restore(): void } {
  const lines: string[] = [];
  const restore = redirectLogs({ write: (line) => void lines.push(line) }, level);
  return { lines, text: () => lines.join(""), restore };
}
