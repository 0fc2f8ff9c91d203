/** Shared waiting rules for the Backend Services and Bulk Data clients: abortable sleep, Retry-After, back-off. */
import { parseRetryAfter } from "./requester";

/** Waits ms milliseconds; rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Exponential back-off with half jitter: base * 2^attempt, between half and all of it, at most capMs. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The server's Retry-After (delta seconds or HTTP date) capped at capMs, or null when it sent none. */
export function retryAfterMs(response: Response, capMs: number, now: number = Date.now()): number | null {
  const asked = parseRetryAfter(response.headers.get("retry-after"), now);
  return asked === null ? null : Math.min(asked, capMs);
}

/** Transient HTTP statuses worth another try: rate limited, gateway trouble, unavailable. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
