/**
 * Synced FHIR resources in PostgreSQL (fhir_resources, keyed by source and patient first) and the patients whose
 * data changed. Ingest streams NDJSON lines, parses each once (lib/sync/ndjson-ingest.ts), COPYs batches into a
 * session-local staging table and upserts from there in one statement per batch: an identical copy changes
 * nothing, a newer meta.lastUpdated / versionId replaces an older one, an older copy never overwrites a newer one
 * or a tombstone, and a resource that moved to another patient leaves no stale copy. The patients of changed rows
 * are marked dirty in the same transaction, which the caller owns.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import {
  copyNullable,
  copyText,
  isOlder,
  medicationIdFromReference,
  parseDeletedLine,
  parseResourceLine,
  type DeletedEntry,
  type LineIssue,
  type ResourceRow,
} from "../sync/ndjson-ingest";

export interface IngestCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  malformed: number;
}

export interface IngestResult extends IngestCounts {
  /** Patients whose stored data changed (marked dirty in `patients`). */
  changedPatientIds: string[];
  /** Resources received, by type (lines that parsed; deletions are not counted here). */
  resources: Record<string, number>;
  /** Lines read, blank ones included. */
  lines: number;
}

export interface IngestOptions {
  /** The file the lines come from, recorded with each issue. */
  file?: string;
  /** Lines per COPY batch (default 10,000). */
  batchLines?: number;
  /**
   * The source held no resources when this sync began (a first full load): rows are COPYed straight into
   * fhir_resources, as no stored copy can conflict. A conflict all the same falls back to the upsert path.
   */
  initialLoad?: boolean;
}

const STAGE_TABLE = "ejm_ingest_stage";
const DEFAULT_BATCH_LINES = 10_000;
/** A batch is also flushed at this many bytes of NDJSON, so a file of huge resources stays within memory. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
const ISSUE_FLUSH = 500;
const MEDICATION_USER_TYPES = ["MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"];

/** SQL for "incoming copy i is older than stored copy s": the rule of isOlder() in ndjson-ingest.ts. */
function olderSql(incoming: string, stored: string): string {
  const numeric = (alias: string) => `(CASE WHEN ${alias}.version_id ~ '^[0-9]{1,15}$' THEN ${alias}.version_id::bigint END)`;
  return `(CASE
    WHEN ${incoming}.last_updated IS NOT NULL AND ${stored}.last_updated IS NOT NULL AND ${incoming}.last_updated <> ${stored}.last_updated
      THEN ${incoming}.last_updated < ${stored}.last_updated
    WHEN ${incoming}.last_updated IS DISTINCT FROM ${stored}.last_updated THEN false
    ELSE coalesce(${numeric(incoming)} < ${numeric(stored)}, false) END)`;
}

const CREATE_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ${STAGE_TABLE} (
  patient_id text NOT NULL, resource_type text NOT NULL, id text NOT NULL, version_id text, last_updated timestamptz(3),
  content_hash text NOT NULL, resource json NOT NULL)`;

const UPSERT_SQL = `WITH up AS (
    INSERT INTO fhir_resources AS f (source, patient_id, resource_type, id, version_id, last_updated, content_hash, deleted, resource, sync_run_id, received_at)
    SELECT $1, s.patient_id, s.resource_type, s.id, s.version_id, s.last_updated, s.content_hash, false, s.resource, $2, now() FROM ${STAGE_TABLE} s
    ON CONFLICT (source, patient_id, resource_type, id) DO UPDATE SET
      version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, content_hash = EXCLUDED.content_hash, deleted = false,
      resource = EXCLUDED.resource, sync_run_id = EXCLUDED.sync_run_id, received_at = EXCLUDED.received_at
    WHERE (f.content_hash <> EXCLUDED.content_hash OR f.deleted) AND NOT ${olderSql("EXCLUDED", "f")}
    RETURNING f.patient_id, f.resource_type, f.id, f.version_id, f.last_updated, (f.xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated,
    coalesce(array_agg(DISTINCT patient_id) FILTER (WHERE patient_id <> ''), '{}') AS patients,
    coalesce(array_agg(id) FILTER (WHERE resource_type = 'Medication' AND patient_id = ''), '{}') AS medications,
    coalesce(array_agg(id) FILTER (WHERE resource_type = 'Patient'), '{}') AS patient_ids,
    -- New keys (not Patients, whose key is their own id): the only rows that may be a resource moved from another patient.
    coalesce(array_agg(resource_type) FILTER (WHERE inserted AND resource_type <> 'Patient'), '{}') AS new_types,
    coalesce(array_agg(id) FILTER (WHERE inserted AND resource_type <> 'Patient'), '{}') AS new_ids,
    coalesce(array_agg(patient_id) FILTER (WHERE inserted AND resource_type <> 'Patient'), '{}') AS new_patients,
    coalesce(array_agg(version_id) FILTER (WHERE inserted AND resource_type <> 'Patient'), '{}') AS new_versions,
    coalesce(array_agg(last_updated) FILTER (WHERE inserted AND resource_type <> 'Patient'), '{}') AS new_last_updated
  FROM up`;

/**
 * A newly inserted key whose resource is also stored under another patient moved there: the newer copy stays
 * and the other is removed (usually the stale one; the new one when it was the older). The lateral subquery with
 * OFFSET 0 keeps the probe an index lookup per new row, whatever the table's statistics say.
 */
const MOVED_SQL = `WITH n AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS n(resource_type, id, patient_id, version_id, last_updated)
  ), moved AS (
    SELECT n.resource_type, n.id, n.patient_id AS new_patient_id, o.patient_id AS old_patient_id, ${olderSql("n", "o")} AS new_is_older
    FROM n
    CROSS JOIN LATERAL (
      SELECT o.patient_id, o.last_updated, o.version_id FROM fhir_resources o
      WHERE o.source = $1 AND o.resource_type = n.resource_type AND o.id = n.id AND o.patient_id <> n.patient_id OFFSET 0
    ) o
  ), removed AS (
    DELETE FROM fhir_resources f USING moved m
    WHERE f.source = $1 AND f.resource_type = m.resource_type AND f.id = m.id
      AND f.patient_id = CASE WHEN m.new_is_older THEN m.new_patient_id ELSE m.old_patient_id END
    RETURNING f.patient_id, f.resource_type, f.id
  )
  SELECT (SELECT count(DISTINCT (resource_type, id)) FROM moved WHERE new_is_older)::int AS dropped_new,
    coalesce((SELECT array_agg(DISTINCT patient_id) FROM removed WHERE patient_id <> ''), '{}') AS patients`;

/**
 * Marks changed patients dirty and mirrors the display fields of Patient resources that changed, in one statement
 * in patient id order at the end of an ingest call: concurrent file transactions then lock patients rows briefly
 * and in the same order (no deadlock). A display field the incoming Patient lacks keeps its stored value.
 */
const PATIENTS_SQL = `INSERT INTO patients AS p (source, id, display_name, birth_date, sex, dirty, data_changed_at, updated_at)
  SELECT $1, d.id, d.display_name, d.birth_date, d.sex, true, now(), now()
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS d(id, display_name, birth_date, sex)
  ORDER BY d.id
  ON CONFLICT (source, id) DO UPDATE SET dirty = true, data_changed_at = now(), updated_at = now(),
    display_name = coalesce(EXCLUDED.display_name, p.display_name), birth_date = coalesce(EXCLUDED.birth_date, p.birth_date),
    sex = coalesce(EXCLUDED.sex, p.sex)`;

/** Patients (of one source) whose medication resources reference one of the given Medications. */
const MEDICATION_USERS_SQL = `SELECT DISTINCT f.patient_id FROM fhir_resources f
  WHERE f.source = $1 AND f.resource_type = ANY($3::text[]) AND f.patient_id <> '' AND NOT f.deleted
    AND substring(f.resource->'medicationReference'->>'reference' from '(?:^|/)Medication/([A-Za-z0-9.-]{1,64})(?:/_history/[^/]*)?$') = ANY($2::text[])`;

const TOMBSTONE_SQL = `WITH d AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS d(resource_type, id, deleted_at)
  ), marked AS (
    UPDATE fhir_resources f SET deleted = true, last_updated = d.deleted_at, sync_run_id = $5, received_at = now()
    FROM d
    WHERE f.source = $1 AND f.resource_type = d.resource_type AND f.id = d.id AND NOT f.deleted
      AND (f.last_updated IS NULL OR f.last_updated <= d.deleted_at)
    RETURNING f.patient_id, f.resource_type, f.id
  )
  SELECT count(*)::int AS deleted,
    coalesce(array_agg(DISTINCT patient_id) FILTER (WHERE patient_id <> ''), '{}') AS patients,
    coalesce(array_agg(id) FILTER (WHERE resource_type = 'Medication' AND patient_id = ''), '{}') AS medications
  FROM marked`;

interface UpsertResult {
  inserted: number;
  updated: number;
  patients: string[];
  medications: string[];
  patient_ids: string[];
  new_types: string[];
  new_ids: string[];
  new_patients: string[];
  new_versions: (string | null)[];
  new_last_updated: (Date | null)[];
}

interface PendingIssue {
  line: number;
  issue: LineIssue;
  raw: string;
}

/** Accumulates what one ingest call did, and writes its issues. */
class IngestTally {
  readonly counts: IngestCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0, malformed: 0 };
  readonly changedPatients = new Set<string>();
  /** Display fields of the Patient resources stored by this call. */
  private readonly displays = new Map<string, NonNullable<ResourceRow["patient"]>>();
  readonly changedMedications = new Set<string>();
  readonly resources: Record<string, number> = {};
  lines = 0;
  private issues: PendingIssue[] = [];

  constructor(
    private readonly client: pg.PoolClient,
    private readonly source: string,
    private readonly runId: bigint,
    private readonly file: string | null,
  ) {}

  addIssue(line: number, issue: LineIssue, raw: string): void {
    this.counts.malformed++;
    this.issues.push({ line, issue, raw });
  }

  private stageReady = false;

  /** The session's staging table (created in this transaction when absent; it stays with the connection). */
  async ensureStage(): Promise<void> {
    if (this.stageReady) return;
    await this.client.query(CREATE_STAGE_SQL);
    this.stageReady = true;
  }

  get issueCount(): number {
    return this.issues.length;
  }

  async flushIssues(): Promise<void> {
    if (this.issues.length === 0) return;
    const issues = this.issues;
    this.issues = [];
    await this.client.query(
      `INSERT INTO sync_issues (run_id, source, file, line, issue, detail, raw)
       SELECT $1, $2, $3, i.line, i.issue, i.detail, i.raw FROM unnest($4::int[], $5::text[], $6::text[], $7::text[]) AS i(line, issue, detail, raw)`,
      [
        this.runId.toString(),
        this.source,
        this.file,
        issues.map((item) => item.line),
        issues.map((item) => item.issue.issue),
        issues.map((item) => item.issue.detail),
        // text cannot hold NUL; everything else is kept as received.
        issues.map((item) => item.raw.replace(/\u0000/g, "\uFFFD")),
      ],
    );
  }

  markDirty(patientIds: Iterable<string>): void {
    for (const id of patientIds) if (id !== "") this.changedPatients.add(id);
  }

  noteDisplay(row: ResourceRow): void {
    if (row.patient) this.displays.set(row.id, row.patient);
  }

  /** The patients' writes of this call: Medication users found, then one sorted upsert (see PATIENTS_SQL). */
  async writePatients(): Promise<void> {
    if (this.changedMedications.size > 0) {
      const { rows } = await this.client.query<{ patient_id: string }>(MEDICATION_USERS_SQL, [this.source, [...this.changedMedications], MEDICATION_USER_TYPES]);
      this.markDirty(rows.map((row) => row.patient_id));
    }
    if (this.changedPatients.size === 0) return;
    const ids = [...this.changedPatients].sort();
    const displays = ids.map((id) => this.displays.get(id));
    await this.client.query(PATIENTS_SQL, [
      this.source,
      ids,
      displays.map((display) => display?.displayName ?? null),
      displays.map((display) => display?.birthDate ?? null),
      displays.map((display) => display?.sex ?? null),
    ]);
  }

  result(): IngestResult {
    return { ...this.counts, changedPatientIds: [...this.changedPatients], resources: this.resources, lines: this.lines };
  }
}

/** One batch of rows to store, de-duplicated by type/id (the newer copy of a resource seen twice stays). */
class Batch {
  readonly rows: ResourceRow[] = [];
  readonly lines: string[] = [];
  bytes = 0;
  duplicates = 0;
  private readonly index = new Map<string, number>();

  add(row: ResourceRow, line: string): void {
    const key = `${row.resourceType}/${row.id}`;
    const existing = this.index.get(key);
    this.bytes += line.length;
    if (existing === undefined) {
      this.index.set(key, this.rows.length);
      this.rows.push(row);
      this.lines.push(line);
      return;
    }
    this.duplicates++;
    const stored = this.rows[existing];
    if (stored && !isOlder(row, stored)) {
      this.rows[existing] = row;
      this.lines[existing] = line;
    }
  }

  get size(): number {
    return this.rows.length;
  }
}

function stageCopyText(batch: Batch): string {
  const parts: string[] = new Array(batch.rows.length);
  for (let i = 0; i < batch.rows.length; i++) {
    const row = batch.rows[i]!;
    parts[i] = `${row.patientId}\t${row.resourceType}\t${row.id}\t${copyNullable(row.versionId)}\t${row.lastUpdated ?? "\\N"}\t${row.contentHash}\t${copyText(batch.lines[i]!)}\n`;
  }
  return parts.join("");
}

function directCopyText(batch: Batch, source: string, runId: string): string {
  const prefix = `${copyText(source)}\t`;
  const parts: string[] = new Array(batch.rows.length);
  for (let i = 0; i < batch.rows.length; i++) {
    const row = batch.rows[i]!;
    parts[i] = `${prefix}${row.patientId}\t${row.resourceType}\t${row.id}\t${copyNullable(row.versionId)}\t${row.lastUpdated ?? "\\N"}\t${row.contentHash}\t${copyText(batch.lines[i]!)}\t${runId}\n`;
  }
  return parts.join("");
}

async function copyInto(client: pg.PoolClient, sql: string, text: string): Promise<void> {
  await pipeline(Readable.from([text]), client.query(copyFrom(sql)));
}

/** Stores one batch: straight COPY on a first load, else COPY to staging and upsert. Returns whether direct COPY still applies. */
async function flushBatch(client: pg.PoolClient, source: string, runId: bigint, batch: Batch, tally: IngestTally, direct: boolean): Promise<boolean> {
  if (batch.size === 0) return direct;
  tally.counts.unchanged += batch.duplicates;
  let changedPatients: string[] = [];
  let stillDirect = direct;
  let stored = false;
  if (direct) {
    await client.query("SAVEPOINT ejm_ingest_direct");
    try {
      await copyInto(
        client,
        "COPY fhir_resources (source, patient_id, resource_type, id, version_id, last_updated, content_hash, resource, sync_run_id) FROM STDIN",
        directCopyText(batch, source, runId.toString()),
      );
      await client.query("RELEASE SAVEPOINT ejm_ingest_direct");
      tally.counts.inserted += batch.size;
      changedPatients = batch.rows.map((row) => row.patientId);
      for (const row of batch.rows) {
        if (row.resourceType === "Medication" && row.patientId === "") tally.changedMedications.add(row.id);
        tally.noteDisplay(row);
      }
      stored = true;
    } catch (error) {
      // A stored copy exists after all (unique violation): this batch and the rest take the upsert path.
      if ((error as { code?: string }).code !== "23505") throw error;
      await client.query("ROLLBACK TO SAVEPOINT ejm_ingest_direct");
      stillDirect = false;
    }
  }
  if (!stored) {
    await tally.ensureStage();
    await client.query(`TRUNCATE ${STAGE_TABLE}`);
    await copyInto(client, `COPY ${STAGE_TABLE} (patient_id, resource_type, id, version_id, last_updated, content_hash, resource) FROM STDIN`, stageCopyText(batch));
    const upsert = await client.query<UpsertResult>(UPSERT_SQL, [source, runId.toString()]);
    const result = upsert.rows[0] ?? { inserted: 0, updated: 0, patients: [], medications: [], patient_ids: [], new_types: [], new_ids: [], new_patients: [], new_versions: [], new_last_updated: [] };
    let droppedNew = 0;
    let movedFrom: string[] = [];
    if (result.new_ids.length > 0) {
      const moved = await client.query<{ dropped_new: number; patients: string[] }>(MOVED_SQL, [
        source,
        result.new_types,
        result.new_ids,
        result.new_patients,
        result.new_versions,
        result.new_last_updated,
      ]);
      droppedNew = moved.rows[0]?.dropped_new ?? 0;
      movedFrom = moved.rows[0]?.patients ?? [];
    }
    tally.counts.inserted += result.inserted - droppedNew;
    tally.counts.updated += result.updated;
    tally.counts.unchanged += batch.size - result.inserted - result.updated + droppedNew;
    changedPatients = [...movedFrom, ...result.patients];
    const storedPatients = new Set(result.patient_ids);
    for (const row of batch.rows) if (row.patient && storedPatients.has(row.id)) tally.noteDisplay(row);
    for (const id of result.medications) tally.changedMedications.add(id);
  }
  tally.markDirty(changedPatients);
  return stillDirect;
}

function isBlank(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "");
}

/**
 * Stores the resources of NDJSON lines for one source. Lines that cannot be stored (malformed JSON, no
 * resourceType or id) become sync_issues rows with the raw line. Runs inside the caller's transaction: nothing
 * commits here, so a failed file rolls back whole.
 */
export async function ingestLines(
  client: pg.PoolClient,
  source: string,
  runId: bigint,
  lines: AsyncIterable<string> | Iterable<string>,
  options: IngestOptions = {},
): Promise<IngestCounts & IngestResult> {
  const tally = new IngestTally(client, source, runId, options.file ?? null);
  const batchLines = Math.max(1, options.batchLines ?? DEFAULT_BATCH_LINES);
  let direct = options.initialLoad === true;
  let batch = new Batch();
  // The previous batch is stored while the next one is parsed: JavaScript and PostgreSQL work side by side.
  let inFlight: Promise<void> | null = null;
  const flush = async (): Promise<void> => {
    if (inFlight) await inFlight;
    const full = batch;
    batch = new Batch();
    inFlight = (async () => {
      direct = await flushBatch(client, source, runId, full, tally, direct);
      if (tally.issueCount >= ISSUE_FLUSH) await tally.flushIssues();
    })();
    // Awaited later; a failure is raised there, not as an unhandled rejection.
    inFlight.catch(() => undefined);
  };
  try {
    for await (const line of lines) {
      const lineNumber = ++tally.lines;
      if (isBlank(line)) continue;
      const parsed = parseResourceLine(line);
      if (!parsed.ok) {
        tally.addIssue(lineNumber, parsed.issue, line);
        continue;
      }
      tally.resources[parsed.row.resourceType] = (tally.resources[parsed.row.resourceType] ?? 0) + 1;
      batch.add(parsed.row, line);
      if (batch.size >= batchLines || batch.bytes >= MAX_BATCH_BYTES) await flush();
    }
    await flush();
  } finally {
    // Let the batch being stored finish (or fail) before the caller rolls back or reuses the connection.
    if (inFlight) await (inFlight as Promise<void>).catch(() => undefined);
  }
  await inFlight;
  await tally.flushIssues();
  await tally.writePatients();
  return tally.result();
}

/**
 * Applies a Bulk Data `deleted` file: each line a Bundle of DELETE entries. Stored copies become tombstones
 * (deleted = true, the resource kept, last_updated = the deletion time) unless the stored copy is newer than
 * the deletion; their patients are marked dirty. Deletions of resources never stored are counted unchanged.
 */
export async function ingestDeletedLines(
  client: pg.PoolClient,
  source: string,
  runId: bigint,
  lines: AsyncIterable<string> | Iterable<string>,
  options: { file?: string; deletedAt: string },
): Promise<IngestResult> {
  const tally = new IngestTally(client, source, runId, options.file ?? null);
  let entries: DeletedEntry[] = [];
  const flush = async (): Promise<void> => {
    if (entries.length === 0) return;
    const batch = entries;
    entries = [];
    const { rows } = await client.query<{ deleted: number; patients: string[]; medications: string[] }>(TOMBSTONE_SQL, [
      source,
      batch.map((entry) => entry.resourceType),
      batch.map((entry) => entry.id),
      batch.map((entry) => entry.deletedAt ?? options.deletedAt),
      runId.toString(),
    ]);
    const result = rows[0] ?? { deleted: 0, patients: [], medications: [] };
    tally.counts.deleted += result.deleted;
    tally.counts.unchanged += batch.length - result.deleted;
    for (const id of result.medications) tally.changedMedications.add(id);
    tally.markDirty(result.patients);
  };
  for await (const line of lines) {
    const lineNumber = ++tally.lines;
    if (isBlank(line)) continue;
    const parsed = parseDeletedLine(line);
    if (!parsed.ok) {
      tally.addIssue(lineNumber, parsed.issue, line);
      continue;
    }
    entries.push(...parsed.entries);
    if (entries.length >= DEFAULT_BATCH_LINES) await flush();
  }
  await flush();
  await tally.flushIssues();
  await tally.writePatients();
  return tally.result();
}

/**
 * Records a Bulk manifest's `error` file (OperationOutcome NDJSON: what the server could not export) in
 * sync_issues, one row per line. Returns the number of outcomes (and malformed lines, counted apart).
 */
export async function ingestOutcomeLines(
  client: pg.PoolClient,
  source: string,
  runId: bigint,
  lines: AsyncIterable<string> | Iterable<string>,
  options: { file?: string } = {},
): Promise<IngestResult & { outcomes: number }> {
  const tally = new IngestTally(client, source, runId, options.file ?? null);
  let outcomes = 0;
  for await (const line of lines) {
    const lineNumber = ++tally.lines;
    if (isBlank(line)) continue;
    const outcome = parseOutcome(line);
    if (outcome?.resourceType !== "OperationOutcome") {
      tally.addIssue(lineNumber, { issue: "malformed-json", detail: "an export error file line that is not an OperationOutcome" }, line);
      continue;
    }
    outcomes++;
    const text = (outcome.issue ?? []).map((issue) => issue.diagnostics ?? issue.details?.text ?? issue.code).filter((value) => typeof value === "string").join("; ");
    tally.addIssue(lineNumber, { issue: "export-error", detail: (text || "the server reported an export error").slice(0, 1000) }, line);
    if (tally.issueCount >= ISSUE_FLUSH) await tally.flushIssues();
  }
  await tally.flushIssues();
  const result = tally.result();
  return { ...result, malformed: result.malformed - outcomes, outcomes };
}

type OutcomeLine = { resourceType?: unknown; issue?: { diagnostics?: unknown; details?: { text?: unknown }; code?: unknown }[] };

function parseOutcome(line: string): OutcomeLine | null {
  try {
    const value = JSON.parse(line) as unknown;
    return value && typeof value === "object" ? (value as OutcomeLine) : null;
  } catch {
    return null;
  }
}

/** Whether the source has no stored resources yet (a first load can COPY straight into the table). */
export async function sourceIsEmpty(client: pg.PoolClient | pg.Pool, source: string): Promise<boolean> {
  const { rows } = await client.query<{ empty: boolean }>("SELECT NOT EXISTS (SELECT 1 FROM fhir_resources WHERE source = $1) AS empty", [source]);
  return rows[0]?.empty ?? true;
}

/**
 * The stored (not deleted) resources of the given patients, plus the Medications (patient_id "") their medication
 * resources reference, by patient id. Every requested patient has an entry (empty when nothing is stored).
 */
export async function loadPatientResources(pool: pg.Pool, source: string, patientIds: string[]): Promise<Map<string, Resource[]>> {
  const byPatient = new Map<string, Resource[]>(patientIds.map((id) => [id, []]));
  if (patientIds.length === 0) return byPatient;
  const { rows } = await pool.query<{ patient_id: string; resource: Resource }>(
    `SELECT patient_id, resource FROM fhir_resources
     WHERE source = $1 AND patient_id = ANY($2::text[]) AND NOT deleted
     ORDER BY patient_id, resource_type, id`,
    [source, patientIds],
  );
  const medicationUsers = new Map<string, Set<string>>();
  for (const row of rows) {
    byPatient.get(row.patient_id)?.push(row.resource);
    if (!MEDICATION_USER_TYPES.includes(row.resource.resourceType)) continue;
    const medicationId = medicationIdFromReference((row.resource as { medicationReference?: { reference?: string } }).medicationReference?.reference);
    if (!medicationId) continue;
    const users = medicationUsers.get(medicationId) ?? new Set<string>();
    users.add(row.patient_id);
    medicationUsers.set(medicationId, users);
  }
  if (medicationUsers.size === 0) return byPatient;
  const medications = await pool.query<{ id: string; resource: Resource }>(
    `SELECT id, resource FROM fhir_resources
     WHERE source = $1 AND patient_id = '' AND resource_type = 'Medication' AND id = ANY($2::text[]) AND NOT deleted`,
    [source, [...medicationUsers.keys()]],
  );
  for (const medication of medications.rows) {
    for (const patientId of medicationUsers.get(medication.id) ?? []) byPatient.get(patientId)?.push(medication.resource);
  }
  return byPatient;
}
