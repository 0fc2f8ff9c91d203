/**
 * Authorization codes this app has sent to a token endpoint (table spent_authorization_codes), so a callback that
 * carries a code already spent is refused before any second token request: a double-submitted callback, a replay
 * of the callback URL, another instance's attempt that died mid-way. Only SHA-256(issuer, code) is stored, never the
 * code; rows live a day (codes live minutes), and a few expired rows are purged by each claim.
 */
import { createHash } from "node:crypto";
import type { PrismaClient } from "../generated/prisma/client";
import { canonicalIssuer } from "./roles";

/** How long a spent code is remembered: far longer than any authorization server lets a code live. */
export const SPENT_CODE_TTL_SECONDS = 24 * 3600;

/** Expired rows removed by one claim (bounded, so a claim stays one quick statement). */
const PURGE_BATCH = 100;

/** Hex SHA-256 of the issuer (without trailing slash) and the code, JSON-encoded so no two pairs read the same. */
export function spentCodeHash(issuer: string, code: string): string {
  return createHash("sha256").update(JSON.stringify([canonicalIssuer(issuer), code])).digest("hex");
}

/**
 * Claims `code` of `issuer` for this app's one token request: true the first time, false when it was claimed
 * before (by this or another instance). Atomic (INSERT ... ON CONFLICT DO NOTHING): of two concurrent claims
 * exactly one wins.
 */
export async function claimAuthorizationCode(db: PrismaClient, issuer: string, code: string, now: Date = new Date()): Promise<boolean> {
  const hash = spentCodeHash(issuer, code);
  const expiresAt = new Date(now.getTime() + SPENT_CODE_TTL_SECONDS * 1000);
  const rows = await db.$queryRaw<Array<{ claimed: number }>>`
    WITH purged AS (
      DELETE FROM spent_authorization_codes WHERE code_hash IN (
        SELECT code_hash FROM spent_authorization_codes WHERE expires_at < ${now} LIMIT ${PURGE_BATCH}
      )
    )
    INSERT INTO spent_authorization_codes (code_hash, spent_at, expires_at) VALUES (${hash}, ${now}, ${expiresAt})
    ON CONFLICT (code_hash) DO NOTHING
    RETURNING 1 AS claimed`;
  return rows.length === 1;
}
