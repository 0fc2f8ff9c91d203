/**
 * The panel's count deltas (triggers on evaluations, evaluation_checkpoints and evaluation_labs; migration
 * 20261130101500_panel_count_deltas) always sum to the counts of the rows themselves, whatever the statements:
 * inserts from two writers at once, upserts, updates, deletes, compaction, truncation. The summary and charts
 * read from them equal those read with PANEL_COUNTS=rows (views counting the rows on every read).
 */
import type pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { seededRandom } from "../sandbox/faults";
import type { TestCheckpoint, TestLab, TestPatient } from "./rows.test-helper";

const TODAY = "2026-11-20";
const SOURCES = ["ehr-a", "ehr-b"];
const DRUGS = ["upadacitinib", "abrocitinib", "baricitinib", "ruxolitinib-cream"];
const VERDICTS: TestCheckpoint["verdict"][] = ["responded", "not-responded", "not-assessable", "open", "not-due"];
const STATUSES = ["met", "not-met", "no-baseline", "no-value"];
const LAB_STATUSES: TestLab["status"][] = ["done", "due", "overdue", "missing", "not-due"];

let db: TestDatabase;
let pool: pg.Pool;
let helper: typeof import("./rows.test-helper");
let queries: typeof import("./queries");
let compactPanelCounts: typeof import("../db/evaluation-store").compactPanelCounts;


function randomPatient(random: () => number, source: string, n: number): TestPatient {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const maybe = (p: number) => random() < p;
  const drug = maybe(0.85) ? pick(DRUGS) : undefined;
  const route = drug === "ruxolitinib-cream" ? "topical" : "oral";
  const month = 1 + Math.floor(random() * 11);
  const courseStart = `2026-${String(month).padStart(2, "0")}-0${1 + Math.floor(random() * 9)}`;
  const measure = () => ({ status: pick(STATUSES), baseline: maybe(0.8) ? Math.floor(random() * 10) : null, value: maybe(0.8) ? Math.floor(random() * 10) : null });
  return {
    source,
    id: `p-${String(n).padStart(4, "0")}`,
    asOf: maybe(0.8) ? TODAY : "2026-11-19",
    ...(drug ? { drug, route, courseStart } : {}),
    onJak: drug !== undefined && maybe(0.8),
    latestVerdict: pick(["responded", "not-responded", "not-assessable", null]),
    labsMissing: Math.floor(random() * 3),
    labsOverdue: Math.floor(random() * 3),
    labsAbnormal: Math.floor(random() * 2),
    checkpoints: drug
      ? [2, 4, 8, 12, 16].filter(() => maybe(0.7)).map((week) => ({
          week,
          verdict: pick(VERDICTS),
          afterCourseEnd: maybe(0.1),
          easi: { ...measure(), band: pick(["EASI-50", "EASI-75", "EASI-90", null]) },
          iga: { ...measure(), criterion: "iga-0-1-and-2-point" },
          itch: measure(),
          pain: measure(),
        }))
      : [],
    labs: drug
      ? ["tb", "hepatitis", "cbc", "lipids", "liver"].filter(() => maybe(0.8)).map((requirement) => ({
          requirement,
          status: pick(LAB_STATUSES),
          dueBy: `20${pick(["25", "26"])}-${String(1 + Math.floor(random() * 12)).padStart(2, "0")}-${String(10 + Math.floor(random() * 18))}`,
        }))
      : [],
  };
}

/** Each counts table summed per key next to its view over the rows, as sorted JSON. */
async function deltasAndRows(table: "patient" | "checkpoint" | "lab"): Promise<{ deltas: unknown; rows: unknown }> {
  const key = { patient: "source, drug, route, as_of", checkpoint: "source, drug, week", lab: "source, month, status" }[table];
  const { rows: columns } = await pool.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name <> ALL($2::text[]) ORDER BY ordinal_position",
    [`panel_${table}_counts_from_rows`, key.split(", ")],
  );
  const sums = columns.map((c) => `sum(${c.column_name})::integer AS ${c.column_name}`).join(", ");
  const nonZero = columns.map((c) => `sum(${c.column_name}) <> 0`).join(" OR ");
  const { rows } = await pool.query<{ deltas: unknown; rows: unknown }>(
    `SELECT (SELECT coalesce(json_agg(d ORDER BY d::text), '[]') FROM (SELECT ${key}, ${sums} FROM panel_${table}_deltas GROUP BY ${key} HAVING ${nonZero}) d) AS deltas,
            (SELECT coalesce(json_agg(r ORDER BY r::text), '[]') FROM panel_${table}_counts_from_rows r) AS rows`,
  );
  return rows[0]!;
}

async function expectDeltasToMatchRows(): Promise<void> {
  for (const table of ["patient", "checkpoint", "lab"] as const) {
    const { deltas, rows } = await deltasAndRows(table);
    expect(deltas, `panel_${table}_deltas`).toEqual(rows);
  }
}

/** Summary and charts read from the deltas and from the rows, for all sources and each. */
async function expectPanelFromDeltasToMatchRows(): Promise<void> {
  // A new stamp: the cached figures are for the evaluations as they were.
  await pool.query("UPDATE evaluations SET evaluated_at = clock_timestamp() WHERE patient_id = (SELECT min(patient_id) FROM evaluations)");
  for (const source of [null, ...SOURCES]) {
    const fromDeltas = { summary: await queries.panelSummary(pool, { source, today: TODAY }), charts: await queries.panelCharts(pool, { source, today: TODAY }) };
    process.env.PANEL_COUNTS = "rows";
    try {
      const fromRows = { summary: await queries.panelSummary(pool, { source, today: TODAY }), charts: await queries.panelCharts(pool, { source, today: TODAY }) };
      expect(fromDeltas).toEqual(fromRows);
    } finally {
      delete process.env.PANEL_COUNTS;
    }
  }
}

beforeAll(async () => {
  const { startTestDatabase } = await import("../db/testing");
  helper = await import("./rows.test-helper");
  queries = await import("./queries");
  ({ compactPanelCounts } = await import("../db/evaluation-store"));
  const { createPool } = await import("../db/pool");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

describe("panel count deltas", () => {
  beforeEach(async () => {
    await helper.clearPanelTables(pool);
    const random = seededRandom(11);
    const patients = SOURCES.flatMap((source, s) => Array.from({ length: 60 }, (_, i) => randomPatient(random, source, s * 100 + i)));
    // Two writers at once, each in its own transaction, their statements interleaved.
    const writers = await Promise.all([pool.connect(), pool.connect()]);
    try {
      await Promise.all(writers.map((w) => w.query("BEGIN")));
      await Promise.all(writers.map(async (w, k) => {
        for (const p of patients.filter((_, i) => i % 2 === k)) await helper.insertTestPatient(w, p);
      }));
      await Promise.all(writers.map((w) => w.query("COMMIT")));
    } finally {
      for (const w of writers) w.release();
    }
  });

  it("sum to the counts of the rows after inserts by two writers at once, and the panel reads the same figures", async () => {
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM evaluations");
    expect(Number(rows[0]!.n)).toBe(120);
    await expectDeltasToMatchRows();
    await expectPanelFromDeltasToMatchRows();
    const summary = await queries.panelSummary(pool, { source: null, today: TODAY });
    expect(summary.evaluatedPatients.count).toBe(120);
    expect(summary.responseRates.rows.length).toBeGreaterThan(0);
  });

  it("follow updates, upserts and deletes of every counted table, before and after compaction", async () => {
    await pool.query("UPDATE evaluations SET latest_verdict = 'not-responded', labs_overdue = labs_overdue + 1 WHERE patient_id LIKE '%3'");
    await pool.query("UPDATE evaluations SET on_jak = NOT on_jak, as_of = $1 WHERE patient_id LIKE '%7'", [TODAY]);
    await pool.query("UPDATE evaluation_checkpoints SET verdict = 'responded', itch_status = 'met' WHERE week = 8");
    await pool.query("DELETE FROM evaluation_checkpoints WHERE week = 12 AND source = 'ehr-b'");
    await pool.query("UPDATE evaluation_labs SET status = 'done' WHERE requirement = 'lipids'");
    await pool.query("DELETE FROM evaluation_labs WHERE requirement = 'tb' AND source = 'ehr-a'");
    // An upsert: inserted rows and updated rows in one statement (both trigger kinds).
    await pool.query(
      `INSERT INTO evaluations (source, patient_id, as_of, rules_version, on_jak, drug, route, latest_verdict, result)
       SELECT source, patient_id, as_of, 'test', true, 'baricitinib', 'oral', 'responded', '{}'::jsonb FROM evaluations WHERE patient_id LIKE '%1'
       UNION ALL SELECT 'ehr-a', 'p-new-' || g, $1, 'test', true, 'upadacitinib', 'oral', 'not-responded', '{}'::jsonb FROM generate_series(1, 5) g
       ON CONFLICT (source, patient_id) DO UPDATE SET drug = EXCLUDED.drug, on_jak = EXCLUDED.on_jak, latest_verdict = EXCLUDED.latest_verdict`,
      [TODAY],
    );
    await pool.query("DELETE FROM evaluations WHERE patient_id LIKE '%5'");
    await expectDeltasToMatchRows();
    await expectPanelFromDeltasToMatchRows();

    const before = await pool.query<{ n: string }>("SELECT (SELECT count(*) FROM panel_checkpoint_deltas) + (SELECT count(*) FROM panel_lab_deltas) AS n");
    await compactPanelCounts(pool);
    await expectDeltasToMatchRows();
    await expectPanelFromDeltasToMatchRows();
    // One row per key with something to count, and fewer rows than before.
    const keys = await pool.query<{ rows: string; keys: string }>(
      `SELECT (SELECT count(*) FROM panel_checkpoint_deltas) + (SELECT count(*) FROM panel_lab_deltas) AS rows,
              (SELECT count(*) FROM panel_checkpoint_counts_from_rows) + (SELECT count(*) FROM panel_lab_counts_from_rows) AS keys`,
    );
    expect(Number(keys.rows[0]!.rows)).toBe(Number(keys.rows[0]!.keys));
    expect(Number(keys.rows[0]!.rows)).toBeLessThan(Number(before.rows[0]!.n));
  });

  it("are folded correctly by two compactions at once while a writer adds more", async () => {
    await pool.query("UPDATE evaluation_checkpoints SET verdict = 'not-responded' WHERE week = 4");
    const writer = await pool.connect();
    try {
      await writer.query("BEGIN");
      await writer.query("UPDATE evaluation_labs SET status = 'overdue' WHERE requirement = 'cbc'");
      await Promise.all([compactPanelCounts(pool), compactPanelCounts(pool)]);
      await writer.query("COMMIT");
    } finally {
      writer.release();
    }
    await expectDeltasToMatchRows();
  });

  it("are emptied with the table they count when it is truncated", async () => {
    await pool.query("TRUNCATE evaluation_labs");
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM panel_lab_deltas");
    expect(Number(rows[0]!.n)).toBe(0);
    await expectDeltasToMatchRows();
  });
});
