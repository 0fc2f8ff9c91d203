/**
 * Tokens at rest: AES-256-GCM with a key derived (HKDF-SHA256) from SESSION_SECRET. The ciphertext format is
 * "v1.<iv b64url>.<tag b64url>.<data b64url>". Without SESSION_SECRET, a random secret is generated once into
 * .data/session-secret (git-ignored) and a warning says so, except in production (NODE_ENV=production without
 * EJM_DEMO=1), where a missing SESSION_SECRET is an error.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const b64u = (b: Buffer): string => b.toString("base64url");

export function deriveKey(secret: string): Buffer {
  if (Buffer.byteLength(secret, "utf8") < 32) throw new Error("SESSION_SECRET must be at least 32 bytes");
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from("eczema-jak-monitor"), Buffer.from("session-tokens-v1"), 32));
}

export function encryptString(plain: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", b64u(iv), b64u(cipher.getAuthTag()), b64u(data)].join(".");
}

/** Throws when the ciphertext was altered or encrypted under another key. */
export function decryptString(token: string, key: Buffer): string {
  const [v, iv, tag, data] = token.split(".");
  if (v !== "v1" || !iv || !tag || data === undefined) throw new Error("unrecognised ciphertext");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
}

const globalKey = globalThis as unknown as { ejmSessionKey?: Buffer };

/** The process's token-encryption key (SESSION_SECRET, else the generated development secret). */
export function sessionKey(env: Record<string, string | undefined> = process.env): Buffer {
  if (globalKey.ejmSessionKey) return globalKey.ejmSessionKey;
  let secret = env.SESSION_SECRET;
  if (!secret && env.NODE_ENV === "production" && env.EJM_DEMO !== "1") {
    throw new Error("SESSION_SECRET is not set: set it (32+ random bytes, the same on every instance) in production; a secret is generated only for the demo (EJM_DEMO=1).");
  }
  if (!secret) {
    const dir = env.EJM_DATA_DIR ? path.resolve(env.EJM_DATA_DIR) : path.resolve(process.cwd(), ".data");
    const file = path.join(dir, "session-secret");
    if (existsSync(file)) secret = readFileSync(file, "utf8").trim();
    else {
      mkdirSync(dir, { recursive: true });
      secret = randomBytes(32).toString("base64url");
      writeFileSync(file, secret + "\n", { mode: 0o600 });
      console.warn(`[smart] SESSION_SECRET is not set: generated a development secret in ${file}. Set SESSION_SECRET (32+ bytes) in production.`);
    }
  }
  globalKey.ejmSessionKey = deriveKey(secret);
  return globalKey.ejmSessionKey;
}
