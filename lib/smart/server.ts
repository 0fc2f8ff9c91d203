/**
 * The app process's SMART dependencies: the Postgres session store (prisma() on DATABASE_URL), the token key
 * (SESSION_SECRET), the client configuration from the environment, a PHI-free log line per event, and the
 * audit sink. Route handlers call `smartDeps()`; tests build their own deps.
 */
import "server-only";
import { prisma } from "../db/client";
import { smartConfig } from "./config";
import { sessionKey } from "./crypto";
import type { LaunchDeps } from "./launch";
import { auditSink } from "./audit";
import { SessionStore } from "./session-store";

export function logEvent(event: string, fields: Record<string, string | number | boolean | null>): void {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  console.log(`[smart] ${event} ${parts.join(" ")}`.trim());
}

export function smartDeps(): LaunchDeps {
  const db = prisma();
  return { store: new SessionStore(db, sessionKey()), config: smartConfig(), log: logEvent, audit: auditSink(db) };
}
