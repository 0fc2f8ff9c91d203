/**
 * Synced FHIR resources in PostgreSQL (fhir_resources, keyed by source and patient first) and the patients whose
 * data changed. Ingest streams NDJSON lines, parses each once (lib/sync/ndjson-ingest.ts) and streams the rows to
 * PostgreSQL in COPY's binary format as they are parsed, in batches: COPYed straight into fhir_resources while no
 * stored copy of a key turns up (new resources: a plain insert), else COPYed into a session-local staging table and
 * upserted from there in one statement per batch. An identical copy changes nothing, a newer meta.lastUpdated /
 * versionId replaces an older one, an older copy never overwrites a newer one or a tombstone, and a resource that
 * moved to another patient leaves no stale copy. The patients of changed rows are marked dirty in the same
 * transaction, which the caller owns.
 */
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { pipeline } from "node:stream/promises";
import type { Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import {
  COPY_COLUMNS,
  COPY_FORMAT,
  COPY_KEY_COLUMNS,
  CopyRowEncoder,
  encodeCopyKeys,
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
   * The source held no resources when this sync began (a first full load): no copy predates the run, so no
   * resource can have moved from another patient, and new rows are not searched for one (an index probe each).
   */
  initialLoad?: boolean;
}

const STAGE_TABLE = "ejm_ingest_rows";
const KEYS_TABLE = "ejm_ingest_keys";
const DEFAULT_BATCH_LINES = 10_000;
/** A batch is also flushed at this many bytes of NDJSON, so a file of huge resources stays within memory. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/**
 * A batch bound for the staging table is flushed before its rows (NDJSON plus about STAGED_ROW_OVERHEAD bytes of
 * row, key and hash each) outgrow PostgreSQL's default temp_buffers of 8 MB: a larger one spills to temporary
 * files, written by the COPY and read back by the upsert.
 */
const MAX_STAGED_BYTES = 7 * 1024 * 1024;
const STAGED_ROW_OVERHEAD = 200;
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

/**
 * The session's staging tables: one with the same columns as fhir_resources's COPY, so a batch encoded for one
 * goes into the other unchanged; one for the keys of a batch COPYed straight into fhir_resources.
 */
const CREATE_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ${STAGE_TABLE} (
    source text, sync_run_id bigint, patient_id text NOT NULL, resource_type text NOT NULL, id text NOT NULL, version_id text,
    last_updated timestamptz(3), content_hash text NOT NULL, resource json NOT NULL);
  CREATE TEMP TABLE IF NOT EXISTS ${KEYS_TABLE} (patient_id text NOT NULL, resource_type text NOT NULL, id text NOT NULL, version_id text, last_updated timestamptz(3))`;

const DIRECT_COPY_SQL = `COPY fhir_resources (${COPY_COLUMNS}) FROM STDIN (${COPY_FORMAT})`;
const STAGE_COPY_SQL = `COPY ${STAGE_TABLE} (${COPY_COLUMNS}) FROM STDIN (${COPY_FORMAT})`;
const KEYS_COPY_SQL = `COPY ${KEYS_TABLE} (${COPY_KEY_COLUMNS}) FROM STDIN (${COPY_FORMAT})`;

/** The probe for a resource stored under another patient than its new copy (see UPSERT_SQL), of new rows `n`. */
function movedSql(newRows: string): string {
  return `SELECT n.resource_type, n.id, n.patient_id AS new_patient_id, o.patient_id AS old_patient_id, ${olderSql("n", "o")} AS new_is_older
    FROM ${newRows}
    CROSS JOIN LATERAL (
      SELECT o.patient_id, o.last_updated, o.version_id FROM fhir_resources o
      WHERE o.source = $1 AND o.resource_type = n.resource_type AND o.id = n.id AND o.patient_id <> n.patient_id OFFSET 0
    ) o`;
}

/** The resources moved to another patient among the keys of a batch COPYed straight into fhir_resources. */
const MOVED_SQL = `SELECT coalesce(json_agg(json_build_array(resource_type, id, new_patient_id, old_patient_id, new_is_older)), '[]') AS moved
  FROM (${movedSql(`${KEYS_TABLE} n`)}) m`;

/**
 * The upsert of a staged batch, and in the same statement the search for resources that moved to another patient:
 * a newly inserted key (not a Patient, whose key is its own id) whose resource is also stored under another
 * patient. Only inserted rows are probed (a batch of updates probes nothing), one index lookup each (the lateral
 * subquery with OFFSET 0 keeps it so whatever the statistics say), and none when $3 is false (the source was
 * empty when the run began: no copy predates it). The probe does not see this statement's own inserts, which are
 * all under their new patient. The pairs found (rare) come back for MOVED_DELETE_SQL.
 */
const UPSERT_SQL = `WITH up AS (
    INSERT INTO fhir_resources AS f (source, patient_id, resource_type, id, version_id, last_updated, content_hash, deleted, resource, sync_run_id, received_at)
    SELECT $1, s.patient_id, s.resource_type, s.id, s.version_id, s.last_updated, s.content_hash, false, s.resource, $2, now() FROM ${STAGE_TABLE} s
    ON CONFLICT (source, patient_id, resource_type, id) DO UPDATE SET
      version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, content_hash = EXCLUDED.content_hash, deleted = false,
      resource = EXCLUDED.resource, sync_run_id = EXCLUDED.sync_run_id, received_at = EXCLUDED.received_at
    WHERE (f.content_hash <> EXCLUDED.content_hash OR f.deleted) AND NOT ${olderSql("EXCLUDED", "f")}
    RETURNING f.patient_id, f.resource_type, f.id, f.version_id, f.last_updated, (f.xmax = 0) AS inserted
  ), moved AS (
    ${movedSql("up n")}
    WHERE $3 AND n.inserted AND n.resource_type <> 'Patient'
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated,
    coalesce(array_agg(DISTINCT patient_id) FILTER (WHERE patient_id <> ''), '{}') AS patients,
    coalesce(array_agg(id) FILTER (WHERE resource_type = 'Medication' AND patient_id = ''), '{}') AS medications,
    coalesce(array_agg(id) FILTER (WHERE resource_type = 'Patient'), '{}') AS patient_ids,
    (SELECT coalesce(json_agg(json_build_array(resource_type, id, new_patient_id, old_patient_id, new_is_older)), '[]') FROM moved) AS moved
  FROM up`;

/**
 * Removes the losing copies of moved resources (rows named by patient, type and id): the stale copy under the old
 * patient, or the new copy when it was the older one.
 */
const MOVED_DELETE_SQL = `WITH d AS (
    SELECT DISTINCT * FROM unnest($2::text[], $3::text[], $4::text[]) AS d(patient_id, resource_type, id)
  ), removed AS (
    DELETE FROM fhir_resources f USING d
    WHERE f.source = $1 AND f.patient_id = d.patient_id AND f.resource_type = d.resource_type AND f.id = d.id
    RETURNING f.patient_id
  )
  SELECT coalesce(array_agg(DISTINCT patient_id) FILTER (WHERE patient_id <> ''), '{}') AS patients FROM removed`;

/**
 * Marks changed patients dirty and mirrors the display fields of Patient resources that changed, in one statement
 * in patient id order at the end of an ingest call: concurrent file transactions then lock patients rows briefly
 * and in the same order (no deadlock). A display field the incoming Patient lacks keeps its stored value. Every
 * change (resources stored, moved or deleted, a referenced Medication changed: all come here) gives the patient a
 * new data_version from the column's sequence, in the same transaction as the change: a stamp that never repeats,
 * unlike data_changed_at (two ingest transactions can share a millisecond). A prepared input (prepared_patients) is
 * used only while it carries the current stamp.
 */
const PATIENTS_SQL = `INSERT INTO patients AS p (source, id, display_name, birth_date, sex, dirty, data_changed_at, updated_at)
  SELECT $1, d.id, d.display_name, d.birth_date, d.sex, true, now(), now()
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS d(id, display_name, birth_date, sex)
  ORDER BY d.id
  ON CONFLICT (source, id) DO UPDATE SET dirty = true, data_changed_at = now(), updated_at = now(),
    data_version = nextval(pg_get_serial_sequence('patients', 'data_version')),
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

/** A resource found under another patient than its new copy: [type, id, new patient, old patient, new copy is the older]. */
type MovedPair = [string, string, string, string, boolean];

interface UpsertResult {
  inserted: number;
  updated: number;
  patients: string[];
  medications: string[];
  patient_ids: string[];
  moved: MovedPair[];
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
        // text cannot hold NUL (a server's diagnostics may); everything else is kept as received.
        issues.map((item) => item.issue.detail.replace(/\u0000/g, "\uFFFD")),
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

/**
 * One batch of rows to store, de-duplicated by type/id (the newer copy of a resource seen twice stays), and
 * encoded for COPY as it fills, so the batch streams to PostgreSQL while it is still being parsed.
 */
class Batch {
  readonly rows: ResourceRow[] = [];
  readonly lines: string[] = [];
  bytes = 0;
  /** Copies of a resource already in the batch. The streamed chunks then hold both: see deduplicatedChunks(). */
  duplicates = 0;
  /** COPY data of the rows as they were added; complete once the batch is sealed. */
  readonly chunks: Buffer[] = [];
  private readonly index = new Map<string, Map<string, number>>();
  private readonly encoder: CopyRowEncoder;
  private sealed = false;
  private failure: { error: unknown } | null = null;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly source: string,
    private readonly runId: bigint,
  ) {
    this.encoder = new CopyRowEncoder(source, runId, (chunk) => {
      this.chunks.push(chunk);
      this.notify();
    });
  }

  add(row: ResourceRow, line: string): void {
    this.bytes += line.length;
    let ids = this.index.get(row.resourceType);
    if (!ids) this.index.set(row.resourceType, (ids = new Map()));
    const existing = ids.get(row.id);
    if (existing === undefined) {
      ids.set(row.id, this.rows.length);
      this.rows.push(row);
      this.lines.push(line);
      this.encoder.add(row, line);
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

  get isSealed(): boolean {
    return this.sealed;
  }

  /** No more rows: the last chunk is handed on. */
  seal(): void {
    this.encoder.end();
    this.sealed = true;
    this.notify();
  }

  /** The lines stopped coming (the caller's iterator failed): whoever waits on this batch gets the error. */
  abort(error: unknown): void {
    this.failure ??= { error };
    this.notify();
  }

  /** Resolves once there is something to store (a first chunk) or the batch is sealed. */
  async started(): Promise<void> {
    while (this.chunks.length === 0 && !this.sealed) await this.changed();
  }

  async whenSealed(): Promise<void> {
    while (!this.sealed) await this.changed();
  }

  /** The COPY data as it is encoded, until the batch is sealed. */
  async *stream(): AsyncGenerator<Buffer> {
    for (let next = 0; ; ) {
      if (next < this.chunks.length) yield this.chunks[next++]!;
      else if (this.sealed) return;
      else await this.changed();
    }
  }

  /** The COPY data of the rows as de-duplicated (a rare case: an export lists each resource once). */
  deduplicatedChunks(): Buffer[] {
    const chunks: Buffer[] = [];
    const encoder = new CopyRowEncoder(this.source, this.runId, (chunk) => chunks.push(chunk));
    for (let i = 0; i < this.rows.length; i++) encoder.add(this.rows[i]!, this.lines[i]!);
    encoder.end();
    return chunks;
  }

  /** Resolves at the next chunk, seal or abort; rejects once aborted. */
  private changed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private notify(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "23505";
}

async function copyChunks(client: pg.PoolClient, sql: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
  await pipeline(chunks, client.query(copyFrom(sql)));
}

/**
 * COPYs a batch as it is parsed; when a resource came twice, `restart` undoes what was COPYed and the
 * de-duplicated rows are COPYed instead.
 */
async function copyBatch(client: pg.PoolClient, sql: string, batch: Batch, restart: () => Promise<unknown>): Promise<void> {
  if (!(batch.isSealed && batch.duplicates > 0)) {
    await copyChunks(client, sql, batch.stream());
    if (batch.duplicates === 0) return;
    await restart();
  }
  await copyChunks(client, sql, batch.deduplicatedChunks());
}

/**
 * Stores the batches of one ingest call in order on the caller's connection, each one streamed while the lines
 * are still being parsed into it: straight COPY on a first load, else COPY to staging and upsert.
 */
class BatchStore {
  /** Storing of the batch before the open one, and of the open one (after the one before it). */
  private previous: Promise<void> = Promise.resolve();
  private current: Promise<void> = Promise.resolve();
  private open: Batch | null = null;
  /**
   * COPY straight into fhir_resources (a plain insert, the cheapest by far), until a stored copy of a key turns up:
   * then this batch and the rest of the call take the staging table and the upsert.
   */
  private direct = true;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly source: string,
    private readonly runId: bigint,
    private readonly tally: IngestTally,
    /** The source was empty when the sync began (a first load): no resource can have moved from a stored copy. */
    private readonly initialLoad: boolean,
  ) {}

  /** Whether the next batch goes into the staging table (and should fit in temp_buffers). */
  get staged(): boolean {
    return !this.direct;
  }

  /** A new batch to fill, stored as soon as the one before it is stored. */
  next(): Batch {
    const batch = new Batch(this.source, this.runId);
    this.open = batch;
    this.previous = this.current;
    this.current = this.previous.then(() => this.store(batch));
    // Awaited later; a failure is raised there, not as an unhandled rejection.
    this.current.catch(() => undefined);
    return batch;
  }

  /** Seals the open batch and, once the batch before it is stored (two batches in memory at most), opens the next. */
  async rollOver(): Promise<Batch> {
    this.open?.seal();
    await this.previous;
    return this.next();
  }

  /** Seals the open batch and waits until everything is stored. */
  async finish(): Promise<void> {
    this.open?.seal();
    await this.current;
  }

  /** After a failure: stops the open batch and lets what is being stored finish or fail (the caller rolls back). */
  async abort(error: unknown): Promise<void> {
    this.open?.abort(error);
    await this.current.catch(() => undefined);
  }

  private async store(batch: Batch): Promise<void> {
    await batch.started();
    if (batch.size > 0) {
      let stored = false;
      if (this.direct) {
        stored = await this.storeDirect(batch);
        this.direct = stored;
      }
      if (!stored) await this.storeStaged(batch);
      this.tally.counts.unchanged += batch.duplicates;
    }
    if (this.tally.issueCount >= ISSUE_FLUSH) await this.tally.flushIssues();
  }

  /**
   * COPY straight into fhir_resources under a savepoint; false (and rolled back) when a stored copy conflicts.
   * Unless the source was empty when the sync began, the new keys are then searched for a resource that moved.
   */
  private async storeDirect(batch: Batch): Promise<boolean> {
    const client = this.client;
    const rollback = () => client.query("ROLLBACK TO SAVEPOINT ejm_ingest_direct");
    await client.query("SAVEPOINT ejm_ingest_direct");
    try {
      try {
        await copyBatch(client, DIRECT_COPY_SQL, batch, rollback);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        await rollback();
        await batch.whenSealed();
        // The conflict may be the batch's own second copy of a resource: try once more with the rows de-duplicated.
        if (batch.duplicates === 0) return false;
        await copyChunks(client, DIRECT_COPY_SQL, batch.deduplicatedChunks());
      }
      await client.query("RELEASE SAVEPOINT ejm_ingest_direct");
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      await rollback();
      return false;
    }
    let moved = { droppedNew: 0, movedFrom: [] as string[] };
    // Patients are not searched (their key is their own id): a file of Patients needs no search.
    if (!this.initialLoad && batch.rows.some((row) => row.resourceType !== "Patient")) {
      await this.tally.ensureStage();
      await client.query(`TRUNCATE ${KEYS_TABLE}`);
      await copyChunks(client, KEYS_COPY_SQL, [encodeCopyKeys(batch.rows)]);
      const { rows } = await client.query<{ moved: MovedPair[] }>(MOVED_SQL, [this.source]);
      moved = await this.removeMoved(rows[0]?.moved ?? []);
    }
    const tally = this.tally;
    tally.counts.inserted += batch.size - moved.droppedNew;
    tally.counts.unchanged += moved.droppedNew;
    for (const row of batch.rows) {
      if (row.resourceType === "Medication" && row.patientId === "") tally.changedMedications.add(row.id);
      tally.noteDisplay(row);
    }
    tally.markDirty(moved.movedFrom);
    tally.markDirty(batch.rows.map((row) => row.patientId));
    return true;
  }

  /**
   * Of each moved resource the newer copy stays: the stale copy under the old patient goes, or the new copy when
   * it was the older. Returns how many new copies went, and the patients rows were removed from.
   */
  private async removeMoved(moved: MovedPair[]): Promise<{ droppedNew: number; movedFrom: string[] }> {
    if (moved.length === 0) return { droppedNew: 0, movedFrom: [] };
    const losers = moved.map(([type, id, newPatient, oldPatient, newIsOlder]) => ({ type, id, patient: newIsOlder ? newPatient : oldPatient }));
    const removed = await this.client.query<{ patients: string[] }>(MOVED_DELETE_SQL, [
      this.source,
      losers.map((loser) => loser.patient),
      losers.map((loser) => loser.type),
      losers.map((loser) => loser.id),
    ]);
    return {
      droppedNew: new Set(moved.filter((pair) => pair[4]).map(([type, id]) => `${type}/${id}`)).size,
      movedFrom: removed.rows[0]?.patients ?? [],
    };
  }

  /** COPY into the session's staging table, then one upsert statement (and, when a resource moved, one delete). */
  private async storeStaged(batch: Batch): Promise<void> {
    const client = this.client;
    const tally = this.tally;
    await tally.ensureStage();
    const empty = () => client.query(`TRUNCATE ${STAGE_TABLE}`);
    await empty();
    await copyBatch(client, STAGE_COPY_SQL, batch, empty);
    const upsert = await client.query<UpsertResult>(UPSERT_SQL, [this.source, this.runId.toString(), !this.initialLoad]);
    const result = upsert.rows[0] ?? { inserted: 0, updated: 0, patients: [], medications: [], patient_ids: [], moved: [] };
    const { droppedNew, movedFrom } = await this.removeMoved(result.moved);
    tally.counts.inserted += result.inserted - droppedNew;
    tally.counts.updated += result.updated;
    tally.counts.unchanged += batch.size - result.inserted - result.updated + droppedNew;
    const storedPatients = new Set(result.patient_ids);
    for (const row of batch.rows) if (row.patient && storedPatients.has(row.id)) tally.noteDisplay(row);
    for (const id of result.medications) tally.changedMedications.add(id);
    tally.markDirty(movedFrom);
    tally.markDirty(result.patients);
  }
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
  const store = new BatchStore(client, source, runId, tally, options.initialLoad === true);
  let batch = store.next();
  let chunks = 0;
  const rollOver = async (): Promise<void> => {
    batch = await store.rollOver();
    chunks = 0;
  };
  try {
    for await (const line of lines) {
      const lineNumber = ++tally.lines;
      if (isBlank(line)) continue;
      const parsed = parseResourceLine(line);
      if (!parsed.ok) {
        tally.addIssue(lineNumber, parsed.issue, line);
        // Issues are written between batches: a file of bad lines rolls over too, so they do not pile up in memory.
        if (tally.issueCount >= ISSUE_FLUSH) await rollOver();
        continue;
      }
      tally.resources[parsed.row.resourceType] = (tally.resources[parsed.row.resourceType] ?? 0) + 1;
      batch.add(parsed.row, line);
      const bytes = store.staged ? batch.bytes + STAGED_ROW_OVERHEAD * batch.size : batch.bytes;
      if (batch.size >= batchLines || bytes >= (store.staged ? MAX_STAGED_BYTES : MAX_BATCH_BYTES)) await rollOver();
      else if (batch.chunks.length !== chunks) {
        // A chunk is ready: let the socket take it even when the lines come without waiting on I/O.
        chunks = batch.chunks.length;
        await nextMacrotask();
      }
    }
    await store.finish();
  } catch (error) {
    await store.abort(error);
    throw error;
  }
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
 * A patient's stored resources as read, not yet parsed: the JSON array text of its own resources and the parsed
 * Medications they reference. The evaluation parses each patient just before evaluating it, so a batch's objects
 * die young (parsing a whole batch up front promoted them all to the old generation: a fifth of the time in GC).
 */
export interface StoredPatientResources {
  /** JSON array of the patient's own resources ("[]" when none). */
  json: string;
  /**
   * patients.data_version read in the same statement (snapshot) as the resources, as text; absent when the patient
   * has no stored resource or no patients row. Medications are read after it: a change to one in between only
   * makes the stamp older than the data, so a preparation stamped with it is redone, never kept stale.
   */
  dataVersion?: string;
  /** Medications (patient_id "") referenced by the patient's medication resources. */
  medications: Resource[];
}

/** The resources of a StoredPatientResources, parsed. */
export function parseStoredResources(stored: StoredPatientResources): Resource[] {
  const resources = JSON.parse(stored.json) as Resource[];
  for (const medication of stored.medications) resources.push(medication);
  return resources;
}

/**
 * The stored (not deleted) resources of the given patients, unparsed, plus the Medications (patient_id "") their
 * medication resources reference, by patient id. Every requested patient has an entry (empty when nothing is stored).
 */
export async function loadStoredPatientResources(pool: pg.Pool, source: string, patientIds: string[]): Promise<Map<string, StoredPatientResources>> {
  const byPatient = new Map<string, StoredPatientResources>(patientIds.map((id) => [id, { json: "[]", medications: [] }]));
  if (patientIds.length === 0) return byPatient;
  // One JSON array per patient: a row per patient instead of per resource (a third of the time). The medication
  // references are read here so the arrays need no parsing until each patient is evaluated.
  const { rows } = await pool.query<{ patient_id: string; resources: string; medication_refs: string[] | null; data_version: string | null }>(
    `SELECT patient_id, '[' || string_agg(resource::text, ',' ORDER BY resource_type, id) || ']' AS resources,
            array_agg(resource->'medicationReference'->>'reference') FILTER (WHERE resource_type = ANY($3::text[])) AS medication_refs,
            (SELECT p.data_version::text FROM patients p WHERE p.source = $1 AND p.id = fhir_resources.patient_id) AS data_version
       FROM fhir_resources
      WHERE source = $1 AND patient_id = ANY($2::text[]) AND NOT deleted
      GROUP BY patient_id`,
    [source, patientIds, MEDICATION_USER_TYPES],
  );
  const medicationUsers = new Map<string, Set<string>>();
  for (const row of rows) {
    byPatient.set(row.patient_id, row.data_version === null ? { json: row.resources, medications: [] } : { json: row.resources, dataVersion: row.data_version, medications: [] });
    for (const reference of row.medication_refs ?? []) {
      const medicationId = medicationIdFromReference(reference);
      if (!medicationId) continue;
      const users = medicationUsers.get(medicationId) ?? new Set<string>();
      users.add(row.patient_id);
      medicationUsers.set(medicationId, users);
    }
  }
  if (medicationUsers.size === 0) return byPatient;
  const medications = await pool.query<{ id: string; resource: Resource }>(
    `SELECT id, resource FROM fhir_resources
     WHERE source = $1 AND patient_id = '' AND resource_type = 'Medication' AND id = ANY($2::text[]) AND NOT deleted`,
    [source, [...medicationUsers.keys()]],
  );
  for (const medication of medications.rows) {
    for (const patientId of medicationUsers.get(medication.id) ?? []) byPatient.get(patientId)?.medications.push(medication.resource);
  }
  return byPatient;
}

/**
 * The stored (not deleted) resources of the given patients, plus the Medications (patient_id "") their medication
 * resources reference, by patient id. Every requested patient has an entry (empty when nothing is stored).
 */
export async function loadPatientResources(pool: pg.Pool, source: string, patientIds: string[]): Promise<Map<string, Resource[]>> {
  const stored = await loadStoredPatientResources(pool, source, patientIds);
  return new Map([...stored].map(([id, resources]) => [id, parseStoredResources(resources)]));
}
