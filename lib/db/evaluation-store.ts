/**
 * Writes evaluation rows for a batch of synced patients in one round of set-based statements: delete + insert
 * of their checkpoint, lab, flag and report-case rows, the patients' display fields and dirty flag, the prepared inputs
 * of those evaluated from their resources (prepared_patients), and last an upsert of the `evaluations` rows. Rows travel as one JSON document per table (jsonb_to_recordset), so a batch of 500
 * patients is a handful of statements whatever its size. The caller owns the transaction. A patient whose rows
 * are the stored ones but for the evaluation date (content_hash; most patients on a nightly run) keeps them: only
 * its as_of and evaluated_at move.
 *
 * evaluations.evaluated_at is a commit-ordered stamp: the upsert runs under a transaction-level advisory lock
 * that every writer takes and holds until it commits, and stamps greatest(clock, max(evaluated_at) + 1 ms). So a
 * batch that commits later always carries a later stamp than every batch committed before it, even when its
 * transaction began first (two workers); the panel's summary cache (lib/panel/queries.ts) relies on
 * (max(evaluated_at), count) changing with every write. Needs READ COMMITTED (the default), whose statement
 * snapshot is taken after the lock is granted.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { EvaluationRows } from "../sync/evaluation-row";

export interface EvaluatedPatient {
  rows: EvaluationRows;
  /**
   * patients.data_changed_at as read before the patient's resources were loaded (null when never set).
   * The patient stays dirty when the column has moved since: a change that arrived meanwhile is not lost.
   */
  dataChangedAt: Date | null;
  /** The patient's prepared input to store (prepared_patients), when it was evaluated from resources read here. */
  prepared?: PreparedRow;
}

/** A prepared_patients row (lib/sync/evaluate-patients.ts reads and makes them). */
export interface PreparedRow {
  /** patients.data_version read with the resources it was prepared from (bigint as text). */
  dataVersion: string;
  mappingsHash: string;
  version: number;
  /** Compact JSON. */
  body: string;
}

export interface WriteResult {
  /** Evaluations written. */
  written: number;
  /** Patients whose dirty flag was cleared. */
  cleared: number;
}

const EVALUATION_COLUMNS: Array<[column: string, key: string, type: string]> = [
  ["patient_id", "patientId", "text"],
  ["as_of", "asOf", "text"],
  ["rules_version", "rulesVersion", "text"],
  ["patient_name", "patientName", "text"],
  ["birth_date", "birthDate", "text"],
  ["sex", "sex", "text"],
  ["on_jak", "onJak", "boolean"],
  ["course_count", "courseCount", "integer"],
  ["course_index", "courseIndex", "integer"],
  ["drug", "drug", "text"],
  ["route", "route", "text"],
  ["course_start", "courseStart", "text"],
  ["course_end", "courseEnd", "text"],
  ["course_week", "courseWeek", "integer"],
  ["prescriber", "prescriber", "text"],
  ["latest_checkpoint_week", "latestCheckpointWeek", "integer"],
  ["latest_verdict", "latestVerdict", "text"],
  ["next_due_date", "nextDueDate", "text"],
  ["next_due_kind", "nextDueKind", "text"],
  ["next_checkpoint_date", "nextCheckpointDate", "text"],
  ["flags_critical", "flagsCritical", "integer"],
  ["flags_warning", "flagsWarning", "integer"],
  ["flags_info", "flagsInfo", "integer"],
  ["max_severity", "maxSeverity", "text"],
  ["flag_kinds", "flagKinds", "text[]"],
  ["flag_counts", "flagCounts", "jsonb"],
  ["labs_missing", "labsMissing", "integer"],
  ["labs_overdue", "labsOverdue", "integer"],
  ["labs_due", "labsDue", "integer"],
  ["labs_abnormal", "labsAbnormal", "integer"],
  ["data_quality_count", "dataQualityCount", "integer"],
  ["result", "result", "jsonb"],
  ["content_hash", "contentHash", "text"],
];

const CHECKPOINT_COLUMNS: Array<[string, string, string]> = [
  ["patient_id", "patientId", "text"],
  ["course_index", "courseIndex", "integer"],
  ["week", "week", "integer"],
  ["drug", "drug", "text"],
  ["route", "route", "text"],
  ["course_start", "courseStart", "text"],
  ["window_start", "windowStart", "text"],
  ["window_end", "windowEnd", "text"],
  ["after_course_end", "afterCourseEnd", "boolean"],
  ["verdict", "verdict", "text"],
  ["easi_status", "easiStatus", "text"],
  ["easi_baseline", "easiBaseline", "double precision"],
  ["easi_value", "easiValue", "double precision"],
  ["easi_percent", "easiPercent", "double precision"],
  ["easi_band", "easiBand", "text"],
  ["iga_criterion", "igaCriterion", "text"],
  ["iga_status", "igaStatus", "text"],
  ["iga_baseline", "igaBaseline", "double precision"],
  ["iga_value", "igaValue", "double precision"],
  ["itch_status", "itchStatus", "text"],
  ["itch_baseline", "itchBaseline", "double precision"],
  ["itch_value", "itchValue", "double precision"],
  ["pain_status", "painStatus", "text"],
  ["pain_baseline", "painBaseline", "double precision"],
  ["pain_value", "painValue", "double precision"],
];

const LAB_COLUMNS: Array<[string, string, string]> = [
  ["patient_id", "patientId", "text"],
  ["course_index", "courseIndex", "integer"],
  ["requirement", "requirement", "text"],
  ["drug", "drug", "text"],
  ["status", "status", "text"],
  ["due_by", "dueBy", "text"],
  ["done_on", "doneOn", "text"],
];

const FLAG_COLUMNS: Array<[string, string, string]> = [
  ["patient_id", "patientId", "text"],
  ["seq", "seq", "integer"],
  ["rule_id", "ruleId", "text"],
  ["kind", "kind", "text"],
  ["severity", "severity", "text"],
  ["message", "message", "text"],
  ["rule_source", "ruleSource", "text"],
  ["resource", "resource", "text"],
  ["course_index", "courseIndex", "integer"],
  ["requirement", "requirement", "text"],
  ["week", "week", "integer"],
];

const REPORT_CASE_COLUMNS: Array<[string, string, string]> = [
  ["patient_id", "patientId", "text"],
  ["measure_id", "measureId", "text"],
  ["case_no", "caseNo", "integer"],
  ["course_index", "courseIndex", "integer"],
  ["drug", "drug", "text"],
  ["route", "route", "text"],
  ["course_start", "courseStart", "text"],
  ["prescriber", "prescriber", "text"],
  ["case_date", "caseDate", "text"],
  ["stratum", "stratum", "text"],
  ["item", "item", "text"],
  ["in_numerator", "inNumerator", "boolean"],
  ["excluded_reason", "excludedReason", "text"],
];

const REPORT_NOTE_COLUMNS: Array<[string, string, string]> = [
  ["patient_id", "patientId", "text"],
  ["measure_id", "measureId", "text"],
  ["note_no", "noteNo", "integer"],
  ["resource", "resource", "text"],
  ["issue", "issue", "text"],
];

/**
 * INSERT INTO table (source, cols..., extra) SELECT $1, r.cols..., extra FROM jsonb_to_recordset($2) AS r(keys
 * types) [, from].
 */
function insertSql(table: string, columns: Array<[string, string, string]>, extra?: { column: string; value: string; from: string }): string {
  const target = ["source", ...columns.map(([c]) => c), ...(extra ? [extra.column] : [])].join(", ");
  const select = ["$1", ...columns.map(([, key]) => `r."${key}"`), ...(extra ? [extra.value] : [])].join(", ");
  const record = columns.map(([, key, type]) => `"${key}" ${type}`).join(", ");
  return `INSERT INTO ${table} (${target}) SELECT ${select} FROM jsonb_to_recordset($2::jsonb) AS r(${record})${extra ? `, ${extra.from}` : ""}`;
}

/** Advisory lock (two-int key space) that orders evaluation writers' stamps by commit. */
const EVALUATION_STAMP_LOCK = "SELECT pg_advisory_xact_lock(hashtext('ejm.evaluation-stamp'), 0)";

// Later than every committed stamp (read after the lock, so every earlier holder has committed); the 1 ms
// keeps it strictly later at the column's millisecond precision and if the clock steps back.
const STAMP = `(SELECT greatest(clock_timestamp(), max(evaluated_at) + interval '1 millisecond') AS at FROM evaluations) AS stamp`;

const UPSERT_EVALUATIONS =
  `${insertSql("evaluations", EVALUATION_COLUMNS, { column: "evaluated_at", value: "stamp.at", from: STAMP })} ON CONFLICT (source, patient_id) DO UPDATE SET ` +
  [...EVALUATION_COLUMNS.slice(1).map(([c]) => `${c} = EXCLUDED.${c}`), "evaluated_at = EXCLUDED.evaluated_at"].join(", ");
const INSERT_CHECKPOINTS = insertSql("evaluation_checkpoints", CHECKPOINT_COLUMNS);
const INSERT_LABS = insertSql("evaluation_labs", LAB_COLUMNS);
const INSERT_FLAGS = insertSql("evaluation_flags", FLAG_COLUMNS);
const INSERT_REPORT_CASES = insertSql("report_cases", REPORT_CASE_COLUMNS);
const INSERT_REPORT_NOTES = insertSql("report_notes", REPORT_NOTE_COLUMNS);

// Only rows whose data_changed_at is where it was when the batch was read lose their dirty flag.
const UPDATE_PATIENTS = `
  UPDATE patients AS p SET
    display_name = r."patientName", birth_date = r."birthDate", sex = r.sex, evaluated_at = now(), updated_at = now(),
    dirty = CASE WHEN p.data_changed_at IS NOT DISTINCT FROM r."dataChangedAt" THEN false ELSE p.dirty END
  FROM jsonb_to_recordset($2::jsonb) AS r("patientId" text, "patientName" text, "birthDate" text, sex text, "dataChangedAt" timestamptz)
  WHERE p.source = $1 AND p.id = r."patientId"
  RETURNING (p.dirty = false) AS cleared`;

// A stamp never goes back: a slower writer holding an older preparation does not replace a newer one.
const UPSERT_PREPARED = `INSERT INTO prepared_patients AS pp (source, patient_id, data_version, mappings_hash, prepared_version, body)
  SELECT $1, r.patient_id, r.data_version, r.mappings_hash, r.prepared_version, r.body
  FROM unnest($2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[]) AS r(patient_id, data_version, mappings_hash, prepared_version, body)
  ON CONFLICT (source, patient_id) DO UPDATE SET data_version = EXCLUDED.data_version, mappings_hash = EXCLUDED.mappings_hash,
    prepared_version = EXCLUDED.prepared_version, body = EXCLUDED.body
  WHERE pp.data_version <= EXCLUDED.data_version`;

/**
 * Locks the batch's patients rows in id order. Every writer of a patient's evaluation holds its patients row
 * first, so two evaluators (or an evaluator and an ingest) never take evaluation rows in opposite orders.
 */
export async function lockPatients(client: pg.ClientBase, source: string, patientIds: readonly string[]): Promise<void> {
  await client.query("SELECT 1 FROM patients WHERE source = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE", [source, patientIds]);
}

// Placeholders written where the evaluation row's asOf and content hash go: the hash covers the row without its
// date, then the real values replace them (first occurrence: both keys come before the engine's result).
const AS_OF_MARK = "\u0000as-of";
const HASH_MARK = "\u0000content-hash";
const AS_OF_JSON = JSON.stringify(AS_OF_MARK);
const HASH_JSON = JSON.stringify(HASH_MARK);

interface PatientJson {
  id: string;
  /** The evaluations row as JSON with its asOf and content hash filled in. */
  evaluation: string;
  hash: string;
  checkpoints: string;
  labs: string;
  flags: string;
  reportCases: string;
  reportNotes: string;
}

/** Inner JSON of an array ("[a,b]" -> "a,b"), so batches join without parsing. */
function items(array: readonly unknown[]): string {
  return array.length === 0 ? "" : JSON.stringify(array).slice(1, -1);
}

function joined(patients: readonly PatientJson[], key: "checkpoints" | "labs" | "flags" | "reportCases" | "reportNotes"): string | null {
  const parts = patients.map((p) => p[key]).filter((s) => s !== "");
  return parts.length === 0 ? null : `[${parts.join(",")}]`;
}

/**
 * A patient's rows as JSON, and a hash of everything but the evaluation date: the nightly re-evaluation finds
 * most patients' rows unchanged from the day before and then only moves their date (and stamp).
 */
function patientJson(p: EvaluatedPatient): PatientJson {
  const { evaluation, checkpoints, labs, flags, reportCases, reportNotes } = p.rows;
  const marked = JSON.stringify({ contentHash: HASH_MARK, ...evaluation, asOf: AS_OF_MARK });
  const json = { checkpoints: items(checkpoints), labs: items(labs), flags: items(flags), reportCases: items(reportCases), reportNotes: items(reportNotes) };
  const hash = createHash("sha1").update(marked).update("\n").update(json.checkpoints).update("\n").update(json.labs).update("\n").update(json.flags).update("\n").update(json.reportCases).update("\n").update(json.reportNotes).digest("base64url");
  return {
    id: evaluation.patientId,
    evaluation: marked.replace(HASH_JSON, JSON.stringify(hash)).replace(AS_OF_JSON, JSON.stringify(evaluation.asOf)),
    hash,
    ...json,
  };
}

const UNCHANGED_EVALUATIONS = `
  UPDATE evaluations AS e SET as_of = r."asOf", evaluated_at = stamp.at
  FROM jsonb_to_recordset($2::jsonb) AS r("patientId" text, "asOf" text), ${STAMP}
  WHERE e.source = $1 AND e.patient_id = r."patientId"`;

/** Writes one batch (all of one source) inside the caller's transaction. */
export async function writeEvaluations(client: pg.ClientBase, source: string, batch: readonly EvaluatedPatient[]): Promise<WriteResult> {
  if (batch.length === 0) return { written: 0, cleared: 0 };
  const sorted = [...batch].sort((a, b) => (a.rows.evaluation.patientId < b.rows.evaluation.patientId ? -1 : 1));
  const ids = sorted.map((p) => p.rows.evaluation.patientId);
  for (const p of sorted) if (p.rows.evaluation.source !== source) throw new Error(`writeEvaluations: a row of source "${p.rows.evaluation.source}" in a batch of "${source}"`);
  const json = sorted.map(patientJson);
  await lockPatients(client, source, ids);

  // Rows identical to the stored ones but for the date are not rewritten.
  const { rows: stored } = await client.query<{ patient_id: string; content_hash: string | null }>(
    "SELECT patient_id, content_hash FROM evaluations WHERE source = $1 AND patient_id = ANY($2::text[])",
    [source, ids],
  );
  const storedHash = new Map(stored.map((r) => [r.patient_id, r.content_hash]));
  const changed = json.filter((p) => storedHash.get(p.id) !== p.hash);
  const unchanged = sorted.filter((_, i) => storedHash.get(json[i]!.id) === json[i]!.hash);

  if (changed.length > 0) {
    const changedIds = changed.map((p) => p.id);
    await client.query(
      `WITH c AS (DELETE FROM evaluation_checkpoints WHERE source = $1 AND patient_id = ANY($2::text[])),
            l AS (DELETE FROM evaluation_labs WHERE source = $1 AND patient_id = ANY($2::text[])),
            rc AS (DELETE FROM report_cases WHERE source = $1 AND patient_id = ANY($2::text[])),
            rn AS (DELETE FROM report_notes WHERE source = $1 AND patient_id = ANY($2::text[]))
       DELETE FROM evaluation_flags WHERE source = $1 AND patient_id = ANY($2::text[])`,
      [source, changedIds],
    );
    const inserts: Array<[string, string | null]> = [
      [INSERT_CHECKPOINTS, joined(changed, "checkpoints")],
      [INSERT_LABS, joined(changed, "labs")],
      [INSERT_FLAGS, joined(changed, "flags")],
      [INSERT_REPORT_CASES, joined(changed, "reportCases")],
      [INSERT_REPORT_NOTES, joined(changed, "reportNotes")],
    ];
    for (const [sql, rows] of inserts) if (rows !== null) await client.query(sql, [source, rows]);
  }

  const patients = sorted.map((p) => ({
    patientId: p.rows.evaluation.patientId,
    patientName: p.rows.evaluation.patientName,
    birthDate: p.rows.evaluation.birthDate,
    sex: p.rows.evaluation.sex,
    dataChangedAt: p.dataChangedAt ? p.dataChangedAt.toISOString() : null,
  }));
  const updated = await client.query<{ cleared: boolean }>(UPDATE_PATIENTS, [source, JSON.stringify(patients)]);

  const prepared = sorted.filter((p): p is EvaluatedPatient & { prepared: PreparedRow } => p.prepared !== undefined);
  if (prepared.length > 0) {
    await client.query(UPSERT_PREPARED, [
      source,
      prepared.map((p) => p.rows.evaluation.patientId),
      prepared.map((p) => p.prepared.dataVersion),
      prepared.map((p) => p.prepared.mappingsHash),
      prepared.map((p) => p.prepared.version),
      prepared.map((p) => p.prepared.body),
    ]);
  }

  // Last, so the stamp lock is held only for these statements and the caller's commit.
  await client.query(EVALUATION_STAMP_LOCK);
  if (changed.length > 0) await client.query(UPSERT_EVALUATIONS, [source, `[${changed.map((p) => p.evaluation).join(",")}]`]);
  if (unchanged.length > 0) {
    await client.query(UNCHANGED_EVALUATIONS, [source, JSON.stringify(unchanged.map((p) => ({ patientId: p.rows.evaluation.patientId, asOf: p.rows.evaluation.asOf })))]);
  }
  return { written: sorted.length, cleared: updated.rows.filter((r) => r.cleared).length };
}

/**
 * Folds the panel's count deltas (panel_patient_deltas, panel_checkpoint_deltas, panel_lab_deltas: one row per key
 * and table statement, kept by triggers) into one row per key. Safe while writers run; called after each run.
 */
export async function compactPanelCounts(db: Pick<pg.Pool, "query">): Promise<void> {
  await db.query("SELECT panel_count_deltas_compact()");
}
