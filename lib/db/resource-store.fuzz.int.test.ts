/**
 * Fuzz test of NDJSON ingest against a real PostgreSQL: a known set of resources is stored first, then files of
 * fuzzed lines (junk, truncated JSON, text from invalid UTF-8, escapes jsonb refuses, huge and nested lines, older and
 * identical copies of the known resources, some under another patient, and fresh resources) are ingested. Afterwards
 * the known set is intact and every line is either stored or recorded as a sync issue with its raw text (blank lines,
 * which NDJSON allows, are neither). Seeded (lib/testing/arbitraries.ts).
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseResourceLine } from "../sync/ndjson-ingest";
import { deeplyNestedJsonText, fhirishResource, fuzzParameters, hugeString, invalidUtf8Text, junkLine, truncatedLine } from "../testing/arbitraries";
import { createPool } from "./pool";
import { ingestDeletedLines, ingestLines, ingestOutcomeLines, type IngestOptions, type IngestResult } from "./resource-store";
import { startTestDatabase, type TestDatabase } from "./testing";

const SOURCE = "fuzz-source";
const KNOWN_UPDATED = "2026-05-01T00:00:00Z";

let db: TestDatabase;
let pool: pg.Pool;
let nextRun = 100n;

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");

/** The known set: five patients with Observations, orders and a shared Medication, all at version 5. */
const KNOWN: readonly string[] = (() => {
  const meta = { versionId: "5", lastUpdated: KNOWN_UPDATED };
  const lines: string[] = [JSON.stringify({ resourceType: "Medication", id: "known-med", meta, code: { text: "upadacitinib 15 mg" } })];
  for (let p = 0; p < 5; p++) {
    const subject = { reference: `Patient/known-p${p}` };
    lines.push(JSON.stringify({ resourceType: "Patient", id: `known-p${p}`, meta, name: [{ given: ["Pat"], family: `Known${p}` }], birthDate: "1990-01-01", gender: "female" }));
    lines.push(JSON.stringify({ resourceType: "MedicationRequest", id: `known-mr${p}`, meta, status: "active", intent: "order", subject, medicationReference: { reference: "Medication/known-med" }, authoredOn: "2026-01-10" }));
    for (let o = 0; o < 3; o++) lines.push(JSON.stringify({ resourceType: "Observation", id: `known-o${p}-${o}`, meta, status: "final", subject, code: { text: "itch" }, effectiveDateTime: "2026-02-01", valueInteger: o + p }));
  }
  return lines;
})();

interface StoredRow {
  key: string;
  patient_id: string;
  content_hash: string;
  deleted: boolean;
}

async function ingest(lines: string[], runId: bigint, options: IngestOptions = {}): Promise<IngestResult> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await ingestLines(client, SOURCE, runId, lines, options);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
}

async function storedRows(): Promise<Map<string, StoredRow>> {
  const { rows } = await pool.query<StoredRow>("SELECT resource_type || '/' || id AS key, patient_id, content_hash, deleted FROM fhir_resources WHERE source = $1", [SOURCE]);
  const byKey = new Map<string, StoredRow>();
  for (const row of rows) {
    expect(byKey.has(row.key), `${row.key} is stored under two patients`).toBe(false);
    byKey.set(row.key, row);
  }
  return byKey;
}

async function expectKnownSetIntact(): Promise<void> {
  const stored = await storedRows();
  for (const line of KNOWN) {
    const { resourceType, id } = JSON.parse(line) as { resourceType: string; id: string };
    const row = stored.get(`${resourceType}/${id}`);
    expect(row, `${resourceType}/${id} is gone`).toBeDefined();
    expect(row!.content_hash, `${resourceType}/${id} was overwritten`).toBe(sha1(line));
    expect(row!.deleted).toBe(false);
  }
}

/** How the sync_issues row keeps a raw line: NUL replaced (text cannot hold it), lone surrogates as UTF-8 makes them. */
const asStoredText = (line: string): string => Buffer.from(line.replace(/\u0000/g, "\uFFFD"), "utf8").toString("utf8");

const isBlank = (line: string): boolean => line.trim() === "";

/** A copy of a known resource: older (other content), identical, or older under another patient. */
const knownCopy: fc.Arbitrary<string> = fc.tuple(fc.constantFrom(...KNOWN), fc.constantFrom("older", "identical", "older-elsewhere", "same-time-lower-version")).map(([line, kind]) => {
  if (kind === "identical") return line;
  const resource = JSON.parse(line) as Record<string, unknown>;
  const meta = kind === "same-time-lower-version" ? { versionId: "4", lastUpdated: KNOWN_UPDATED } : { versionId: "9", lastUpdated: "2026-04-01T00:00:00Z" };
  const copy: Record<string, unknown> = { ...resource, meta, note: [{ text: `stale ${kind}` }] };
  if (kind === "older-elsewhere" && resource.resourceType !== "Patient" && resource.resourceType !== "Medication") copy.subject = { reference: "Patient/someone-else" };
  return JSON.stringify(copy);
});

/** A file's lines; fresh resources get ids no other line of the file has, so each line's fate can be checked alone. */
const fuzzedFile: fc.Arbitrary<string[]> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: junkLine },
      { weight: 3, arbitrary: knownCopy },
      { weight: 3, arbitrary: fhirishResource.map((r) => ({ kind: "fresh" as const, resource: r })) },
      { weight: 2, arbitrary: fc.constantFrom(...KNOWN).chain(truncatedLine) },
      { weight: 1, arbitrary: invalidUtf8Text },
      { weight: 1, arbitrary: fc.integer({ min: 10, max: 5_000 }).map((depth) => ({ kind: "fresh" as const, nested: depth })) },
      { weight: 1, arbitrary: hugeString(2_000_000).map((note) => ({ kind: "fresh" as const, resource: { resourceType: "Observation", note } })) },
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((items) =>
    items.map((item, i) => {
      if (typeof item === "string") return item;
      if ("nested" in item) return `{"resourceType":"Observation","id":"fresh-nested-${i}","x":${deeplyNestedJsonText(item.nested)}}`;
      const resource = item.resource;
      if (resource === null || typeof resource !== "object" || Array.isArray(resource)) return JSON.stringify(resource) ?? "null";
      // Keep a broken id broken (it must become an issue); give a good or absent one a fresh, unique value.
      const id = (resource as { id?: unknown }).id;
      const fresh = id === undefined || (typeof id === "string" && /^[A-Za-z0-9\-.]{1,64}$/.test(id)) ? { id: `fresh-${i}` } : {};
      return JSON.stringify({ ...resource, ...fresh });
    }),
  );

beforeAll(async () => {
  db = await startTestDatabase();
  pool = createPool(db.url, 3);
  await ingest([...KNOWN], 1n);
  await expectKnownSetIntact();
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

describe("NDJSON ingest of fuzzed files into PostgreSQL", () => {
  it("loses nothing already stored, and stores each line or records it as a sync issue", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedFile, fc.constantFrom(3, 7, 10_000), async (lines, batchLines) => {
        // Each case starts from the known set alone: what earlier cases stored would make their ids collide.
        await pool.query("DELETE FROM fhir_resources WHERE source = $1 AND NOT (content_hash = ANY($2::text[]))", [SOURCE, KNOWN.map(sha1)]);
        const runId = nextRun++;
        const result = await ingest(lines, runId, { batchLines, file: "fuzz.ndjson" });
        expect(result.lines).toBe(lines.length);
        await expectKnownSetIntact();

        const stored = await storedRows();
        const { rows: issues } = await pool.query<{ line: number; raw: string; issue: string; detail: string }>("SELECT line, raw, issue, detail FROM sync_issues WHERE run_id = $1", [runId.toString()]);
        const issueByLine = new Map(issues.map((issue) => [issue.line, issue]));
        // Two lines of one file with the same key: the last one wins (their order is all that tells them apart).
        const lastLineOfKey = new Map<string, number>();
        lines.forEach((line, index) => {
          const parsed = parseResourceLine(line);
          if (parsed.ok) lastLineOfKey.set(`${parsed.row.resourceType}/${parsed.row.id}`, index);
        });
        let expectedIssues = 0;
        lines.forEach((line, index) => {
          const lineNumber = index + 1;
          if (isBlank(line)) {
            expect(issueByLine.has(lineNumber)).toBe(false);
            return;
          }
          const parsed = parseResourceLine(line);
          if (!parsed.ok) {
            expectedIssues++;
            const issue = issueByLine.get(lineNumber);
            expect(issue, `line ${lineNumber} was neither stored nor recorded`).toBeDefined();
            expect(issue!.issue).toBe(parsed.issue.issue);
            expect(issue!.detail.length).toBeGreaterThan(0);
            expect(issue!.raw).toBe(asStoredText(line));
            return;
          }
          const key = `${parsed.row.resourceType}/${parsed.row.id}`;
          const row = stored.get(key);
          expect(row, `line ${lineNumber} (${parsed.row.resourceType}) was not stored`).toBeDefined();
          // A known resource keeps its newer stored copy; anything else is the file's last line with that key, byte for byte.
          if (!KNOWN.some((known) => row!.content_hash === sha1(known)) && lastLineOfKey.get(key) === index) expect(row!.content_hash).toBe(sha1(line));
        });
        expect(issues.length).toBe(expectedIssues);
        expect(result.malformed).toBe(expectedIssues);
      }),
      fuzzParameters(30, { timeLimitMs: 15_000, caseTimeoutMs: 30_000 }),
    );
  });

  it("records lines holding NUL, raw or escaped, as sync issues", async () => {
    const runId = nextRun++;
    const lines = ["\u0000", '{"resourceType":"Observation","id":"n1",\u0000}', '{"resourceType":"Observation","id":"n2","note":"\\u0000"}', KNOWN[2]!];
    const result = await ingest(lines, runId);
    expect(result).toMatchObject({ malformed: 3, unchanged: 1 });
    const { rows } = await pool.query<{ line: number; issue: string }>("SELECT line, issue FROM sync_issues WHERE run_id = $1 ORDER BY line", [runId.toString()]);
    expect(rows).toEqual([
      { line: 1, issue: "malformed-json" },
      { line: 2, issue: "malformed-json" },
      { line: 3, issue: "unsupported-json" },
    ]);
    await expectKnownSetIntact();
  });

  it("stores a 17 MB resource line and records a 17 MB broken one, beside the known set", async () => {
    const runId = nextRun++;
    const big = JSON.stringify({ resourceType: "Observation", id: "enormous", subject: { reference: "Patient/known-p0" }, note: [{ text: "x".repeat(17 * 1024 * 1024) }] });
    const result = await ingest([big, big.slice(0, -2), KNOWN[1]!], runId, { file: "big.ndjson" });
    expect(result).toMatchObject({ inserted: 1, malformed: 1, unchanged: 1 });
    expect((await storedRows()).get("Observation/enormous")?.content_hash).toBe(sha1(big));
    const { rows } = await pool.query<{ line: number; length: number }>("SELECT line, length(raw) AS length FROM sync_issues WHERE run_id = $1", [runId.toString()]);
    expect(rows).toEqual([{ line: 2, length: big.length - 2 }]);
    await expectKnownSetIntact();
  });

  it("applies fuzzed deleted-file lines only to resources they name, and records the rest as sync issues", async () => {
    const deleteOf = (type: string, id: string) => ({ request: { method: "DELETE", url: `${type}/${id}` }, response: { lastModified: "2026-04-15T00:00:00Z" } });
    const deletedLine = fc.oneof(
      junkLine,
      // Deletions older than the known copies (which must stay) and of resources never stored.
      fc.array(fc.oneof(fc.constant(deleteOf("Observation", "known-o0-0")), fc.constant(deleteOf("Patient", "known-p2")), fc.constant(deleteOf("Observation", "never-stored")), fc.constant({ request: 5 })), { maxLength: 4 })
        .map((entry) => JSON.stringify({ resourceType: "Bundle", type: "transaction", entry })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(deletedLine, { minLength: 1, maxLength: 20 }), async (lines) => {
        const runId = nextRun++;
        const client = await pool.connect();
        let result: IngestResult;
        try {
          await client.query("BEGIN");
          result = await ingestDeletedLines(client, SOURCE, runId, lines, { deletedAt: "2026-04-15T00:00:00Z", file: "deleted.ndjson" });
          await client.query("COMMIT");
        } finally {
          client.release();
        }
        await expectKnownSetIntact();
        const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM sync_issues WHERE run_id = $1", [runId.toString()]);
        expect(rows[0]!.n).toBe(result.malformed);
        expect(result.malformed).toBe(lines.filter((line) => !isBlank(line) && !line.includes('"DELETE"')).length);
      }),
      fuzzParameters(30, { timeLimitMs: 8_000, caseTimeoutMs: 30_000 }),
    );
  });

  // An export error file whose OperationOutcome diagnostics hold NUL is recorded (the NUL replaced), not a failed file.
  it("records an export error whose diagnostics hold NUL", async () => {
    const runId = nextRun++;
    const outcome = JSON.stringify({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "processing", diagnostics: "bad\u0000text" }] });
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await ingestOutcomeLines(client, SOURCE, runId, [outcome], { file: "error.ndjson" });
      await client.query("COMMIT");
      expect(result.outcomes).toBe(1);
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    } finally {
      client.release();
    }
  });

  // Lines that once aborted the whole file: each becomes a row or a sync issue, and the lines around it are stored.
  const POISON: ReadonlyArray<[string, string]> = [
    ["a Patient whose name is a string (read as no name)", JSON.stringify({ resourceType: "Patient", id: "poison-name", name: "Ada" })],
    ["a resource nested 100,000 levels (PostgreSQL: stack depth limit exceeded)", `{"resourceType":"Observation","id":"poison-deep","x":${deeplyNestedJsonText(100_000)}}`],
  ];

  it.each(POISON)("records %s as a row or a sync issue and stores the lines around it", async (_label, poison) => {
    const runId = nextRun++;
    const fresh = JSON.stringify({ resourceType: "Observation", id: "around-poison", subject: { reference: "Patient/known-p1" } });
    const result = await ingest([fresh, poison], runId);
    expect(result.lines).toBe(2);
    expect((await storedRows()).has("Observation/around-poison")).toBe(true);
    await expectKnownSetIntact();
  });
});
