import { describe, expect, it } from "vitest";
import {
  codeCoverageQuerySchema,
  codeCoverageRefreshSchema,
  codeMappingCreateSchema,
  codeMappingDeleteSchema,
  codeMappingsQuerySchema,
  crossSiteRefusal,
  readJsonBody,
  runIdSchema,
  sourceQuerySchema,
  syncNowSchema,
} from "./panel-requests";

const APP = "http://127.0.0.1:3000";

function post(body: string, headers: Record<string, string> = {}): Request {
  return new Request(`${APP}/api/panel/sync`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

describe("sync request validation", () => {
  it("accepts an empty body, a source and a full sync", () => {
    expect(syncNowSchema.parse({})).toEqual({});
    expect(syncNowSchema.parse({ sourceId: "sandbox", full: true })).toEqual({ sourceId: "sandbox", full: true });
  });

  it("refuses unknown fields, a non-boolean full and a source id with odd characters", () => {
    expect(syncNowSchema.safeParse({ sourceId: "sandbox", trigger: "schedule" }).success).toBe(false);
    expect(syncNowSchema.safeParse({ full: "yes" }).success).toBe(false);
    expect(syncNowSchema.safeParse({ sourceId: "a b/../c" }).success).toBe(false);
    expect(syncNowSchema.safeParse({ sourceId: "" }).success).toBe(false);
  });

  it("takes run ids as positive decimal integers only", () => {
    expect(runIdSchema.safeParse("42").success).toBe(true);
    for (const bad of ["0", "-1", "1.5", "abc", "01", "99999999999999999999", ""]) expect(runIdSchema.safeParse(bad).success, bad).toBe(false);
  });

  it("reads ?source= and ?limit= from the query, an empty source meaning all", () => {
    expect(sourceQuerySchema.parse({ source: "", limit: "20" })).toEqual({ source: "", limit: 20 });
    expect(sourceQuerySchema.safeParse({ limit: "1000" }).success).toBe(false);
    expect(sourceQuerySchema.safeParse({ other: "x" }).success).toBe(false);
  });
});

describe("code mapping validation", () => {
  const valid = { system: "urn:oid:1.2.840.114350.1.13.0.1.7.2.768282", code: "7702101", concept: "measure:itch" };

  it("accepts a URI system, a code and a concept id the engine knows, trimming spaces", () => {
    expect(codeMappingCreateSchema.parse({ ...valid, code: " 7702101 ", display: " Peak itch " })).toEqual({ ...valid, display: "Peak itch" });
    expect(codeMappingCreateSchema.parse({ ...valid, concept: "therapy:dupilumab:biologic" }).concept).toBe("therapy:dupilumab:biologic");
  });

  it("refuses an unknown concept with a message naming examples", () => {
    const parsed = codeMappingCreateSchema.safeParse({ ...valid, concept: "measure:itchiness" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["concept"]);
    expect(parsed.error?.issues[0]?.message).toMatch(/measure:itch/);
  });

  it("refuses a system that is not a URI, an empty code and extra fields", () => {
    expect(codeMappingCreateSchema.safeParse({ ...valid, system: "local codes" }).success).toBe(false);
    expect(codeMappingCreateSchema.safeParse({ ...valid, code: "   " }).success).toBe(false);
    expect(codeMappingCreateSchema.safeParse({ ...valid, createdBy: "someone-else" }).success).toBe(false);
  });

  it("deletes by a mapping id only", () => {
    expect(codeMappingDeleteSchema.parse({ id: "7" })).toEqual({ id: "7" });
    expect(codeMappingDeleteSchema.safeParse({ id: 7 }).success).toBe(false);
    expect(codeMappingDeleteSchema.safeParse({ system: "x:y", code: "1" }).success).toBe(false);
  });
});

describe("code coverage and job requests", () => {
  const job = "6f1c2b9e-0d4a-4e8b-9c3f-2a1b0c9d8e7f";

  it("reads ?source= and ?job= for the coverage view, a job id being a UUID", () => {
    expect(codeCoverageQuerySchema.parse({ source: "clinic-a", job })).toEqual({ source: "clinic-a", job });
    expect(codeCoverageQuerySchema.parse({ source: "" })).toEqual({ source: "" });
    for (const bad of ["42", `${job}x`, "'; drop table x; --", ""]) expect(codeCoverageQuerySchema.safeParse({ job: bad }).success, bad).toBe(false);
    expect(codeCoverageQuerySchema.safeParse({ limit: "5" }).success).toBe(false);
    expect(codeMappingsQuerySchema.parse({ job })).toEqual({ job });
    expect(codeMappingsQuerySchema.safeParse({ source: "a" }).success).toBe(false);
  });

  it("takes an optional source to recompute, and nothing else", () => {
    expect(codeCoverageRefreshSchema.parse({})).toEqual({});
    expect(codeCoverageRefreshSchema.parse({ source: "clinic-a" })).toEqual({ source: "clinic-a" });
    expect(codeCoverageRefreshSchema.safeParse({ source: "a b" }).success).toBe(false);
    expect(codeCoverageRefreshSchema.safeParse({ sourceId: "clinic-a" }).success).toBe(false);
  });
});

describe("reading a JSON body", () => {
  it("answers 415 for a form post and 400 for broken JSON, with issues for an invalid body", async () => {
    const form = await readJsonBody(new Request(`${APP}/x`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "full=true" }), syncNowSchema);
    expect(form.ok ? 200 : form.response.status).toBe(415);
    const broken = await readJsonBody(post("{"), syncNowSchema);
    expect(broken.ok ? 200 : broken.response.status).toBe(400);
    const invalid = await readJsonBody(post(JSON.stringify({ full: 1 })), syncNowSchema);
    expect(invalid.ok).toBe(false);
    if (!invalid.ok) expect(await invalid.response.json()).toMatchObject({ error: "invalid-request", issues: [{ path: "full" }] });
  });

  it("treats an empty body as {}", async () => {
    expect(await readJsonBody(post(""), syncNowSchema)).toEqual({ ok: true, value: {} });
  });
});

describe("refusing cross-site requests", () => {
  it("lets the app's own origin through", () => {
    expect(crossSiteRefusal(post("{}", { origin: APP }), APP)).toBeNull();
  });

  it("refuses another origin, a null origin and another port with 403", async () => {
    for (const origin of ["https://evil.example", "null", "http://127.0.0.1:4100"]) {
      const refusal = crossSiteRefusal(post("{}", { origin }), APP);
      expect(refusal?.status, origin).toBe(403);
      expect(await refusal?.json()).toMatchObject({ error: "cross-site" });
    }
  });

  it("without Origin, refuses what Sec-Fetch-Site calls cross-site and passes a non-browser client", () => {
    expect(crossSiteRefusal(post("{}", { "sec-fetch-site": "cross-site" }), APP)?.status).toBe(403);
    expect(crossSiteRefusal(post("{}", { "sec-fetch-site": "same-origin" }), APP)).toBeNull();
    expect(crossSiteRefusal(post("{}"), APP)).toBeNull();
  });
});
