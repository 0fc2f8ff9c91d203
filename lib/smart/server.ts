/**
 * The app process's SMART dependencies: the Postgres session store (prisma() on DATABASE_URL), the token key
 * (SESSION_SECRET), the client configuration from the environment, a PHI-free log line per event, and the
 * audit sink. Route handlers call `smartDeps()`; tests build their own deps.
 */
import "server-only";
import { eventLogger } from "../app/log";
import { prisma } from "../db/client";
import { pgPool } from "../db/pool";
import { smartConfig } from "./config";
import { sessionKey } from "./crypto";
import type { LaunchDeps } from "./launch";
import { roleAssignmentReader } from "../admin/role-assignments";
import { auditSink } from "./audit";
import { SessionStore } from "./session-store";

/** PHI-free events of the launch and session code, as JSON lines through the process logger (lib/app/log.ts). */
export const logEvent: (event: string, fields: Record<string, string | number | boolean | null>) => void = eventLogger("smart");

/** The app's session store: Prisma for writes, the app's pg pool for the read every request makes. */
export function appSessionStore(): SessionStore {
  return new SessionStore(prisma(), sessionKey(), undefined, undefined, pgPool());
}

export function smartDeps(): LaunchDeps {
  const db = prisma();
  return { store: appSessionStore(), config: smartConfig(), log: logEvent, audit: auditSink(db), assignedRole: roleAssignmentReader(db) };
}
