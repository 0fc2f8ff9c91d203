/**
 * Response security headers (applied by proxy.ts to every page and route outside /api/, whose JSON answers get fixed
 * headers from next.config.mjs: a CSP that allows nothing): a Content-Security-Policy with a
 * per-request script nonce (Next applies it to its own scripts; pages render dynamically), frame-ancestors
 * limited to 'self' and the allowed SMART issuers' origins (EHRs that embed the app in an iframe),
 * Strict-Transport-Security over https, Permissions-Policy and the usual hardening headers.
 */
import type { SmartClientConfig } from "./config";

const LOOPBACK_FRAME_ANCESTORS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"];

/** 'self' plus the origins of SMART_ALLOWED_ISSUERS ("*": any https origin; none configured: loopback, the sandbox). */
export function frameAncestors(allowed: SmartClientConfig["allowedIssuers"]): string[] {
  if (allowed === "*") return ["'self'", "https:"];
  if (allowed.length === 0) return ["'self'", ...LOOPBACK_FRAME_ANCESTORS];
  const origins = new Set<string>();
  for (const entry of allowed) {
    try {
      const url = new URL(entry);
      if (url.protocol === "https:" || url.protocol === "http:") origins.add(url.origin);
    } catch {
      // not a URL: isIssuerAllowed refuses it too
    }
  }
  return ["'self'", ...origins];
}

export function contentSecurityPolicy(opts: { nonce: string; allowedIssuers: SmartClientConfig["allowedIssuers"]; https: boolean; dev: boolean }): string {
  const directives = [
    "default-src 'self'",
    // 'strict-dynamic': scripts the nonce'd framework scripts load are trusted; no inline script without the nonce.
    `script-src 'self' 'nonce-${opts.nonce}' 'strict-dynamic'${opts.dev ? " 'unsafe-eval'" : ""}`,
    // React and the charts set style attributes; a nonce cannot cover those.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${opts.dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors(opts.allowedIssuers).join(" ")}`,
    ...(opts.https ? ["upgrade-insecure-requests"] : []),
  ];
  return directives.join("; ");
}

export const PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), interest-cohort=()";

/** A fresh nonce: 128 bits from the CSPRNG (Web Crypto, available in the proxy). */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/** Every header the app sets on a response; `csp` is also handed to Next in the request (it reads the nonce there). */
export function securityHeaders(opts: { nonce: string; allowedIssuers: SmartClientConfig["allowedIssuers"]; https: boolean; dev: boolean }): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(opts),
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin-allow-popups",
    ...(opts.https ? { "Strict-Transport-Security": "max-age=31536000; includeSubDomains" } : {}),
  };
}

/** Whether the app is served over https: APP_BASE_URL's scheme, else the request's (or its proxy's) scheme. */
export function servedOverHttps(requestUrl: string, forwardedProto: string | null, appBaseUrl: string | null): boolean {
  if (appBaseUrl) return appBaseUrl.startsWith("https:");
  const proto = forwardedProto?.split(",")[0]?.trim();
  if (proto) return proto === "https";
  return requestUrl.startsWith("https:");
}
