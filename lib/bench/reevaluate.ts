/**
 * Bench section: full re-evaluation of every stored patient (evaluateAllPatients, the nightly run) over the
 * ingested cohort: resources read from fhir_resources, the engine, the evaluation rows written, in parallel
 * loops (worker threads; EJM_EVALUATION_THREADS sets how many). Timed three times: the first evaluation (no rows
 * yet: every patient from its raw resources, its prepared input stored), the nightly re-evaluation (every patient
 * from its stored prepared input, as every night after the first: no data changed), and a forced full pass from the
 * raw resources (what a PREPARED_VERSION bump or a code mapping change costs once). The target is for 100,000
 * patients; below that scale the time is extrapolated linearly, and the row says so. CPU time (this process, every thread; and PostgreSQL's
 * processes) is reported beside the wall time, which a shared machine makes noisy.
 */
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";
import { PREPARED_VERSION } from "../clinical";
import { addDays } from "../clinical/dates";
import { evaluateAllPatients, evaluationThreads, loopsFor, tuneHeapForEvaluation, type BatchReport } from "../sync/evaluate-patients";
import { progress } from "./cleanup";
import { BENCH_SOURCE, ensureIngested, fmt, FULL_SCALE, markEvaluated } from "./pg-fixture";
import type { BenchRow } from "./types";

const TARGET_SECONDS = 60;
const BATCH_SIZE = 500;

interface Pass {
  seconds: number;
  patients: number;
  /** Summed per batch over every loop (the reads overlap the evaluation of the batch before). */
  readSeconds: number;
  evaluateSeconds: number;
  writeSeconds: number;
  /** CPU time of this process (all threads) and of PostgreSQL's processes, null where /proc is unreadable. */
  nodeCpuSeconds: number;
  postgresCpuSeconds: number | null;
}

/** CPU seconds used so far by the postmaster, its live children and the children it has reaped (Linux /proc). */
async function postgresCpuSeconds(pool: pg.Pool): Promise<number | null> {
  try {
    const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const fields = (pid: number | string): string[] => {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    };
    // After the command name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    const postmaster = Number(fields(rows[0]!.pid)[1]);
    const ticks = (f: string[], withChildren: boolean) => Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
    let total = ticks(fields(postmaster), true);
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = fields(entry);
        if (Number(f[1]) === postmaster) total += ticks(f, false);
      } catch {
        // Exited meanwhile: its time is in the postmaster's cutime.
      }
    }
    return total / 100; // USER_HZ
  } catch {
    return null;
  }
}

export async function benchReevaluate(): Promise<BenchRow[]> {
  const { db, cohort } = await ensureIngested();
  const { pool } = db;
  // As the job worker runs it.
  tuneHeapForEvaluation();
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM patients WHERE source = $1", [BENCH_SOURCE]);
  const stored = Number(rows[0]?.n);

  const pass = async (label: string, asOf: string, reusePrepared = true): Promise<Pass> => {
    await pool.query("CHECKPOINT");
    const spent = { read: 0, evaluate: 0, write: 0 };
    let reported = 0;
    const cpuBefore = process.cpuUsage();
    const postgresBefore = await postgresCpuSeconds(pool);
    const started = performance.now();
    const patients = await evaluateAllPatients(pool, BENCH_SOURCE, {
      asOf,
      reusePrepared,
      batchSize: BATCH_SIZE,
      onBatch: (batch: BatchReport) => {
        spent.read += batch.readMs;
        spent.evaluate += batch.evaluateMs;
        spent.write += batch.writeMs;
      },
      onProgress: (done) => {
        if (done - reported < 2_500 && done < stored) return;
        reported = done;
        progress(`${label}: ${fmt(done)} / ${fmt(stored)} patients, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const postgresAfter = await postgresCpuSeconds(pool);
    if (patients !== stored) throw new Error(`evaluateAllPatients evaluated ${patients} of ${stored} stored patients`);
    return {
      seconds,
      patients,
      readSeconds: spent.read / 1000,
      evaluateSeconds: spent.evaluate / 1000,
      writeSeconds: spent.write / 1000,
      nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
      postgresCpuSeconds: postgresBefore === null || postgresAfter === null ? null : postgresAfter - postgresBefore,
    };
  };

  const loops = loopsFor(stored, BATCH_SIZE, evaluationThreads(undefined));
  // The first evaluation makes them: none left from an earlier run of the bench.
  await pool.query("DELETE FROM prepared_patients WHERE source = $1", [BENCH_SOURCE]);
  progress(`re-evaluation: ${fmt(stored)} stored patients`);
  const first = await pass("first evaluation", cohort.asOf);
  // The next night: windows and weeks move on by a day, so some patients' rows change and most do not.
  const nightly = await pass("nightly re-evaluation (prepared inputs)", addDays(cohort.asOf, 1));
  const prepared = await pool.query<{ n: string; bytes: string; body_chars: string }>(
    `SELECT count(*) AS n, pg_total_relation_size('prepared_patients') AS bytes, coalesce(avg(length(body)), 0)::bigint AS body_chars
     FROM prepared_patients WHERE source = $1 AND prepared_version = $2`,
    [BENCH_SOURCE, PREPARED_VERSION],
  );
  const forced = await pass("full re-evaluation from raw resources", addDays(cohort.asOf, 2), false);
  await pool.query("VACUUM ANALYZE evaluations, evaluation_checkpoints, evaluation_labs, evaluation_flags, patients, prepared_patients");
  markEvaluated();

  const counts = await pool.query<{ checkpoints: string; labs: string; flags: string; on_jak: string }>(
    `SELECT (SELECT count(*) FROM evaluation_checkpoints) AS checkpoints, (SELECT count(*) FROM evaluation_labs) AS labs,
            (SELECT count(*) FROM evaluation_flags) AS flags, (SELECT count(*) FROM evaluations WHERE on_jak) AS on_jak`,
  );
  const c = counts.rows[0];
  const scale = `${fmt(stored)} patients, ${fmt(cohort.resources)} stored resources (${fmt(Number(c?.on_jak))} on a JAK inhibitor; ${fmt(Number(c?.checkpoints))} checkpoint, ${fmt(Number(c?.labs))} lab and ${fmt(Number(c?.flags))} flag rows)`;
  const measuredAtFullScale = stored >= FULL_SCALE;
  const at100k = (p: Pass): number => (p.seconds * FULL_SCALE) / p.patients;
  const detail = (p: Pass): string => `${p.seconds.toFixed(1)} s, ${fmt(p.patients / p.seconds)} patients/s`;
  const cpuSeconds = (p: Pass): number | null => (p.postgresCpuSeconds === null ? null : p.nodeCpuSeconds + p.postgresCpuSeconds);
  // CPU time is steadier than wall time on a shared machine: spread over the loops' cores, it bounds the wall time.
  const cpuAt100k = (p: Pass): string => {
    const cpu = cpuSeconds(p);
    return cpu === null ? "" : `; CPU (this process + PostgreSQL) ${((cpu * FULL_SCALE) / p.patients).toFixed(0)} core-s at ${fmt(FULL_SCALE)}, i.e. ${((cpu * FULL_SCALE) / p.patients / loops).toFixed(0)} s on ${loops} idle core(s)`;
  };
  const passNote = (p: Pass): string =>
    `summed over the batches of every loop: reads ${p.readSeconds.toFixed(1)} s (they overlap the evaluation of the batch before), engine ${p.evaluateSeconds.toFixed(1)} s, writes ${p.writeSeconds.toFixed(1)} s; ` +
    `CPU: this process ${p.nodeCpuSeconds.toFixed(1)} s (all threads), PostgreSQL ${p.postgresCpuSeconds === null ? "not measured (no /proc)" : `${p.postgresCpuSeconds.toFixed(1)} s`}${cpuAt100k(p)}`;
  const preparedRow = prepared.rows[0];
  const preparedNote = `prepared inputs: ${fmt(Number(preparedRow?.n))} rows, ${(Number(preparedRow?.bytes) / 1e6).toFixed(0)} MB on disk (table, TOAST and index), ${fmt(Number(preparedRow?.body_chars))} characters of JSON per patient on average`;
  return [
    {
      figure: `re-evaluation: every stored patient (evaluateAllPatients), ${measuredAtFullScale ? `${fmt(stored)} patients` : `${fmt(FULL_SCALE)} patients, EXTRAPOLATED from ${fmt(stored)}`}`,
      value: measuredAtFullScale ? detail(nightly) : `${at100k(nightly).toFixed(0)} s extrapolated (measured ${detail(nightly)} for ${fmt(stored)})`,
      target: `< ${TARGET_SECONDS} s for ${fmt(FULL_SCALE)}`,
      ok: at100k(nightly) < TARGET_SECONDS,
      note: `${scale}; the nightly run the day after the first evaluation: every patient evaluated again FROM ITS STORED PREPARED INPUT (no data changed since the first evaluation stored them, as on every night after the first), rows rewritten for the patients whose results changed (the others only get the new date); ${preparedNote}; ${measuredAtFullScale ? "measured" : `linear extrapolation x${(FULL_SCALE / stored).toFixed(0)}, not measured (BENCH_PATIENTS=${FULL_SCALE} measures it)`}; ${passNote(nightly)}; ${loops} loop(s) (EJM_EVALUATION_THREADS, default the cores: one in the process, pool of 10, the others in worker threads, pool of 2 each), batches of ${BATCH_SIZE}`,
    },
    {
      figure: `re-evaluation: forced full pass FROM RAW RESOURCES (as once after a PREPARED_VERSION bump or a code mapping change), ${measuredAtFullScale ? `${fmt(stored)} patients` : `${fmt(FULL_SCALE)} patients, EXTRAPOLATED from ${fmt(stored)}`}`,
      value: measuredAtFullScale ? detail(forced) : `${at100k(forced).toFixed(0)} s extrapolated (measured ${detail(forced)} for ${fmt(stored)})`,
      target: `none (the ${TARGET_SECONDS} s target is the nightly run's)`,
      ok: null,
      note: `${scale}; every patient's resources read, parsed, prepared and evaluated, its prepared input rewritten; ${passNote(forced)}`,
    },
    {
      figure: `re-evaluation: first evaluation of ${fmt(stored)} stored patients (no evaluation rows or prepared inputs yet)`,
      value: `${detail(first)}${measuredAtFullScale ? "" : ` (${at100k(first).toFixed(0)} s extrapolated to ${fmt(FULL_SCALE)})`}`,
      target: "-",
      ok: null,
      note: `${scale}; ${passNote(first)}`,
    },
  ];
}
