/**
 * Fuzz tests of the pure half of NDJSON ingest with arbitrary lines: resources, junk, truncated JSON, text decoded
 * from invalid UTF-8, escapes PostgreSQL refuses, enormous and deeply nested lines. Every line is either a row to
 * store (valid type, id and instant, JSON that jsonb takes) or an issue with a reason; nothing throws. The database
 * half is lib/db/resource-store.fuzz.int.test.ts.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anyJson, deeplyNestedJsonText, fhirishResource, fuzzParameters, hostileString, hugeString, invalidUtf8Text, junkLine, patientLoose, truncatedLine } from "../testing/arbitraries";
import { CopyRowEncoder, instantMicros, isJsonbSafe, isOlder, medicationIdFromReference, parseDeletedLine, parseResourceLine, patientIdFromReference, type ResourceRow } from "./ndjson-ingest";

const ISSUES = new Set(["malformed-json", "not-a-resource", "missing-resource-type", "missing-id", "unsupported-json", "not-a-delete", "export-error"]);
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

/** Lines of every kind an export (or a broken connection) can hand over. */
const resourceLine = fhirishResource.map((resource) => JSON.stringify(resource)).filter((line): line is string => typeof line === "string");
const anyLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: resourceLine },
  { weight: 3, arbitrary: junkLine },
  { weight: 2, arbitrary: resourceLine.chain(truncatedLine) },
  { weight: 1, arbitrary: invalidUtf8Text },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("Observation", "Patient", "Condition"), fc.stringMatching(/^[A-Za-z0-9]{1,8}$/), hugeString(300_000)).map(([type, id, note]) => JSON.stringify({ resourceType: type, id, note })) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 50_000 }).map((depth) => `{"resourceType":"Observation","id":"deep","x":${deeplyNestedJsonText(depth)}}`) },
  { weight: 1, arbitrary: anyJson.map((value) => JSON.stringify({ resourceType: "Observation", id: "any", meta: value, subject: value })) },
);

/** What the rules say a line is, worked out apart from the parser: JSON object, type, id, jsonb-safe. */
function expectedOutcome(line: string): "row" | "issue" {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "issue";
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "issue";
  const { resourceType, id } = value as { resourceType?: unknown; id?: unknown };
  if (typeof resourceType !== "string" || !RESOURCE_TYPE.test(resourceType) || typeof id !== "string" || !FHIR_ID.test(id)) return "issue";
  return isJsonbSafe(line) && depthOf(value) <= 1000 ? "row" : "issue";
}

/** Nesting depth of a parsed value, counted apart from the parser's text scan (more than 1,000 is refused). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(v as object)) stack.push([child, d + 1]);
  }
  return deepest;
}

describe("NDJSON line parsing under fuzzed input", () => {
  it("makes every line a row to store or an issue with a reason, never a throw", () => {
    const seen = { row: 0, issue: 0 };
    fc.assert(
      fc.property(anyLine, (line) => {
        const parsed = parseResourceLine(line);
        expect(parsed.ok ? "row" : "issue").toBe(expectedOutcome(line));
        if (parsed.ok) {
          seen.row++;
          const { row } = parsed;
          expect(row.resourceType).toMatch(RESOURCE_TYPE);
          expect(row.id).toMatch(FHIR_ID);
          expect(row.contentHash).toBe(createHash("sha1").update(line).digest("hex"));
          expect(row.patientId === "" || FHIR_ID.test(row.patientId)).toBe(true);
          if (row.lastUpdated !== null) expect(instantMicros(row.lastUpdated)).not.toBeNull();
        } else {
          seen.issue++;
          expect(ISSUES.has(parsed.issue.issue)).toBe(true);
          expect(parsed.issue.detail.length).toBeGreaterThan(0);
          expect(parsed.issue.detail.length).toBeLessThan(1_000);
          expect(parsed.issue.detail).not.toContain("\u0000"); // sync_issues.detail is text, which cannot hold NUL
        }
      }),
      fuzzParameters(400),
    );
    expect(Math.min(seen.row, seen.issue)).toBeGreaterThan(50);
  });

  it("encodes every row it keeps for COPY without throwing, header to trailer", () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 20 }), fc.bigInt({ min: 1n, max: 2n ** 62n }), hostileString, (lines, runId, source) => {
        const chunks: Buffer[] = [];
        const encoder = new CopyRowEncoder(source, runId, (chunk) => chunks.push(Buffer.from(chunk)), 4_096);
        for (const line of lines) {
          const parsed = parseResourceLine(line);
          if (parsed.ok) encoder.add(parsed.row, line);
        }
        encoder.end();
        const data = Buffer.concat(chunks);
        expect(data.subarray(0, 11).toString("latin1")).toBe("PGCOPY\n\xff\r\n\0");
        expect(data.readInt16BE(data.length - 2)).toBe(-1);
      }),
      fuzzParameters(200),
    );
  });

  it("reads Bulk deleted-file lines as DELETE entries with a valid type and id, or an issue", () => {
    const deleteEntry = fc.record({
      request: fc.oneof(fc.record({ method: fc.constantFrom("DELETE", "GET", "delete"), url: fc.oneof(fc.constantFrom("Observation/o1", "Patient/p1/_history/2", "https://ehr.example/fhir/MedicationRequest/m-1", "Observation/", "observation/x"), hostileString) }), anyJson),
      response: fc.option(fc.record({ lastModified: fc.oneof(fc.constantFrom("2026-03-01T10:00:00Z", "2026-02-30T10:00:00Z"), hostileString) }), { nil: undefined }),
    });
    const deletedLine = fc.oneof(
      fc.array(fc.oneof(deleteEntry, anyJson), { maxLength: 5 }).map((entry) => JSON.stringify({ resourceType: "Bundle", type: "transaction", entry })),
      anyLine,
    );
    fc.assert(
      fc.property(deletedLine, (line) => {
        const parsed = parseDeletedLine(line);
        if (!parsed.ok) {
          expect(ISSUES.has(parsed.issue.issue)).toBe(true);
          expect(parsed.issue.detail).not.toContain("\u0000");
          return;
        }
        expect(parsed.entries.length).toBeGreaterThan(0);
        for (const entry of parsed.entries) {
          expect(entry.resourceType).toMatch(RESOURCE_TYPE);
          expect(entry.id).toMatch(FHIR_ID);
          if (entry.deletedAt !== null) expect(instantMicros(entry.deletedAt)).not.toBeNull();
        }
      }),
      fuzzParameters(300),
    );
  });

  it("reads references of any shape as a patient or Medication id, or none", () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, anyJson, fc.constantFrom("Patient/a", " Patient/a ", "https://x/fhir/Patient/a/_history/1", "Medication/m", "Patient/a/b", `Patient/${"x".repeat(65)}`)), (reference) => {
        for (const id of [patientIdFromReference(reference), medicationIdFromReference(reference)]) if (id !== null) expect(id).toMatch(FHIR_ID);
      }),
      fuzzParameters(300),
    );
  });

  it("reads instants as PostgreSQL does: the same instant as Date.parse to the millisecond, or none", () => {
    const instant = fc.oneof(
      fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.tuple(fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }), fc.constantFrom("+05:30", "-11:00", "+14:00", "-00:00")).map(([d, zone]) => `${d.toISOString().slice(0, 19)}${zone}`),
      fc.constantFrom("2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-06-30T23:59:60Z", "2026-06-30T23:59:60.5Z", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+15:00"),
      hostileString,
    );
    fc.assert(
      fc.property(instant, (value) => {
        const micros = instantMicros(value);
        if (micros === null) return;
        const parsed = Date.parse(value);
        if (Number.isNaN(parsed)) {
          expect(value).toMatch(/:60(\.0+)?(Z|[+-])/); // a leap second: PostgreSQL takes it, JavaScript does not
          return;
        }
        expect(Number(micros / 1000n)).toBe(parsed - Date.UTC(2000, 0, 1));
      }),
      fuzzParameters(400),
    );
  });

  it("never finds each of two copies older than the other", () => {
    const version = fc.record({
      lastUpdated: fc.option(fc.constantFrom("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z", "2026-01-01T01:00:00+01:00", "2026-03-01T00:00:00Z"), { nil: null }),
      versionId: fc.option(fc.oneof(fc.constantFrom("1", "2", "10", "01", "9".repeat(16)), hostileString), { nil: null }),
    });
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(isOlder(a, b) && isOlder(b, a)).toBe(false);
        expect(isOlder(a, a)).toBe(false);
      }),
      fuzzParameters(300),
    );
  });

  // A Patient whose name has the wrong JSON type is stored (its name read as none), never a throw.
  it("a Patient line whose name has the wrong JSON type becomes a row or an issue, not a throw", () => {
    fc.assert(
      fc.property(patientLoose, (patient) => {
        const parsed = parseResourceLine(JSON.stringify(patient));
        expect(typeof parsed.ok).toBe("boolean");
      }),
      fuzzParameters(100),
    );
  });

  it("keeps well-typed Patient lines as rows with their display fields", () => {
    const row = parseResourceLine(JSON.stringify({ resourceType: "Patient", id: "p1", name: [{ given: ["Ada"], family: "Example" }], birthDate: "1990-01-01", gender: "female" }));
    expect(row.ok && (row.row as ResourceRow).patient).toEqual({ displayName: "Ada Example", birthDate: "1990-01-01", sex: "female" });
  });
});
