/**
 * Requests while PostgreSQL is not answering (stopped, restarting, connections cut, no connection in time): route
 * handlers answer a clean 503 `{ error: "database-unavailable", message, retryable: true }` with Retry-After, pages
 * show app/database-unavailable.tsx (which retries by itself). Never "signed out": a session that could not be read
 * is still there once the database answers. Log lines name the event and where, never the request's path or ids.
 */
import { isDatabaseUnavailable, watchDatabaseOutages } from "../db/outage";
import { eventLogger } from "./log";

/** How long a client should wait before it retries: the Retry-After header and the retry page's refresh. */
export const DATABASE_RETRY_SECONDS = 5;

export const DATABASE_UNAVAILABLE_CODE = "database-unavailable";

export interface DatabaseUnavailableBody {
  error: typeof DATABASE_UNAVAILABLE_CODE;
  message: string;
  retryable: true;
}

const log = eventLogger("database");

/** The 503 every JSON route answers during a database outage. */
export function databaseUnavailableResponse(): Response {
  const body: DatabaseUnavailableBody = {
    error: DATABASE_UNAVAILABLE_CODE,
    message: "The app's database is not answering. Nothing was lost and your session is kept: try again in a few seconds.",
    retryable: true,
  };
  return new Response(JSON.stringify(body), {
    status: 503,
    headers: { "content-type": "application/json", "cache-control": "no-store", "retry-after": String(DATABASE_RETRY_SECONDS) },
  });
}

export interface OutageAnswerOptions {
  /**
   * Only an outage thrown at the route becomes the 503; the handler's own 5xx answers stand (a score write whose
   * EHR call failed says so, even when its audit row could not be written either).
   */
  onlyThrown?: boolean;
}

/**
 * A route handler that answers 503 (databaseUnavailableResponse) when it met a database outage: thrown at it, or
 * caught inside and answered with a 5xx (the pools note every outage of the request, lib/db/outage.ts). Other
 * answers pass unchanged and other errors are rethrown for Next to report.
 */
export function answerDatabaseOutages<A extends unknown[]>(
  handler: (...args: A) => Promise<Response> | Response,
  options: OutageAnswerOptions = {},
): (...args: A) => Promise<Response> {
  return async (...args: A) => {
    const result = await watchDatabaseOutages(async () => handler(...args));
    if (result.ok) {
      if (options.onlyThrown || !(result.outageSeen && result.value.status >= 500)) return result.value;
      log("database-unavailable", { via: "route", answered: result.value.status });
      return databaseUnavailableResponse();
    }
    if (!result.outageSeen) throw result.error;
    log("database-unavailable", { via: "route", answered: "thrown" });
    return databaseUnavailableResponse();
  };
}

/** What orDatabaseOutage gives instead of a value when the database did not answer. */
export const DATABASE_OUTAGE: unique symbol = Symbol("database-outage");

/**
 * For server components: the value of `work`, or DATABASE_OUTAGE when it failed because the database is not
 * answering (the page then renders <DatabaseUnavailable />). Other errors, and Next's redirect or notFound, go on.
 */
export async function orDatabaseOutage<T>(work: Promise<T>): Promise<T | typeof DATABASE_OUTAGE> {
  try {
    return await work;
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    log("database-unavailable", { via: "page" });
    return DATABASE_OUTAGE;
  }
}
