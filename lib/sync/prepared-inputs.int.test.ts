// The sandbox package first: Prisma's generated client (imported by the test database helper) must load after it.
import "../sandbox/index";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PREPARED_VERSION } from "../clinical";
import { createPool } from "../db/pool";
import { ingestDeletedLines, ingestLines } from "../db/resource-store";
import { startTestDatabase, type TestDatabase } from "../db/testing";
import { generateCohort } from "../sandbox/cohort/index";
import { evaluateAllPatients, evaluateDirtyPatients, evaluatePatientsById, mappingsHash } from "./evaluate-patients";

/**
 * Prepared inputs (prepared_patients) in the evaluation runs: written by every evaluation from resources, stamped
 * with patients.data_version; read instead of the resources while the patient is clean and the stamp, the code
 * mappings and PREPARED_VERSION are current. "Hiding" a source's resources (moving them to another source behind
 * ingest's back, so no stamp moves) shows which path a patient took: from a prepared input its rows stay as they were.
 */
const SOURCE = "prepared-test";
const HIDDEN = "prepared-test-hidden";
const AS_OF = "2026-11-01";
const LATER = "2027-02-15";
const cohort = [...generateCohort({ patients: 14, seed: 21, asOf: AS_OF })];
const patientIds = cohort.map((p) => p.patientId).sort();

let db: TestDatabase;
let pool: pg.Pool;
let run = 0n;

async function ingest(lines: string[], deleted = false): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    run++;
    if (deleted) await ingestDeletedLines(client, SOURCE, run, lines, { deletedAt: "2030-01-01T00:00:00Z" });
    else await ingestLines(client, SOURCE, run, lines);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
}

/** Every row an evaluation writes for the source's patients, but the write stamps. */
async function storedRows(): Promise<unknown> {
  const { rows } = await pool.query<{ rows: unknown }>(
    `SELECT json_build_object(
       'evaluations', (SELECT json_agg(json_build_array(patient_id, as_of, content_hash, result::text) ORDER BY patient_id) FROM evaluations WHERE source = $1),
       'checkpoints', (SELECT json_agg(c ORDER BY patient_id, course_index, week) FROM evaluation_checkpoints c WHERE source = $1),
       'labs', (SELECT json_agg(l ORDER BY patient_id, course_index, requirement) FROM evaluation_labs l WHERE source = $1),
       'flags', (SELECT json_agg(f ORDER BY patient_id, seq) FROM evaluation_flags f WHERE source = $1),
       'cases', (SELECT json_agg(r ORDER BY patient_id, measure_id, case_no) FROM report_cases r WHERE source = $1),
       'notes', (SELECT json_agg(n ORDER BY patient_id, measure_id, note_no) FROM report_notes n WHERE source = $1),
       'patients', (SELECT json_agg(json_build_array(id, display_name, birth_date, sex, dirty) ORDER BY id) FROM patients WHERE source = $1)
     ) AS rows`,
    [SOURCE],
  );
  return rows[0]!.rows;
}

async function hideResources(hidden: boolean): Promise<void> {
  await pool.query("UPDATE fhir_resources SET source = $2 WHERE source = $1", hidden ? [SOURCE, HIDDEN] : [HIDDEN, SOURCE]);
}

async function preparedStamps(): Promise<Map<string, { current: boolean; hash: string; version: number }>> {
  const { rows } = await pool.query<{ patient_id: string; current: boolean; mappings_hash: string; prepared_version: number }>(
    `SELECT pp.patient_id, pp.data_version = p.data_version AS current, pp.mappings_hash, pp.prepared_version
     FROM prepared_patients pp JOIN patients p ON p.source = pp.source AND p.id = pp.patient_id WHERE pp.source = $1`,
    [SOURCE],
  );
  return new Map(rows.map((r) => [r.patient_id, { current: r.current, hash: r.mappings_hash, version: r.prepared_version }]));
}

async function courseCount(patientId: string): Promise<number> {
  const { rows } = await pool.query<{ course_count: number }>("SELECT course_count FROM evaluations WHERE source = $1 AND patient_id = $2", [SOURCE, patientId]);
  return rows[0]!.course_count;
}

/** A patient of the cohort with a course (so evaluating it from nothing shows). */
function patientWithCourse(skip = 0): string {
  return cohort.filter((p) => p.expected.courses.length > 0)[skip]!.patientId;
}

beforeAll(async () => {
  db = await startTestDatabase();
  pool = createPool(db.url, 6);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

beforeEach(async () => {
  await pool.query("TRUNCATE fhir_resources, patients, prepared_patients, evaluations, evaluation_checkpoints, evaluation_labs, evaluation_flags, report_cases, report_notes, code_mappings");
  await ingest(cohort.flatMap((p) => p.resources.map((r) => JSON.stringify(r))));
  expect(await evaluateDirtyPatients(pool, SOURCE, { asOf: AS_OF, batchSize: 5 })).toBe(cohort.length);
});

describe("prepared inputs", () => {
  it("are kept unlogged: a crash empties the table, and the next run refills it from the resources", async () => {
    const { rows } = await pool.query<{ relpersistence: string }>("SELECT relpersistence FROM pg_class WHERE relname = 'prepared_patients'");
    expect(rows[0]?.relpersistence).toBe("u");
    await pool.query("TRUNCATE prepared_patients"); // what crash recovery does to an unlogged table
    await evaluateAllPatients(pool, SOURCE, { asOf: AS_OF, threads: 1 });
    expect([...(await preparedStamps()).values()].filter((s) => s.current)).toHaveLength(cohort.length);
  });

  it("are written by every evaluation from resources, stamped with the data version read with them", async () => {
    const stamps = await preparedStamps();
    expect([...stamps.keys()].sort()).toEqual(patientIds);
    for (const stamp of stamps.values()) expect(stamp).toEqual({ current: true, hash: mappingsHash([]), version: PREPARED_VERSION });
  });

  it("give the nightly run, in one loop or in threads, exactly the rows a run from the resources writes, without reading the resources", async () => {
    for (const threads of [1, 2]) {
      await evaluateAllPatients(pool, SOURCE, { asOf: LATER, threads, batchSize: 4, reusePrepared: false });
      const fromResources = await storedRows();
      await hideResources(true);
      try {
        await evaluateAllPatients(pool, SOURCE, { asOf: LATER, threads, batchSize: 4 });
        expect(await storedRows()).toEqual(fromResources);
        // Over the same batches from the resources (hidden now), every patient would have lost its courses.
        await evaluatePatientsById(pool, SOURCE, patientIds, { asOf: LATER, threads, reusePrepared: false });
        expect(await courseCount(patientWithCourse())).toBe(0);
      } finally {
        await hideResources(false);
      }
      await evaluateAllPatients(pool, SOURCE, { asOf: AS_OF, threads: 1, reusePrepared: false });
    }
  });

  it("are not used for a patient whose data changed, through any kind of change ingest makes", async () => {
    const [a, b, c] = [patientWithCourse(0), patientWithCourse(1), patientWithCourse(2)];
    const resourcesOf = (id: string) => cohort.find((p) => p.patientId === id)!.resources;
    // A new resource; a shared Medication the patient's orders reference; a deletion.
    await ingest([JSON.stringify({ resourceType: "Observation", id: "new-obs", status: "final", subject: { reference: `Patient/${a}` }, code: { text: "itch" }, effectiveDateTime: "2026-10-30" })]);
    const medication = cohort.flatMap((p) => p.resources).find((r) => r.resourceType === "Medication");
    if (medication) await ingest([JSON.stringify({ ...medication, meta: { lastUpdated: "2030-01-01T00:00:00Z" }, text: { status: "generated", div: "<div>changed</div>" } })]);
    const order = resourcesOf(c).find((r) => r.resourceType === "MedicationRequest" || r.resourceType === "MedicationStatement")!;
    await ingest([JSON.stringify({ resourceType: "Bundle", type: "transaction", entry: [{ request: { method: "DELETE", url: `${order.resourceType}/${order.id}` } }] })], true);

    const stamps = await preparedStamps();
    const stale = [...stamps].filter(([, s]) => !s.current).map(([id]) => id);
    expect(stale).toContain(a);
    expect(stale).toContain(c);
    if (medication) {
      const users = cohort.filter((p) => p.resources.some((r) => "medicationReference" in r && JSON.stringify(r.medicationReference).includes(`Medication/${medication.id}`)));
      for (const user of users) expect(stale).toContain(user.patientId);
    }
    expect(stale).not.toContain(b);
    // Dirty now; once evaluated from the new data their stamps are current again.
    await evaluateDirtyPatients(pool, SOURCE, { asOf: AS_OF });
    expect([...(await preparedStamps()).values()].every((s) => s.current)).toBe(true);
  });

  it("are not used for a dirty patient, after a code mapping change or a PREPARED_VERSION change", async () => {
    const dirty = patientWithCourse(0);
    await pool.query("UPDATE patients SET dirty = true, data_changed_at = clock_timestamp() WHERE source = $1 AND id = $2", [SOURCE, dirty]);
    await hideResources(true);
    try {
      await evaluateAllPatients(pool, SOURCE, { asOf: AS_OF, threads: 1 });
      expect(await courseCount(dirty)).toBe(0); // from its (hidden) resources
      expect(await courseCount(patientWithCourse(1))).toBeGreaterThan(0); // from its prepared input
    } finally {
      await hideResources(false);
    }

    await pool.query("INSERT INTO code_mappings (system, code, concept) VALUES ('urn:site:flowsheet', 'ITCH-1', 'measure:itch')");
    await evaluateAllPatients(pool, SOURCE, { asOf: AS_OF, threads: 1 });
    const hash = mappingsHash([{ system: "urn:site:flowsheet", code: "ITCH-1", concept: "measure:itch" }]);
    expect([...(await preparedStamps()).values()].every((s) => s.hash === hash && s.current)).toBe(true);

    await pool.query("UPDATE prepared_patients SET prepared_version = prepared_version - 1 WHERE source = $1", [SOURCE]);
    await evaluateAllPatients(pool, SOURCE, { asOf: AS_OF, threads: 1 });
    expect([...(await preparedStamps()).values()].every((s) => s.version === PREPARED_VERSION)).toBe(true);
  });
});
