// Security headers on every page and route (lib/smart/security-headers.ts): CSP with a per-request nonce that
// Next reads from the request's Content-Security-Policy header and puts on its scripts.
import { NextResponse, type NextRequest } from "next/server";
import { newNonce, securityHeaders, servedOverHttps } from "./lib/smart/security-headers";

function allowedIssuers(): string[] | "*" {
  const issuers = (process.env.SMART_ALLOWED_ISSUERS ?? "").trim();
  return issuers === "*" ? "*" : issuers.split(",").map((s) => s.trim()).filter(Boolean);
}

export function proxy(request: NextRequest): NextResponse {
  const nonce = newNonce();
  const headers = securityHeaders({
    nonce,
    allowedIssuers: allowedIssuers(),
    https: servedOverHttps(request.url, request.headers.get("x-forwarded-proto"), process.env.APP_BASE_URL ?? null),
    dev: process.env.NODE_ENV === "development",
  });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("Content-Security-Policy", headers["Content-Security-Policy"]!);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

export const config = {
  // Static assets carry no HTML; the JSON API gets fixed headers from next.config.mjs (no nonce to make: running
  // the proxy cost a summary request about an eighth of its CPU); everything else (pages, CDS Hooks, callback) gets these.
  matcher: ["/((?!_next/static|_next/image|favicon.ico|api/).*)"],
};
