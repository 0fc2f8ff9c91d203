/**
 * The launch's GETs to the EHR (SMART discovery, the CapabilityStatement, the id_token's issuer documents and keys,
 * the PractitionerRole read) through lib/fhir's FhirRequester: 429 and 503 retried honouring Retry-After, network
 * errors and timeouts retried with back-off, a timeout per attempt. Bounds suit a person waiting at a sign-in: a
 * few retries, and a Retry-After longer than a few seconds ends the launch with "try again" instead of a long wait.
 */
import { FhirHttpError, FhirRequester, type FhirRequesterOptions } from "../fhir/requester";

/** How the launch's EHR requests are retried and timed out (tests shorten them, or record the waits with `sleep`). */
export type LaunchHttpOptions = Pick<FhirRequesterOptions, "timeoutMs" | "maxRetries" | "baseDelayMs" | "maxRetryAfterMs" | "sleep">;

export const LAUNCH_HTTP_DEFAULTS: Required<Omit<LaunchHttpOptions, "sleep">> = { timeoutMs: 8000, maxRetries: 2, baseDelayMs: 250, maxRetryAfterMs: 3000 };

/**
 * A requester on `baseUrl` with the launch's retry bounds. `accept` replaces the FHIR Accept header for plain JSON
 * documents (.well-known, JWKS); `noRedirects` refuses to follow a redirect (key sets are fetched where named).
 */
export function launchRequester(
  baseUrl: string,
  opts: { fetch?: typeof fetch; http?: LaunchHttpOptions; accessToken?: string; accept?: string; noRedirects?: boolean } = {},
): FhirRequester {
  const base = opts.fetch ?? fetch;
  const adjusted =
    opts.accept || opts.noRedirects
      ? ((input: RequestInfo | URL, init?: RequestInit) =>
          base(input, {
            ...init,
            headers: { ...(init?.headers as Record<string, string> | undefined), ...(opts.accept ? { accept: opts.accept } : {}) },
            ...(opts.noRedirects ? { redirect: "manual" as const } : {}),
          })) as typeof fetch
      : base;
  return new FhirRequester({ ...LAUNCH_HTTP_DEFAULTS, ...opts.http, baseUrl, fetch: adjusted, ...(opts.accessToken ? { accessToken: opts.accessToken } : {}) });
}

/** Why an EHR request of the launch failed, after retries. */
export interface LaunchHttpFailure {
  /** HTTP status of the last answer; null when there was none (network error, timeout). */
  status: number | null;
  /** The EHR is down, busy or slow (no answer, 429, 5xx): worth trying again later, unlike a 4xx or a bad body. */
  unavailable: boolean;
}

export function launchHttpFailure(error: unknown): LaunchHttpFailure {
  const status = error instanceof FhirHttpError ? error.status : null;
  return { status, unavailable: isUnavailableStatus(status) };
}

/** No answer, rate limited or a server-side failure. */
export function isUnavailableStatus(status: number | null): boolean {
  return status === null || status === 429 || status >= 500;
}
