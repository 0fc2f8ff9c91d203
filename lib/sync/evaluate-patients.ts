/**
 * Evaluates synced patients with the same engine as the EHR launch and stores the panel's rows
 * (evaluation-row.ts, lib/db/evaluation-store.ts). Three ways in: the patients whose data changed (dirty),
 * everyone (the nightly run, as verdicts change when windows close), or a list of ids (a new code mapping).
 * Work goes in batches (~500 patients): the next batch is read while the current one is evaluated and
 * written, memory holds at most two batches, and each batch is written in one transaction.
 */
import type { Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { evaluatePatient, RULES_VERSION } from "../clinical";
import type { CodeMapping } from "../clinical/types";
import { writeEvaluations, type EvaluatedPatient } from "../db/evaluation-store";
import { loadPatientResources } from "../db/resource-store";
import { clinicToday } from "../app/clinic-today";
import { evaluationRows, findPatient } from "./evaluation-row";

export type LoadResources = (pool: pg.Pool, source: string, patientIds: string[]) => Promise<Map<string, Resource[]>>;

export interface EvaluatePatientsOptions {
  /** The evaluation date (YYYY-MM-DD); default clinicToday(). */
  asOf?: string;
  /** Patients per batch and transaction (default 500). */
  batchSize?: number;
  /** Called after each committed batch with the number of patients evaluated so far. */
  onProgress?: (done: number) => void;
  /** Checked between batches: an aborted run stops after the batch in hand and rejects. */
  signal?: AbortSignal;
  /** Reads the patients' resources; default loadPatientResources (lib/db/resource-store.ts). */
  loadResources?: LoadResources;
}

const DEFAULT_BATCH = 500;
/** A write that lost a deadlock or lock wait to an ingest is retried this many times. */
const WRITE_ATTEMPTS = 4;
const RETRYABLE_SQLSTATES = new Set(["40P01", "40001", "55P03"]);

interface PatientRef {
  id: string;
  dataChangedAt: Date | null;
}

interface Batch {
  source: string;
  patients: PatientRef[];
  resources: Map<string, Resource[]>;
}

interface Settings {
  asOf: string;
  batchSize: number;
  codeMappings: CodeMapping[];
  load: LoadResources;
}

async function settings(pool: pg.Pool, options: EvaluatePatientsOptions): Promise<Settings> {
  const { rows } = await pool.query<{ system: string; code: string; concept: string; display: string | null }>(
    "SELECT system, code, concept, display FROM code_mappings ORDER BY id",
  );
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
  return {
    asOf: options.asOf ?? clinicToday(),
    batchSize,
    codeMappings: rows.map((r) => (r.display === null ? { system: r.system, code: r.code, concept: r.concept } : { ...r, display: r.display })),
    load: options.loadResources ?? loadPatientResources,
  };
}

function evaluateBatch(batch: Batch, s: Settings): EvaluatedPatient[] {
  return batch.patients.map(({ id, dataChangedAt }) => {
    const resources = batch.resources.get(id) ?? [];
    const evaluation = evaluatePatient(resources, { asOf: s.asOf, patientId: id, codeMappings: s.codeMappings, details: false });
    const rows = evaluationRows(evaluation, { source: batch.source, asOf: s.asOf, rulesVersion: RULES_VERSION, patient: findPatient(resources, id), resources });
    return { rows, dataChangedAt };
  });
}

async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function sqlState(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined;
}

/** Evaluates and writes a batch read without locks; the write takes the patients' locks in id order. */
async function evaluateAndWrite(pool: pg.Pool, batch: Batch, s: Settings): Promise<number> {
  const evaluated = evaluateBatch(batch, s);
  for (let attempt = 1; ; attempt++) {
    try {
      await withTransaction(pool, (client) => writeEvaluations(client, batch.source, evaluated));
      return evaluated.length;
    } catch (error) {
      if (attempt >= WRITE_ATTEMPTS || !RETRYABLE_SQLSTATES.has(sqlState(error) ?? "")) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/**
 * Runs batches with one read ahead: `next` (the read of batch N+1) is in flight while `handle` evaluates and
 * writes batch N. `discard` releases a batch read ahead that will not be handled.
 */
async function readAhead<B>(next: () => Promise<B | null>, handle: (batch: B) => Promise<void>, discard: (batch: B) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let pending: Promise<B | null> = next();
  pending.catch(() => undefined);
  for (;;) {
    const batch = await pending;
    if (batch === null) return;
    if (signal?.aborted) {
      await discard(batch);
      signal.throwIfAborted();
    }
    pending = next();
    // Handled below; without this a read failing while the batch is written would be an unhandled rejection.
    pending.catch(() => undefined);
    try {
      await handle(batch);
    } catch (error) {
      await pending.then((b) => (b === null ? undefined : discard(b))).catch(() => undefined);
      throw error;
    }
  }
}

async function readRefs(pool: pg.Pool, source: string, ids: string[]): Promise<PatientRef[]> {
  const { rows } = await pool.query<{ id: string; data_changed_at: Date | null }>(
    "SELECT id, data_changed_at FROM patients WHERE source = $1 AND id = ANY($2::text[]) ORDER BY id",
    [source, ids],
  );
  return rows.map((r) => ({ id: r.id, dataChangedAt: r.data_changed_at }));
}

/**
 * Evaluates the source's dirty patients until none is left. Each batch is picked with FOR UPDATE
 * and written in the same transaction, so several workers split the work without evaluating anyone twice.
 * Returns the number of patients evaluated.
 */
export async function evaluateDirtyPatients(pool: pg.Pool, sourceId: string, options: EvaluatePatientsOptions = {}): Promise<number> {
  const s = await settings(pool, options);
  let done = 0;
  type DirtyBatch = Batch & { client: pg.PoolClient };
  const release = async (batch: DirtyBatch, commit: boolean) => {
    try {
      await batch.client.query(commit ? "COMMIT" : "ROLLBACK");
    } finally {
      batch.client.release();
    }
  };
  const next = async (): Promise<DirtyBatch | null> => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string; data_changed_at: Date | null }>(
        "SELECT id, data_changed_at FROM patients WHERE source = $1 AND dirty ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        [sourceId, s.batchSize],
      );
      if (rows.length === 0) {
        await client.query("COMMIT");
        client.release();
        return null;
      }
      const patients = rows.map((r) => ({ id: r.id, dataChangedAt: r.data_changed_at }));
      const resources = await s.load(pool, sourceId, patients.map((p) => p.id));
      return { source: sourceId, patients, resources, client };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      client.release();
      throw error;
    }
  };
  // A patient whose data changed while it was evaluated stays dirty; a second pass picks it up.
  for (let pass = 0; pass < 3; pass++) {
    let uncleared = 0;
    await readAhead(
      next,
      async (batch) => {
        try {
          const result = await writeEvaluations(batch.client, sourceId, evaluateBatch(batch, s));
          await release(batch, true);
          uncleared += result.written - result.cleared;
          done += result.written;
        } catch (error) {
          await release(batch, false).catch(() => undefined);
          throw error;
        }
        options.onProgress?.(done);
      },
      (batch) => release(batch, false),
      options.signal,
    );
    if (uncleared === 0) break;
  }
  return done;
}

async function sourcesWithPatients(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ source: string }>("SELECT DISTINCT source FROM patients ORDER BY source");
  return rows.map((r) => r.source);
}

/**
 * Evaluates every synced patient of a source (or of all sources when `sourceId` is null), paging by id
 * (keyset), so memory stays flat however many patients there are. Returns the number evaluated.
 */
export async function evaluateAllPatients(pool: pg.Pool, sourceId: string | null, options: EvaluatePatientsOptions = {}): Promise<number> {
  const s = await settings(pool, options);
  const sources = sourceId === null ? await sourcesWithPatients(pool) : [sourceId];
  let done = 0;
  for (const source of sources) {
    let after = "";
    const next = async (): Promise<Batch | null> => {
      const { rows } = await pool.query<{ id: string; data_changed_at: Date | null }>(
        "SELECT id, data_changed_at FROM patients WHERE source = $1 AND id > $2 ORDER BY id LIMIT $3",
        [source, after, s.batchSize],
      );
      if (rows.length === 0) return null;
      after = rows[rows.length - 1]!.id;
      const patients = rows.map((r) => ({ id: r.id, dataChangedAt: r.data_changed_at }));
      return { source, patients, resources: await s.load(pool, source, patients.map((p) => p.id)) };
    };
    await readAhead(
      next,
      async (batch) => {
        done += await evaluateAndWrite(pool, batch, s);
        options.onProgress?.(done);
      },
      async () => undefined,
      options.signal,
    );
  }
  return done;
}

/** Evaluates the given patients of a source (ids not synced are passed over). Returns the number evaluated. */
export async function evaluatePatientsById(pool: pg.Pool, sourceId: string, patientIds: readonly string[], options: EvaluatePatientsOptions = {}): Promise<number> {
  const s = await settings(pool, options);
  const ids = [...new Set(patientIds)].sort();
  let offset = 0;
  let done = 0;
  const next = async (): Promise<Batch | null> => {
    while (offset < ids.length) {
      const chunk = ids.slice(offset, offset + s.batchSize);
      offset += chunk.length;
      const patients = await readRefs(pool, sourceId, chunk);
      if (patients.length > 0) return { source: sourceId, patients, resources: await s.load(pool, sourceId, patients.map((p) => p.id)) };
    }
    return null;
  };
  await readAhead(
    next,
    async (batch) => {
      done += await evaluateAndWrite(pool, batch, s);
      options.onProgress?.(done);
    },
    async () => undefined,
    options.signal,
  );
  return done;
}
