/**
 * POST /api/session/logout: ends every session this browser holds (the latest launch, each patient's launch,
 * launches in progress) on the server and clears their cookies. Same-origin only (CSRF): the Origin header
 * must be the app's own origin, or, without Origin, Sec-Fetch-Site must say same-origin; anything else is
 * refused and changes nothing.
 */
import type { SmartClientConfig } from "./config";
import { allSessionCookies, clearSessionCookie, LAUNCH_COOKIE_PREFIX } from "./cookies";
import type { SessionStore } from "./session-store";
import { requestOrigin } from "./web-adapter";

export interface LogoutDeps {
  store: SessionStore;
  config: Pick<SmartClientConfig, "appBaseUrl">;
  audit?: (entry: { actor: string; role: string | null; action: string; outcome: string; detail: Record<string, unknown> }) => Promise<void>;
}

/** Whether a state-changing request comes from the app's own pages. */
export function isSameOriginRequest(request: Request, appBaseUrl: string | null): boolean {
  const expected = requestOrigin(request, appBaseUrl);
  const origin = request.headers.get("origin");
  if (origin) return origin === expected;
  return request.headers.get("sec-fetch-site") === "same-origin";
}

export async function handleLogout(request: Request, deps: LogoutDeps): Promise<Response> {
  if (!isSameOriginRequest(request, deps.config.appBaseUrl)) {
    return new Response(JSON.stringify({ error: "cross-origin", message: "Sign out from the app's own page." }), {
      status: 403,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });
  }
  const held = allSessionCookies(request);
  const ended = await deps.store.deleteMany([...new Set(held.map((c) => c.id))]);
  await deps.audit?.({ actor: "unknown", role: null, action: "logout", outcome: "success", detail: { sessions: ended } }).catch(() => undefined);
  const base = requestOrigin(request, deps.config.appBaseUrl);
  const secure = base.startsWith("https:");
  const headers = new Headers({ location: `${base}/`, "cache-control": "no-store" });
  for (const { name } of held) headers.append("set-cookie", clearSessionCookie(secure, name, name.startsWith(LAUNCH_COOKIE_PREFIX) ? "/callback" : "/"));
  // 303: the browser follows a form POST with a GET of the home page.
  return new Response(null, { status: 303, headers });
}
