/**
 * A fhirclient environment adapter for the Web `Request` a Next.js route handler receives (fhirclient ships
 * Browser, Node and Hapi adapters; its Node adapter wants IncomingMessage/ServerResponse). fhirclient's core
 * (`authorize`, `ready`, `Client`) runs on the server; `redirect()` only records the location, and the route
 * handler turns it into a 302 Response with the session cookie. Storage is the caller's (the Postgres
 * session, session-store.ts), so tokens never reach the browser.
 */
import { createHash, randomBytes } from "node:crypto";
import { base64url, importJWK, SignJWT, type JWTHeaderParameters, type JWTPayload } from "jose";
import type { fhirclient } from "fhirclient/lib/types";

export interface WebAdapterOptions {
  request: Request;
  storage: fhirclient.Storage;
  /** Public origin of the app when behind a proxy (APP_BASE_URL); else the request URL's origin. */
  baseUrl?: string | null;
  /** Passed to fhirclient (e.g. refreshTokenWithClientId); kept for the Client it creates. */
  [key: string]: unknown;
}

/** Server-side crypto for fhirclient (PKCE S256, private_key_jwt), on node:crypto and this app's jose. */
const security = {
  randomBytes: (n: number): Buffer => randomBytes(n),
  async digestSha256(payload: string): Promise<Buffer> {
    return createHash("sha256").update(payload).digest();
  },
  async generatePKCEChallenge(entropy = 96): Promise<{ codeChallenge: string; codeVerifier: string }> {
    const codeVerifier = base64url.encode(randomBytes(entropy));
    const codeChallenge = base64url.encode(createHash("sha256").update(codeVerifier).digest());
    return { codeChallenge, codeVerifier };
  },
  async importJWK(jwk: { alg?: string; key_ops?: string[] } & Record<string, unknown>) {
    if (!jwk.alg) throw new Error('The "alg" property of the JWK must be set to "ES384" or "RS384"');
    return importJWK(jwk, jwk.alg);
  },
  async signCompactJws(alg: string, privateKey: Parameters<SignJWT["sign"]>[0], header: Partial<JWTHeaderParameters>, payload: JWTPayload): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(privateKey);
  },
};

/**
 * The app's public origin for this request: APP_BASE_URL when configured; else the Host header the browser
 * sent (Next's request.url may name another host, e.g. localhost for 127.0.0.1) with X-Forwarded-Proto or
 * the request's own protocol. The redirect_uri built from it must be registered at the EHR, so a forged Host
 * gains nothing.
 */
export function requestOrigin(request: Request, baseUrl?: string | null): string {
  if (baseUrl) return new URL(baseUrl).origin;
  const url = new URL(request.url);
  const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || request.headers.get("host");
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() || url.protocol.replace(/:$/, "");
  if (host && /^[A-Za-z0-9.\-\[\]:]+$/.test(host) && (proto === "http" || proto === "https")) return `${proto}://${host}`;
  return url.origin;
}

export class WebRequestAdapter {
  readonly options: WebAdapterOptions;
  readonly security = security;
  /** Where fhirclient asked to redirect, once it has. */
  redirectLocation: string | null = null;
  private readonly url: URL;

  constructor(options: WebAdapterOptions) {
    this.options = options;
    const requestUrl = new URL(options.request.url);
    this.url = new URL(requestUrl.pathname + requestUrl.search, requestOrigin(options.request, options.baseUrl));
  }

  getUrl(): URL {
    return new URL(this.url.href);
  }

  relative(path: string): string {
    return new URL(path, this.url.href).href;
  }

  redirect(location: string): void {
    this.redirectLocation = location;
  }

  getStorage(): fhirclient.Storage {
    return this.options.storage;
  }

  btoa(str: string): string {
    return Buffer.from(str).toString("base64");
  }

  atob(str: string): string {
    return Buffer.from(str, "base64").toString("ascii");
  }

  base64urlencode(input: string | Uint8Array): string {
    return base64url.encode(input);
  }

  base64urldecode(input: string): string {
    return new TextDecoder().decode(base64url.decode(input));
  }

  getAbortController(): typeof AbortController {
    return AbortController;
  }

  /** The request was made over https (directly or, with a configured https APP_BASE_URL, via a proxy). */
  isSecure(): boolean {
    return this.url.protocol === "https:";
  }
}
