import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ingestDeletedLines, ingestLines, loadPatientResources, loadStoredPatientResources, type IngestOptions } from "./resource-store";
import { createPool } from "./pool";
import { startTestDatabase, type TestDatabase } from "./testing";

let db: TestDatabase;
let pool: pg.Pool;
const SOURCE = "store-test";
const RUN = 1n;

beforeAll(async () => {
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

beforeEach(async () => {
  await pool.query("DELETE FROM fhir_resources; DELETE FROM patients; DELETE FROM sync_issues");
});

/** Resolves once a COPY from the ingest connection is open, so the lines that follow reach a batch already streaming. */
async function copyUnderWay(): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY %'");
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function ingest(lines: AsyncIterable<string> | string[], options: IngestOptions = {}) {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await ingestLines(client, SOURCE, RUN, lines, options);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
}

async function ingestDeleted(lines: string[], deletedAt = "2030-01-01T00:00:00Z") {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await ingestDeletedLines(client, SOURCE, RUN, lines, { deletedAt, file: "deleted.ndjson" });
    await client.query("COMMIT");
    return result;
  } finally {
    client.release();
  }
}

function observation(id: string, patient: string, options: { lastUpdated?: string; versionId?: string; value?: number; reference?: string } = {}): string {
  return JSON.stringify({
    resourceType: "Observation",
    id,
    meta: { versionId: options.versionId ?? "1", lastUpdated: options.lastUpdated ?? "2026-01-01T00:00:00.000Z" },
    status: "final",
    code: { text: "itch" },
    subject: { reference: options.reference ?? `Patient/${patient}` },
    valueQuantity: { value: options.value ?? 5 },
  });
}

/** An Observation line of about 1 KB. */
function padded(id: string, patientId: string): string {
  return JSON.stringify({ resourceType: "Observation", id, status: "final", subject: { reference: `Patient/${patientId}` }, note: [{ text: "x".repeat(900) }] });
}

function patient(id: string, family = "Doe"): string {
  return JSON.stringify({ resourceType: "Patient", id, meta: { versionId: "1", lastUpdated: "2026-01-01T00:00:00Z" }, name: [{ given: ["Pat"], family }], birthDate: "1990-01-01", gender: "female" });
}

async function stored() {
  const { rows } = await pool.query<{ patient_id: string; resource_type: string; id: string; deleted: boolean; value: number | null; version_id: string | null }>(
    "SELECT patient_id, resource_type, id, deleted, (resource->'valueQuantity'->>'value')::float AS value, version_id FROM fhir_resources WHERE source = $1 ORDER BY resource_type, id, patient_id",
    [SOURCE],
  );
  return rows;
}

async function dirtyPatients(): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM patients WHERE source = $1 AND dirty ORDER BY id", [SOURCE]);
  return rows.map((row) => row.id);
}

async function markAllClean(): Promise<void> {
  await pool.query("UPDATE patients SET dirty = false");
}

describe.each([
  { path: "a later sync", initialLoad: false },
  { path: "a first load", initialLoad: true },
])("ingestLines ($path)", ({ initialLoad }) => {
  it("stores each resource under its patient, marks the patients dirty, and a second ingest changes nothing", async () => {
    const lines = [patient("pt-1", "Lovelace"), observation("o1", "pt-1"), observation("o2", "pt-2", { reference: "https://ehr.example/fhir/Patient/pt-2/_history/4" }), JSON.stringify({ resourceType: "Medication", id: "m1", code: { text: "upadacitinib" } })];
    const first = await ingest(lines, { initialLoad, batchLines: 2 });
    expect(first).toMatchObject({ inserted: 4, updated: 0, unchanged: 0, malformed: 0, resources: { Patient: 1, Observation: 2, Medication: 1 } });
    expect(first.changedPatientIds.sort()).toEqual(["pt-1", "pt-2"]);
    expect((await stored()).map((row) => `${row.resource_type}/${row.id}@${row.patient_id}`)).toEqual(["Medication/m1@", "Observation/o1@pt-1", "Observation/o2@pt-2", "Patient/pt-1@pt-1"]);
    const { rows } = await pool.query("SELECT id, display_name, birth_date, sex, dirty FROM patients ORDER BY id");
    expect(rows).toEqual([
      { id: "pt-1", display_name: "Pat Lovelace", birth_date: "1990-01-01", sex: "female", dirty: true },
      { id: "pt-2", display_name: null, birth_date: null, sex: null, dirty: true },
    ]);

    await markAllClean();
    const second = await ingest(lines, { batchLines: 3 });
    expect(second).toMatchObject({ inserted: 0, updated: 0, unchanged: 4, changedPatientIds: [] });
    expect(await dirtyPatients()).toEqual([]);
  });

  it("keeps the newer of two copies of a resource in one batch, after the batch began streaming", async () => {
    async function* lines() {
      yield observation("o1", "pt-1", { versionId: "2", value: 2, lastUpdated: "2026-02-01T00:00:00Z" });
      yield observation("m1", "pt-1", { versionId: "1", value: 1 });
      // About 300 KB: the batch's first chunks go out, and the second copies arrive while its COPY is open.
      for (let i = 0; i < 300; i++) yield padded(`f${i}`, "pt-9");
      await copyUnderWay();
      yield observation("o1", "pt-1", { versionId: "1", value: 1 });
      // The same resource under another patient, newer: it moved within the file.
      yield observation("m1", "pt-2", { versionId: "2", value: 2, lastUpdated: "2026-02-01T00:00:00Z" });
    }
    const result = await ingest(lines(), { initialLoad });
    expect(result).toMatchObject({ inserted: 302, updated: 0, unchanged: 2 });
    const rows = (await stored()).filter((row) => !row.id.startsWith("f"));
    expect(rows.map((row) => `${row.id}@${row.patient_id}:${row.value}`)).toEqual(["m1@pt-2:2", "o1@pt-1:2"]);
  });

  it("stores each line byte for byte, with its sha1, whatever its whitespace, escapes and characters", async () => {
    const lines = [
      '{"resourceType":"Observation",\t"id":"o1",\r"subject":{"reference":"Patient/pt-1"},"note":"tab\\t \\\\ back\\"slash\\" café ✓ 😀"}',
      JSON.stringify({ resourceType: "Observation", id: "o2", meta: { versionId: "a\u0001b\u0002c\nd\\N" }, subject: { reference: "Patient/pt-1" } }),
      JSON.stringify({ resourceType: "Medication", id: "m1", meta: { versionId: "" }, code: { text: "\\." } }),
    ];
    await ingest(lines, { initialLoad });
    const { rows } = await pool.query<{ id: string; patient_id: string; version_id: string | null; content_hash: string; text: string }>(
      "SELECT id, patient_id, version_id, content_hash, resource::text AS text FROM fhir_resources WHERE source = $1 ORDER BY id",
      [SOURCE],
    );
    const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
    expect(rows).toEqual([
      { id: "m1", patient_id: "", version_id: null, content_hash: sha1(lines[2]!), text: lines[2] },
      { id: "o1", patient_id: "pt-1", version_id: null, content_hash: sha1(lines[0]!), text: lines[0] },
      { id: "o2", patient_id: "pt-1", version_id: "a\u0001b\u0002c\nd\\N", content_hash: sha1(lines[1]!), text: lines[1] },
    ]);
  });

  it("stores lastUpdated as PostgreSQL reads the instant's text, and no instant it would refuse", async () => {
    const instants = ["2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.6785+05:30", "1999-12-31T23:59:59.9995-14:00", "2016-12-31T23:59:60Z", "0001-01-01T00:00:00+14:00", "2026-02-30T00:00:00Z"];
    await ingest(
      instants.map((lastUpdated, i) => observation(`o${i}`, "pt-1", { lastUpdated })),
      { initialLoad },
    );
    const { rows } = await pool.query<{ id: string; same: boolean | null; stored: boolean }>(
      `SELECT f.id, f.last_updated = (i.text::timestamptz(3)) AS same, f.last_updated IS NOT NULL AS stored
       FROM fhir_resources f JOIN unnest($2::text[]) WITH ORDINALITY AS i(text, n) ON f.id = 'o' || (i.n - 1)
       WHERE f.source = $1 AND i.n <= 5 ORDER BY f.id`,
      [SOURCE, instants],
    );
    expect(rows).toEqual(instants.slice(0, 5).map((_, i) => ({ id: `o${i}`, same: true, stored: true })));
    expect((await pool.query("SELECT last_updated FROM fhir_resources WHERE id = 'o5'")).rows).toEqual([{ last_updated: null }]);
  });

  it("fails with the lines' own error when they stop mid-file, and leaves the connection usable", async () => {
    const failure = new Error("connection reset while downloading");
    async function* lines() {
      for (let i = 0; i < 400; i++) yield padded(`o${i}`, "pt-1");
      await copyUnderWay();
      throw failure;
    }
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await expect(ingestLines(client, SOURCE, RUN, lines(), { initialLoad })).rejects.toBe(failure);
      await client.query("ROLLBACK");
      expect((await client.query("SELECT count(*)::int AS n FROM fhir_resources")).rows[0]).toEqual({ n: 0 });
    } finally {
      client.release();
    }
  });

  it("keeps every one of many malformed lines and stores the lines between them", async () => {
    const lines = Array.from({ length: 1200 }, (_, i) => (i % 100 === 0 ? observation(`o${i}`, "pt-1") : `{"broken": ${i}`));
    const result = await ingest(lines, { initialLoad, file: "Observation.ndjson" });
    expect(result).toMatchObject({ inserted: 12, malformed: 1188, lines: 1200 });
    const { rows } = await pool.query("SELECT count(*)::int AS n, min(line) AS first, max(line) AS last FROM sync_issues WHERE source = $1", [SOURCE]);
    expect(rows[0]).toEqual({ n: 1188, first: 2, last: 1200 });
    expect((await stored()).length).toBe(12);
  });
});

describe("versions", () => {
  it("a newer copy replaces an older one; an older copy never overwrites a newer one", async () => {
    await ingest([observation("o1", "pt-1", { lastUpdated: "2026-02-01T00:00:00Z", versionId: "2", value: 2 })]);
    await markAllClean();
    const older = await ingest([observation("o1", "pt-1", { lastUpdated: "2026-01-01T00:00:00Z", versionId: "1", value: 1 })]);
    expect(older).toMatchObject({ inserted: 0, updated: 0, unchanged: 1, changedPatientIds: [] });
    expect((await stored())[0]?.value).toBe(2);
    expect(await dirtyPatients()).toEqual([]);

    const newer = await ingest([observation("o1", "pt-1", { lastUpdated: "2026-03-01T00:00:00Z", versionId: "3", value: 3 })]);
    expect(newer).toMatchObject({ inserted: 0, updated: 1, changedPatientIds: ["pt-1"] });
    expect((await stored())[0]).toMatchObject({ value: 3, version_id: "3" });
    expect(await dirtyPatients()).toEqual(["pt-1"]);
  });

  it("with the same lastUpdated the higher numeric versionId wins", async () => {
    await ingest([observation("o1", "pt-1", { versionId: "10", value: 10 })]);
    expect(await ingest([observation("o1", "pt-1", { versionId: "9", value: 9 })])).toMatchObject({ updated: 0, unchanged: 1 });
    expect(await ingest([observation("o1", "pt-1", { versionId: "11", value: 11 })])).toMatchObject({ updated: 1 });
    expect((await stored())[0]?.value).toBe(11);
  });

  it("keeps the newer of two copies within one batch", async () => {
    const result = await ingest([observation("o1", "pt-1", { versionId: "2", value: 2, lastUpdated: "2026-02-01T00:00:00Z" }), observation("o1", "pt-1", { versionId: "1", value: 1 })]);
    expect(result).toMatchObject({ inserted: 1, unchanged: 1 });
    expect((await stored())[0]?.value).toBe(2);
  });

  // Alone, a batch of new keys is COPYed straight into fhir_resources; with a stored key in it, it is upserted.
  it.each([
    { path: "COPY", others: [] as string[] },
    { path: "upsert", others: [observation("o9", "pt-3")] },
  ])("a resource that moved to another patient leaves no stale copy, and both patients are dirty ($path)", async ({ others }) => {
    await ingest([observation("o1", "pt-1"), ...others]);
    await markAllClean();
    const moved = await ingest([...others, observation("o1", "pt-2", { lastUpdated: "2026-02-01T00:00:00Z", versionId: "2" })]);
    expect(moved).toMatchObject({ inserted: 1, updated: 0, unchanged: others.length });
    expect(moved.changedPatientIds.sort()).toEqual(["pt-1", "pt-2"]);
    expect((await stored()).filter((row) => row.id === "o1").map((row) => row.patient_id)).toEqual(["pt-2"]);
    // The older copy under the first patient does not come back.
    await markAllClean();
    expect(await ingest([...others, observation("o1", "pt-1")])).toMatchObject({ inserted: 0, unchanged: 1 + others.length });
    expect((await stored()).filter((row) => row.id === "o1").map((row) => row.patient_id)).toEqual(["pt-2"]);
  });
});

describe("malformed lines", () => {
  it("are kept whole in sync_issues with their line number, and the rest is stored", async () => {
    const bad = ['{"resourceType":"Observation","id":"o9"', '{"id":"no-type"}', '{"resourceType":"Observation"}'];
    const result = await ingest([observation("o1", "pt-1"), bad[0]!, "", bad[1]!, bad[2]!, observation("o2", "pt-1")], { file: "Observation-1.ndjson" });
    expect(result).toMatchObject({ inserted: 2, malformed: 3, lines: 6 });
    const { rows } = await pool.query("SELECT file, line, issue, raw FROM sync_issues WHERE source = $1 ORDER BY line", [SOURCE]);
    expect(rows).toEqual([
      { file: "Observation-1.ndjson", line: 2, issue: "malformed-json", raw: bad[0] },
      { file: "Observation-1.ndjson", line: 4, issue: "missing-resource-type", raw: bad[1] },
      { file: "Observation-1.ndjson", line: 5, issue: "missing-id", raw: bad[2] },
    ]);
  });
});

describe("deleted resources", () => {
  const deletion = (type: string, id: string, at?: string) =>
    JSON.stringify({ resourceType: "Bundle", type: "transaction", entry: [{ request: { method: "DELETE", url: `${type}/${id}` }, ...(at ? { response: { lastModified: at } } : {}) }] });

  it("become tombstones that an older copy cannot bring back, while a newer copy can", async () => {
    await ingest([observation("o1", "pt-1"), observation("o2", "pt-1")]);
    await markAllClean();
    const result = await ingestDeleted([deletion("Observation", "o1"), deletion("Observation", "unknown"), "not json"]);
    expect(result).toMatchObject({ deleted: 1, unchanged: 1, malformed: 1, changedPatientIds: ["pt-1"] });
    expect((await stored()).map((row) => `${row.id}:${row.deleted}`)).toEqual(["o1:true", "o2:false"]);
    expect((await loadPatientResources(pool, SOURCE, ["pt-1"])).get("pt-1")?.map((resource) => resource.id)).toEqual(["o2"]);

    expect(await ingest([observation("o1", "pt-1")])).toMatchObject({ updated: 0, unchanged: 1 });
    expect((await stored())[0]?.deleted).toBe(true);
    expect(await ingest([observation("o1", "pt-1", { lastUpdated: "2031-01-01T00:00:00Z", versionId: "5" })])).toMatchObject({ updated: 1 });
    expect((await stored())[0]?.deleted).toBe(false);
  });

  it("a deletion older than the stored copy changes nothing", async () => {
    await ingest([observation("o1", "pt-1", { lastUpdated: "2026-05-01T00:00:00Z" })]);
    expect(await ingestDeleted([deletion("Observation", "o1", "2026-04-01T00:00:00Z")])).toMatchObject({ deleted: 0, unchanged: 1 });
  });
});

describe("shared Medications", () => {
  const medication = (code: string) => JSON.stringify({ resourceType: "Medication", id: "med-1", meta: { lastUpdated: "2026-01-01T00:00:00Z" }, code: { text: code } });
  const request = (id: string, patientId: string) =>
    JSON.stringify({ resourceType: "MedicationRequest", id, status: "active", intent: "order", subject: { reference: `Patient/${patientId}` }, medicationReference: { reference: "Medication/med-1" } });

  it("are loaded with the patients that reference them, and a change marks those patients dirty", async () => {
    await ingest([medication("upadacitinib 15 mg"), request("mr-1", "pt-1"), request("mr-2", "pt-2"), observation("o3", "pt-3")]);
    const loaded = await loadPatientResources(pool, SOURCE, ["pt-1", "pt-3", "pt-none"]);
    expect(loaded.get("pt-1")?.map((resource) => `${resource.resourceType}/${resource.id}`)).toEqual(["MedicationRequest/mr-1", "Medication/med-1"]);
    expect(loaded.get("pt-3")?.map((resource) => resource.id)).toEqual(["o3"]);
    expect(loaded.get("pt-none")).toEqual([]);
    // Unparsed as stored: the patient's own resources as one JSON array, the referenced Medication beside it.
    const stored = await loadStoredPatientResources(pool, SOURCE, ["pt-1", "pt-none"]);
    expect((JSON.parse(stored.get("pt-1")!.json) as Array<{ id: string }>).map((r) => r.id)).toEqual(["mr-1"]);
    expect(stored.get("pt-1")!.medications.map((r) => r.id)).toEqual(["med-1"]);
    expect(stored.get("pt-none")).toEqual({ json: "[]", medications: [] });

    await markAllClean();
    const changed = await ingest([medication("upadacitinib 30 mg")]);
    expect(changed.changedPatientIds.sort()).toEqual(["pt-1", "pt-2"]);
    expect(await dirtyPatients()).toEqual(["pt-1", "pt-2"]);
  });
});

describe("first-load COPY", () => {
  it("falls back to the upsert when a stored copy exists after all", async () => {
    await ingest([observation("o1", "pt-1", { value: 1 })]);
    const result = await ingest([observation("o1", "pt-1", { value: 2, versionId: "2" }), observation("o2", "pt-1")], { initialLoad: true });
    expect(result).toMatchObject({ inserted: 1, updated: 1 });
    expect((await stored()).map((row) => row.value)).toEqual([2, 5]);
  });
});
