import { describe, expect, it } from "vitest";
import { contentSecurityPolicy, frameAncestors, newNonce, securityHeaders, servedOverHttps } from "./security-headers";

describe("security headers", () => {
  it("allows scripts only with the request's nonce (strict-dynamic), no inline script, no eval in production", () => {
    const csp = contentSecurityPolicy({ nonce: "abc123", allowedIssuers: [], https: false, dev: false });
    expect(csp).toContain("script-src 'self' 'nonce-abc123' 'strict-dynamic'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'self'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain("upgrade-insecure-requests");
  });

  it("limits frame-ancestors to 'self' and the allowed issuers' origins", () => {
    expect(frameAncestors(["https://ehr.example.org/fhir/r4", "https://ehr.example.org/other", "https://b.example.com", "not a url"])).toEqual([
      "'self'",
      "https://ehr.example.org",
      "https://b.example.com",
    ]);
    expect(frameAncestors([])).toEqual(["'self'", "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]);
    expect(contentSecurityPolicy({ nonce: "n", allowedIssuers: ["https://ehr.example.org/fhir"], https: true, dev: false })).toContain("frame-ancestors 'self' https://ehr.example.org;");
  });

  it("sends Strict-Transport-Security only over https, and Permissions-Policy always", () => {
    const https = securityHeaders({ nonce: "n", allowedIssuers: [], https: true, dev: false });
    expect(https["Strict-Transport-Security"]).toMatch(/^max-age=31536000/);
    expect(https["Content-Security-Policy"]).toContain("upgrade-insecure-requests");
    const http = securityHeaders({ nonce: "n", allowedIssuers: [], https: false, dev: false });
    expect(http["Strict-Transport-Security"]).toBeUndefined();
    expect(http["Permissions-Policy"]).toContain("camera=()");
    expect(http["X-Content-Type-Options"]).toBe("nosniff");
  });

  it("tells https from APP_BASE_URL, then the proxy's X-Forwarded-Proto, then the request", () => {
    expect(servedOverHttps("http://10.0.0.1/", null, "https://app.example.org")).toBe(true);
    expect(servedOverHttps("http://10.0.0.1/", "https", null)).toBe(true);
    expect(servedOverHttps("https://x/", "http", null)).toBe(false);
    expect(servedOverHttps("http://x/", null, null)).toBe(false);
  });

  it("makes a fresh 128-bit nonce per request", () => {
    const a = newNonce();
    expect(Buffer.from(a, "base64")).toHaveLength(16);
    expect(newNonce()).not.toBe(a);
  });
});
