/**
 * The authorization code exchange at the EHR's token endpoint: fhirclient builds the request (client secret by HTTP
 * Basic, a private_key_jwt assertion, or a public client id; the PKCE code_verifier), the app sends it with its own
 * fetch and timeout and reads the answer: tokens, the EHR refusing the code (400 invalid_grant: expired, spent,
 * PKCE failed), another refusal, or no useful answer (timeout, 429, 5xx). A code is single use, so the request is
 * never repeated: a failure ends the launch with a page that says which.
 */
import { buildTokenRequest } from "fhirclient/lib/smart";
import type { fhirclient } from "fhirclient/lib/types";
import { isUnavailableStatus } from "./launch-http";

export interface TokenResponseShape {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  patient?: string;
  id_token?: string;
  [key: string]: unknown;
}

export type CodeExchangeResult =
  | { ok: true; tokenResponse: TokenResponseShape & { access_token: string }; expiresAt: number }
  /** The token endpoint answered with an OAuth error (RFC 6749 5.2), e.g. invalid_grant. */
  | { ok: false; problem: "refused"; status: number; error: string }
  /** No answer, 429 or 5xx: the EHR is down, busy or slow. */
  | { ok: false; problem: "unavailable"; status: number | null }
  /** Another error status, or a success without an access token or not JSON. */
  | { ok: false; problem: "malformed"; status: number };

/** An OAuth error code kept only when it has the RFC 6749 shape (shown on pages, logged). */
export function oauthErrorCode(value: unknown): string {
  return typeof value === "string" && /^[a-z_]{1,64}$/.test(value) ? value : "unknown";
}

/** When the access token expires (epoch seconds): expires_in, else a JWT's exp, else in 5 minutes (as fhirclient). */
export function accessTokenExpiry(tokens: TokenResponseShape, nowSeconds: number): number {
  if (typeof tokens.expires_in === "number" && tokens.expires_in > 0) return nowSeconds + tokens.expires_in;
  const payload = tokens.access_token?.split(".")[1];
  if (payload) {
    try {
      const exp = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown }).exp;
      if (typeof exp === "number") return exp;
    } catch {
      // not a JWT
    }
  }
  return nowSeconds + 300;
}

export async function exchangeAuthorizationCode(opts: {
  /** fhirclient's environment (btoa, signing for private_key_jwt). */
  env: fhirclient.Adapter;
  /** The launch's client state (tokenUri, redirectUri, clientId, codeVerifier, and the configured secret or key). */
  state: fhirclient.ClientState;
  code: string;
  /** The jku sent in a private_key_jwt assertion. */
  clientPublicKeySetUrl?: string;
  fetch?: typeof fetch;
  timeoutMs: number;
  nowSeconds?: () => number;
}): Promise<CodeExchangeResult> {
  const { state } = opts;
  // fhirclient puts the code into the form body as given: encoded here, so no code can add form fields.
  const init = await buildTokenRequest(opts.env, {
    code: encodeURIComponent(opts.code),
    state,
    ...(opts.clientPublicKeySetUrl ? { clientPublicKeySetUrl: opts.clientPublicKeySetUrl } : {}),
    ...(state.clientPrivateJwk ? { privateKey: state.clientPrivateJwk } : {}),
  });
  let response: Response;
  let text: string;
  try {
    response = await (opts.fetch ?? fetch)(state.tokenUri!, {
      method: "POST",
      headers: { accept: "application/json", ...(init.headers as Record<string, string>) },
      body: init.body as string,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    text = await response.text();
  } catch {
    return { ok: false, problem: "unavailable", status: null };
  }
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  const fields = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (response.ok) {
    if (!fields || typeof fields.access_token !== "string" || !fields.access_token) return { ok: false, problem: "malformed", status: response.status };
    const tokenResponse = fields as TokenResponseShape & { access_token: string };
    const now = opts.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    return { ok: true, tokenResponse, expiresAt: accessTokenExpiry(tokenResponse, now) };
  }
  if (isUnavailableStatus(response.status)) return { ok: false, problem: "unavailable", status: response.status };
  if (fields && typeof fields.error === "string") return { ok: false, problem: "refused", status: response.status, error: oauthErrorCode(fields.error) };
  return { ok: false, problem: "malformed", status: response.status };
}
