/**
 * Fuzz tests of the panel API's request rules: every body, query and path schema of the sync and code-mapping routes,
 * the JSON body reader, the query reader and the cross-site check take anything and answer a value or a 4xx with a
 * reason (never an exception), and what they accept is what the schema promises. Seeded (lib/testing/arbitraries.ts).
 */
import fc from "fast-check";
import type { z } from "zod";
import { describe, expect, it } from "vitest";
import { parseConceptId } from "../clinical/codes";
import { anyFieldValue, anyJson, fuzzParameters, hostileString } from "../testing/arbitraries";
import {
  codeCoverageQuerySchema,
  codeCoverageRefreshSchema,
  codeMappingCreateSchema,
  codeMappingDeleteSchema,
  codeMappingsQuerySchema,
  crossSiteRefusal,
  queryObject,
  readJsonBody,
  runIdSchema,
  sourceQuerySchema,
  syncNowSchema,
  validate,
} from "./panel-requests";

const SCHEMAS: ReadonlyArray<[string, z.ZodType]> = [
  ["syncNow", syncNowSchema],
  ["runId", runIdSchema],
  ["sourceQuery", sourceQuerySchema],
  ["codeCoverageQuery", codeCoverageQuerySchema],
  ["codeCoverageRefresh", codeCoverageRefreshSchema],
  ["codeMappingsQuery", codeMappingsQuerySchema],
  ["codeMappingCreate", codeMappingCreateSchema],
  ["codeMappingDelete", codeMappingDeleteSchema],
];

/** Bodies shaped like the routes' own, with each field anything, plus arbitrary JSON. */
const body: fc.Arbitrary<unknown> = fc.oneof(
  anyJson,
  fc.record({ sourceId: fc.oneof(hostileString, anyFieldValue), full: fc.oneof(fc.boolean(), anyFieldValue) }, { requiredKeys: [] }),
  fc.record({ source: fc.oneof(fc.constantFrom("main", "", "a:b"), hostileString), job: fc.oneof(fc.uuid(), hostileString), limit: fc.oneof(fc.constantFrom("1", "100", "101", "0", "1e2", " 5"), hostileString) }, { requiredKeys: [] }),
  // A code mapping: usually valid fields (so some are accepted), sometimes near misses or anything.
  fc.record(
    {
      system: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("http://loinc.org", "urn:oid:1.2.3", " http://loinc.org ") }, { weight: 1, arbitrary: fc.constantFrom("loinc", "http:// x") }, { weight: 1, arbitrary: hostileString }),
      code: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("8480-6", "ITCH-1", " 751-8 ") }, { weight: 1, arbitrary: fc.constantFrom(" ", "x".repeat(201)) }, { weight: 1, arbitrary: hostileString }),
      concept: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("measure:itch", "lab:anc", "drug:upadacitinib", "therapy:x:biologic") }, { weight: 1, arbitrary: fc.constantFrom("measure:", "lab:anc:extra", "__proto__:x", "constructor:x") }, { weight: 1, arbitrary: hostileString }),
      display: fc.oneof({ weight: 2, arbitrary: hostileString }, { weight: 1, arbitrary: anyFieldValue }),
    },
    { requiredKeys: ["system", "code", "concept"] },
  ),
  fc.record({ id: fc.oneof(fc.constantFrom("1", "0", "01", "9".repeat(18), "9".repeat(19), "-1"), hostileString) }, { requiredKeys: [] }),
  hostileString,
);

describe("panel API request rules under fuzzed input", () => {
  it("every schema answers through validate: the value, or a 400 naming each issue", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SCHEMAS), body, async ([, schema], raw) => {
        const result = validate(schema, raw);
        if (result.ok) return;
        expect(result.response.status).toBe(400);
        const json = (await result.response.json()) as { error: string; message: string; issues: Array<{ path: string; message: string }> };
        expect(json.error).toBe("invalid-request");
        expect(json.issues.length).toBeGreaterThan(0);
        for (const issue of json.issues) expect(issue.message.length).toBeGreaterThan(0);
      }),
      fuzzParameters(400, { caseTimeoutMs: 5_000 }),
    );
  });

  it("a code mapping it accepts is one the engine can apply: a URI system, a code, a concept it knows", () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (raw) => {
        const parsed = codeMappingCreateSchema.safeParse(raw);
        if (!parsed.success) return;
        accepted++;
        expect(parsed.data.system).toMatch(/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/);
        expect(parsed.data.code.trim()).toBe(parsed.data.code);
        expect(parsed.data.code.length).toBeGreaterThan(0);
        expect(parseConceptId(parsed.data.concept)).not.toBeNull();
      }),
      fuzzParameters(400),
    );
    expect(accepted).toBeGreaterThan(3);
  });

  it("reads any body under any content type as a value, a 400 or a 415, with a reason", async () => {
    const contentType = fc.oneof(fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/jsonp", ""), hostileString);
    const text = fc.oneof(body.map((v) => JSON.stringify(v) ?? ""), hostileString, fc.string({ unit: "binary", maxLength: 200 }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SCHEMAS), contentType, text, async ([, schema], type, payload) => {
        const headers = new Headers();
        try {
          if (type) headers.set("content-type", type);
        } catch {
          fc.pre(false); // a header value fetch itself refuses never reaches the route
        }
        const result = await readJsonBody(new Request("http://app.test/api/panel/sync", { method: "POST", headers, body: payload }), schema);
        if (result.ok) return;
        expect([400, 415]).toContain(result.response.status);
        const json = (await result.response.json()) as { error: string; message: string };
        expect(json.message.length).toBeGreaterThan(10);
      }),
      fuzzParameters(300, { caseTimeoutMs: 5_000 }),
    );
  });

  it("reads any query string into strings, and refuses any foreign Origin on a state-changing request", () => {
    const appOrigin = "http://app.test";
    fc.assert(
      fc.property(fc.array(fc.tuple(hostileString, hostileString), { maxLength: 6 }), fc.option(fc.oneof(fc.constantFrom(appOrigin, "http://app.test:80", "https://app.test", "null", "http://evil.test"), hostileString), { nil: undefined }), fc.option(fc.constantFrom("same-origin", "same-site", "cross-site", "none"), { nil: undefined }), (pairs, origin, fetchSite) => {
        const params = new URLSearchParams(pairs);
        const query = queryObject(new Request(`${appOrigin}/api/panel/sync?${params.toString()}`));
        for (const value of Object.values(query)) expect(typeof value).toBe("string");
        const headers = new Headers();
        try {
          if (origin !== undefined) headers.set("origin", origin);
        } catch {
          fc.pre(false);
        }
        if (fetchSite) headers.set("sec-fetch-site", fetchSite);
        const refusal = crossSiteRefusal(new Request(`${appOrigin}/api/panel/sync`, { method: "POST", headers }), appOrigin);
        const sent = headers.get("origin"); // as the header carries it (Headers trims the value)
        const foreign = sent !== null ? sent !== appOrigin : fetchSite === "cross-site" || fetchSite === "same-site";
        expect(refusal?.status ?? null).toBe(foreign ? 403 : null);
      }),
      fuzzParameters(300),
    );
  });
});
