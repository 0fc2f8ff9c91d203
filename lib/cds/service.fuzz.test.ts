/**
 * Fuzz tests of the CDS service's input rules without a database: the hook and feedback schemas, the body reader
 * (content type, size, JSON) and the CDS_CLIENTS configuration parser take anything and answer a parse result, a
 * 400/413/415 response with a reason, or a CdsConfigError; never another exception. The handlers themselves, with a
 * real database behind them, are fuzzed in service.fuzz.int.test.ts. Seeded (lib/testing/arbitraries.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anyFieldValue, anyJson, fuzzParameters, hostileString } from "../testing/arbitraries";
import { CdsConfigError, parseCdsClients } from "./config";
import { feedbackRequestSchema } from "./feedback";
import { hookRequestSchema, readCdsBody } from "./service";

const hooks = fc.constantFrom("patient-view" as const, "order-sign" as const, "order-select" as const);

const contentType = fc.oneof(
  fc.constantFrom("application/json", "application/json; charset=utf-8", "application/fhir+json", "APPLICATION/JSON", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""),
  hostileString,
);

const bodyText = fc.oneof(anyJson.map((v) => JSON.stringify(v) ?? "null"), hostileString, fc.string({ unit: "binary", maxLength: 300 }));

describe("CDS input rules under fuzzed input", () => {
  it("hook request schemas answer success or issues with a path and message for anything", () => {
    fc.assert(
      fc.property(hooks, fc.oneof(anyJson, anyFieldValue, fc.record({ hook: hooks, hookInstance: fc.uuid(), context: anyFieldValue, prefetch: anyFieldValue })), (hook, value) => {
        const result = hookRequestSchema(hook).safeParse(value);
        if (!result.success) for (const issue of result.error.issues) expect(issue.message.length).toBeGreaterThan(0);
      }),
      fuzzParameters(300),
    );
  });

  it("the feedback schema answers success or issues for anything", () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.record({ feedback: fc.array(fc.oneof(anyJson, fc.record({ card: hostileString, outcome: hostileString, outcomeTimestamp: hostileString })), { maxLength: 3 }) })), (value) => {
        const result = feedbackRequestSchema.safeParse(value);
        if (!result.success) expect(result.error.issues.length).toBeGreaterThan(0);
      }),
      fuzzParameters(300),
    );
  });

  it("reads any body under any content type as a value or a 400, 413 or 415 JSON answer with a reason", async () => {
    await fc.assert(
      fc.asyncProperty(hooks, contentType, bodyText, fc.option(fc.oneof(fc.nat(), fc.constantFrom(30_000_000, -1)), { nil: undefined }), async (hook, type, text, declaredLength) => {
        const headers = new Headers();
        try {
          if (type) headers.set("content-type", type);
        } catch {
          fc.pre(false); // a header value fetch itself refuses never reaches the service
        }
        if (declaredLength !== undefined) headers.set("content-length", String(declaredLength));
        const result = await readCdsBody(new Request("http://app.test/cds-services/x", { method: "POST", headers, body: text }), hookRequestSchema(hook));
        if (result.ok) return;
        expect([400, 413, 415]).toContain(result.response.status);
        const body = (await result.response.json()) as { error: string; message: string };
        expect(body.error.length).toBeGreaterThan(0);
        expect(body.message.length).toBeGreaterThan(10);
      }),
      fuzzParameters(300, { caseTimeoutMs: 5_000 }),
    );
  });

  it("CDS_CLIENTS parsing gives clients or a CdsConfigError naming the field, for any JSON", () => {
    const client = fc.record({ iss: fc.oneof(fc.webUrl(), hostileString), jwksUrl: fc.oneof(fc.webUrl(), hostileString), jwks: fc.oneof(anyJson, fc.constant({ keys: [{ kty: "EC" }] })), jkuAllow: fc.array(fc.oneof(fc.webUrl(), hostileString), { maxLength: 2 }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.array(fc.oneof(client, anyJson), { maxLength: 3 }), fc.array(client, { maxLength: 3 }).map((clients) => ({ clients }))), (value) => {
        try {
          const clients = parseCdsClients(value);
          for (const c of clients) expect(c.iss.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(CdsConfigError);
          expect((error as Error).message).toMatch(/^CDS_CLIENTS/);
        }
      }),
      fuzzParameters(300),
    );
  });
});
