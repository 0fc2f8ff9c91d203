/**
 * "The database is not answering" (refused, shutting down or starting up, a connection cut mid-query, no free
 * connection in time) told apart from every other failure, and noted per request: a handler that caught such an
 * error and answered 500 can still be answered "retry" by the route around it (lib/app/db-unavailable.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";

/** Socket errors of a server that is down, restarting or unreachable. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);
/** SQLSTATEs: class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now), 53300 (too many connections). */
const SQLSTATE_OUTAGE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/** Prisma: P1001 cannot reach, P1002 timed out, P1008 operation timed out, P1017 server closed the connection, P2024 no pool connection in time. */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
/** @prisma/adapter-pg's kinds for the same conditions (DriverAdapterError causes). */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
/** pg's and Prisma's own words when they carry no code. */
const OUTAGE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Can't reach database server|Server has closed the connection|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|terminating connection due to administrator command/i;

function own(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" && key in value ? (value as Record<string, unknown>)[key] : undefined;
}

function signalsOutage(value: object): boolean {
  for (const key of ["code", "errorCode", "originalCode"]) {
    const code = own(value, key);
    if (typeof code === "string" && (SOCKET_CODES.has(code) || SQLSTATE_OUTAGE.test(code) || PRISMA_CODES.has(code))) return true;
  }
  const kind = own(value, "kind");
  if (typeof kind === "string" && ADAPTER_KINDS.has(kind)) return true;
  const message = own(value, "message");
  return typeof message === "string" && OUTAGE_MESSAGE.test(message);
}

/**
 * Whether an error (pg, Prisma with the pg adapter, a socket error, or one wrapping any of them in `cause`,
 * `errors` or Prisma's `meta.driverAdapterError`) means the database is not answering, so a retry may succeed.
 * Constraint violations, bad SQL, missing tables and bugs are not.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<object>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < 32) {
    const next = pending.pop();
    if (next === null || typeof next !== "object" || seen.has(next)) continue;
    seen.add(next);
    if (signalsOutage(next)) return true;
    pending.push(own(next, "cause"), own(own(next, "meta"), "driverAdapterError"));
    const errors = own(next, "errors");
    if (Array.isArray(errors)) pending.push(...errors.slice(0, 8));
  }
  return false;
}

interface OutageScope {
  outage: boolean;
}

// On globalThis: Next may load this module more than once per process (route chunks, dev reloads), and the pools
// that note outages must reach the scope the route opened.
const holder = globalThis as unknown as { ejmDatabaseOutageScopes?: AsyncLocalStorage<OutageScope> };
const scopes = (holder.ejmDatabaseOutageScopes ??= new AsyncLocalStorage<OutageScope>());

/** Marks the current request (if one is being watched) as having met a database outage. */
export function noteDatabaseFailure(error: unknown): void {
  const scope = scopes.getStore();
  if (scope && !scope.outage && isDatabaseUnavailable(error)) scope.outage = true;
}

export type WatchedResult<T> = { ok: true; value: T; outageSeen: boolean } | { ok: false; error: unknown; outageSeen: boolean };

/** Runs `work` noting every database outage its queries meet (through pools passed to observeOutages), caught or not. */
export async function watchDatabaseOutages<T>(work: () => Promise<T>): Promise<WatchedResult<T>> {
  const scope: OutageScope = { outage: false };
  try {
    const value = await scopes.run(scope, work);
    return { ok: true, value, outageSeen: scope.outage };
  } catch (error) {
    return { ok: false, error, outageSeen: scope.outage || isDatabaseUnavailable(error) };
  }
}

/** Passes a promise through, noting its rejection (the caller still gets it). Other values pass untouched. */
function noted<R>(result: R): R {
  if (result instanceof Promise) result.catch(noteDatabaseFailure);
  return result;
}

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * Makes every query and connection of this pool (checked-out clients included) note outages in the request that
 * made them; results, callbacks and streams are unchanged.
 */
export function observeOutages(pool: pg.Pool): pg.Pool {
  const query = pool.query.bind(pool) as AnyFunction;
  const connect = pool.connect.bind(pool) as AnyFunction;
  pool.query = ((...args: unknown[]) => noted(query(...args))) as typeof pool.query;
  pool.connect = ((...args: unknown[]) => noted(connect(...args))) as typeof pool.connect;
  pool.on("connect", (client: pg.PoolClient) => {
    const clientQuery = client.query.bind(client) as AnyFunction;
    client.query = ((...args: unknown[]) => noted(clientQuery(...args))) as typeof client.query;
  });
  return pool;
}
