import { describe, expect, it } from "vitest";
import { auditOrigin } from "./audit";

const req = (headers: Record<string, string>) => new Request("http://app.test/api/admin/roles", { headers });

describe("the client address recorded in the audit trail", () => {
  it("is the X-Forwarded-For chain, else X-Real-IP, else unknown", () => {
    expect(auditOrigin(req({ "x-forwarded-for": "203.0.113.7" }))).toBe("203.0.113.7");
    expect(auditOrigin(req({ "x-forwarded-for": "198.51.100.2, 10.0.0.1" }))).toBe("198.51.100.2, 10.0.0.1");
    expect(auditOrigin(req({ "x-forwarded-for": "::ffff:127.0.0.1" }))).toBe("::ffff:127.0.0.1");
    expect(auditOrigin(req({ "x-real-ip": "2001:db8::1" }))).toBe("2001:db8::1");
    expect(auditOrigin(req({}))).toBeNull();
  });

  it("keeps only address-shaped hops, the last five, so a forged header cannot write text into the trail", () => {
    expect(auditOrigin(req({ "x-forwarded-for": "<script>alert(1)</script>, 203.0.113.7" }))).toBe("203.0.113.7");
    expect(auditOrigin(req({ "x-forwarded-for": "Ada Lindqvist" }))).toBeNull();
    expect(auditOrigin(req({ "x-forwarded-for": "Ada, Dee, 10.0.0.1:443" }))).toBe("10.0.0.1:443");
    expect(auditOrigin(req({ "x-forwarded-for": "1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5, 6.6.6.6" }))).toBe("2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5, 6.6.6.6");
  });
});
