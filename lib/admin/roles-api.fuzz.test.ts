/**
 * Fuzz tests of the admin roles API's input rules and the client address read for the audit trail: any body or query
 * gives a value within the rules or a 400 naming the field (never a throw), and no forged X-Forwarded-For writes
 * anything but addresses into the trail. Seeded (lib/testing/arbitraries.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validate } from "../panel/panel-requests";
import { APP_ROLES } from "../smart/roles";
import { anyFieldValue, anyJson, fuzzParameters, hostileString } from "../testing/arbitraries";
import { auditOrigin } from "../audit/audit";
import { grantSchema, listQuerySchema, revokeSchema } from "./roles-api";

const issuer = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("https://ehr.example/fhir/r4", "http://127.0.0.1:4100/fhir/r4/", " https://ehr.example ") },
  { weight: 2, arbitrary: fc.constantFrom("ftp://ehr.example", "https://user:pw@ehr.example", "https://ehr.example/?q=1", "https://ehr.example/#x", "ehr.example", "https://", `https://ehr.example/${"x".repeat(2050)}`) },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  { weight: 2, arbitrary: hostileString },
);
const practitioner = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("Practitioner/dr-1", " Practitioner/dr-1 ", "Practitioner/a.b-c") },
  { weight: 2, arbitrary: fc.constantFrom("Patient/p1", "Practitioner/", `Practitioner/${"x".repeat(65)}`, "practitioner/dr-1", "https://ehr/Practitioner/dr-1") },
  { weight: 2, arbitrary: hostileString },
);
const role = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...APP_ROLES) }, { weight: 1, arbitrary: fc.constantFrom("Admin", "lead", "") }, { weight: 1, arbitrary: hostileString });
/** A grant body (role required) or a revoke body (no role), sometimes with an extra field, or anything. */
const body = fc.oneof(
  { weight: 3, arbitrary: fc.record({ issuer, practitioner, role }, { requiredKeys: ["practitioner", "role"] }) },
  { weight: 3, arbitrary: fc.record({ issuer, practitioner }, { requiredKeys: ["practitioner"] }) },
  { weight: 1, arbitrary: fc.record({ practitioner, role, extra: anyFieldValue }) },
  { weight: 1, arbitrary: anyJson },
);

/** Text PostgreSQL's text type stores: no NUL. */
const storable = (text: string): boolean => !text.includes("\u0000");

describe("admin roles input under fuzzed input", () => {
  it("grant, revoke and list take a value within the rules or answer 400 naming the field", async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(grantSchema, revokeSchema), body, async (schema, raw) => {
        const result = validate(schema, raw);
        if (!result.ok) {
          expect(result.response.status).toBe(400);
          const json = (await result.response.json()) as { issues: Array<{ path: string; message: string }> };
          expect(json.issues.length).toBeGreaterThan(0);
          return;
        }
        accepted++;
        const value = result.value as { issuer?: string; practitioner: string; role?: string };
        expect(value.practitioner).toMatch(/^Practitioner\/[A-Za-z0-9\-.]{1,64}$/);
        if (value.role !== undefined) expect(APP_ROLES).toContain(value.role);
        if (value.issuer !== undefined) {
          fc.pre(storable(value.issuer)); // the known bug below
          expect(new URL(value.issuer).protocol).toMatch(/^https?:$/);
          expect(value.issuer.trim()).toBe(value.issuer);
        }
      }),
      fuzzParameters(400, { caseTimeoutMs: 5_000 }),
    );
    expect(accepted).toBeGreaterThan(10);
    fc.assert(
      fc.property(fc.record({ issuer }, { requiredKeys: [] }), (query) => {
        const result = listQuerySchema.safeParse(query);
        if (result.success && result.data.issuer) expect(new URL(result.data.issuer).protocol).toMatch(/^https?:$/);
      }),
      fuzzParameters(200),
    );
  });

  // An issuer holding control characters (new URL() would drop them, PostgreSQL cannot store NUL) is refused.
  it("refuses an issuer holding NUL", () => {
    expect(grantSchema.safeParse({ issuer: "https://ehr.example/fhir\u0000", practitioner: "Practitioner/dr-1", role: "admin" }).success).toBe(false);
  });

  it("reads only addresses, at most five, from any X-Forwarded-For or X-Real-IP", () => {
    const hop = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom("127.0.0.1:3000", "[::1]:443", "unknown", "<script>", "10.0.0.1\r\nX: y"), hostileString);
    fc.assert(
      fc.property(fc.array(hop, { maxLength: 9 }), fc.constantFrom("x-forwarded-for", "x-real-ip"), (hops, header) => {
        const headers = new Headers();
        try {
          headers.set(header, hops.join(", "));
        } catch {
          fc.pre(false); // a header value fetch itself refuses never arrives
        }
        const address = auditOrigin(new Request("http://app.test/api/admin/roles", { headers }));
        if (address === null) return;
        const kept = address.split(", ");
        expect(kept.length).toBeLessThanOrEqual(5);
        for (const h of kept) {
          expect(h.length).toBeLessThanOrEqual(64);
          expect(h).toMatch(/^[\w.:%[\]-]+$/); // digits, hex, separators and a zone id: no spaces, markup or controls
        }
      }),
      fuzzParameters(400),
    );
  });
});
