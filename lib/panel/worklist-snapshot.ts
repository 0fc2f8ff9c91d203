/**
 * The worklist's filter and sort columns of every evaluation, held in the app's memory at one evaluations version,
 * so a worklist page is found without scanning the evaluations table: under load that scan and sort was most of
 * PostgreSQL's work (a page of 10,000 patients cost it ~5 ms; from the snapshot, well under one).
 *
 * - Read in one statement (one database snapshot) with the version it was read at (evaluationsVersionSql), and
 *   the rank of every row in each of the worklist's orders as PostgreSQL sorts it (worklistOrder, the database's
 *   collation), so the snapshot's pages are exactly the SQL's pages.
 * - Used only while the version has not moved: queries.ts reads the page's rows and the current version in one
 *   statement and answers from the SQL path instead when they differ. A moved version starts a new read in the
 *   background, at most one at a time per pool and not more often than REFRESH_MIN_INTERVAL_MS or four times its
 *   own duration (so a sync writing continuously costs a read every few seconds, not one per request).
 * - The filters mirror worklistConditions (queries.ts) one for one; worklist-snapshot.int.test.ts compares both
 *   over thousands of filter sets.
 */
import { addDays } from "../clinical/dates";
import { evaluationsVersionSql, type Queryable } from "../db/evaluation-cache";
import { SORT_KEYS, type PanelFilters, type SortKey } from "./filters";

/** What the snapshot takes from queries.ts, which owns the worklist's SQL. */
export interface SnapshotOptions {
  /** Days ahead of the "due in the next 7 days" preset (DUE_SOON_DAYS). */
  dueSoonDays: number;
  /** ORDER BY of the SQL worklist for a sort key and direction (queries.ts's worklistOrder), with its name tail. */
  order: (sort: SortKey, dir: "asc" | "desc", byName?: { asc: string; desc: string }) => string;
}

const DIRECTIONS = ["asc", "desc"] as const;
const REFRESH_MIN_INTERVAL_MS = 1_000;
const REFRESH_DURATION_FACTOR = 4;

/** The snapshot's columns, one entry per evaluation (in primary-key order). */
interface Columns {
  source: string[];
  patientId: string[];
  onJak: boolean[];
  drug: Array<string | null>;
  route: Array<string | null>;
  latestCheckpointWeek: Array<number | null>;
  latestVerdict: Array<string | null>;
  flagKinds: Array<string[] | null>;
  /** "kind|severity" of each of the patient's flags (evaluation_flags). */
  flagPairs: Array<string[] | null>;
  flagsCritical: number[];
  flagsWarning: number[];
  flagsInfo: number[];
  prescriber: Array<string | null>;
  courseStart: Array<string | null>;
  nextDueDate: Array<string | null>;
  nextCheckpointDate: Array<string | null>;
  labsOverdue: number[];
  labsMissing: number[];
  labsAbnormal: number[];
}

/** The SQL of each column, in the order of Columns (read as one JSON array per evaluation). */
const COLUMN_SQL: Record<keyof Columns, string> = {
  source: "e.source",
  patientId: "e.patient_id",
  onJak: "e.on_jak",
  drug: "e.drug",
  route: "e.route",
  latestCheckpointWeek: "e.latest_checkpoint_week",
  latestVerdict: "e.latest_verdict",
  flagKinds: "e.flag_kinds",
  flagPairs: "e.flag_pairs",
  flagsCritical: "e.flags_critical",
  flagsWarning: "e.flags_warning",
  flagsInfo: "e.flags_info",
  prescriber: "e.prescriber",
  courseStart: "e.course_start",
  nextDueDate: "e.next_due_date",
  nextCheckpointDate: "e.next_checkpoint_date",
  labsOverdue: "e.labs_overdue",
  labsMissing: "e.labs_missing",
  labsAbnormal: "e.labs_abnormal",
};
const COLUMN_NAMES = Object.keys(COLUMN_SQL) as Array<keyof Columns>;
/** Columns the worklist's orders read besides those above. */
const ORDER_ONLY_COLUMNS = ["max_severity", "course_week"];
/** Every column the worklist's orders read (worklistOrder), so each order is sorted over narrow rows. */
const ORDER_COLUMNS = ["drug", "route", "latest_checkpoint_week", "latest_verdict", "next_due_date", "flags_critical", "flags_warning", "flags_info", "name_asc", "name_desc", ...ORDER_ONLY_COLUMNS];

const orderKey = (sort: SortKey, dir: "asc" | "desc"): string => `${sort}_${dir}`;

/** The worklist's columns of every evaluation at one version, and each of its orders as a permutation of them. */
export class WorklistSnapshot {
  readonly size: number;

  private constructor(
    readonly version: string,
    private readonly columns: Columns,
    private readonly orders: ReadonlyMap<string, Uint32Array>,
    private readonly dueSoonDays: number,
  ) {
    this.size = columns.source.length;
  }

  /**
   * Reads the snapshot in one statement, so its rows, its orders and its version are from one database snapshot.
   * The orders are sorted by PostgreSQL over a narrow copy of the rows (each a list of row numbers); the rows and
   * orders come back as JSON, which Node parses far faster than a row per evaluation.
   */
  static async read(db: Queryable, options: SnapshotOptions): Promise<WorklistSnapshot> {
    const byName = { asc: "e.name_asc", desc: "e.name_desc" };
    const orders = SORT_KEYS.flatMap((sort) => DIRECTIONS.map((dir) => [orderKey(sort, dir), options.order(sort, dir, byName)] as const));
    const { rows } = await db.query<{ version: string; rows: unknown[][] | null } & Record<string, number[] | null>>(
      `WITH v AS (SELECT ${evaluationsVersionSql(null)} AS version),
       e AS MATERIALIZED (
         SELECT (row_number() OVER ())::int - 1 AS i,
                row_number() OVER (ORDER BY ${options.order("name", "asc")}) AS name_asc,
                row_number() OVER (ORDER BY ${options.order("name", "desc")}) AS name_desc,
                ${[...COLUMN_NAMES.filter((c) => c !== "flagPairs").map((c) => COLUMN_SQL[c]), ...ORDER_ONLY_COLUMNS.map((c) => `e.${c}`)].join(", ")},
                f.pairs AS flag_pairs
           FROM evaluations e
           LEFT JOIN (SELECT source, patient_id, array_agg(kind || '|' || severity) AS pairs FROM evaluation_flags GROUP BY source, patient_id) f
             ON f.source = e.source AND f.patient_id = e.patient_id)
       SELECT v.version,
              (SELECT json_agg(json_build_array(${COLUMN_NAMES.map((c) => COLUMN_SQL[c]).join(", ")}) ORDER BY e.i) FROM e) AS rows,
              ${orders.map(([key, order]) => `(SELECT json_agg(e.i ORDER BY ${order}) FROM (SELECT ${["i", ...ORDER_COLUMNS].join(", ")} FROM e) e) AS "${key}"`).join(",\n              ")}
         FROM v`,
    );
    const row = rows[0]!;
    const values = row.rows ?? [];
    const columns = Object.fromEntries(COLUMN_NAMES.map((name, c) => [name, values.map((v) => v[c])])) as unknown as Columns;
    return new WorklistSnapshot(row.version, columns, new Map(orders.map(([key]) => [key, Uint32Array.from(row[key] ?? [])])), options.dueSoonDays);
  }

  /** The keys of one page of the worklist for `filters`, in order, and the number of matches over all pages. */
  page(filters: PanelFilters, today: string): { keys: Array<{ source: string; patientId: string }>; total: number } {
    const matches = this.matches(filters, today);
    const order = this.orders.get(orderKey(filters.sort, filters.dir))!;
    const first = (filters.page - 1) * filters.size;
    const end = first + filters.size;
    const keys: Array<{ source: string; patientId: string }> = [];
    let total = 0;
    for (let n = 0; n < order.length; n++) {
      const i = order[n]!;
      if (matches[i] === 0) continue;
      if (total >= first && total < end) keys.push({ source: this.columns.source[i]!, patientId: this.columns.patientId[i]! });
      total++;
    }
    return { keys, total };
  }

  /**
   * worklistConditions (queries.ts) over the snapshot: 1 for each evaluation that meets every condition. One pass
   * per condition over its column, the conditions the same and in the same order as the SQL's.
   */
  private matches(filters: PanelFilters, today: string): Uint8Array {
    const c = this.columns;
    const keep = new Uint8Array(this.size).fill(1);
    const { source, drug, route, week, verdict, flag, severity, prescriber, from, to } = filters;
    if (source) keepEqual(keep, c.source, source);
    if (filters.scope === "on-jak") keepEqual(keep, c.onJak, true);
    if (drug) keepEqual(keep, c.drug, drug);
    if (route) keepEqual(keep, c.route, route);
    if (week) keepEqual(keep, c.latestCheckpointWeek, week);
    if (verdict === "none") keepEqual(keep, c.latestVerdict, null);
    else if (verdict) keepEqual(keep, c.latestVerdict, verdict);
    if (flag) keepHolding(keep, c.flagKinds, flag);
    if (severity) keepPositive(keep, severity === "critical" ? c.flagsCritical : severity === "warning" ? c.flagsWarning : c.flagsInfo);
    if (flag && severity) keepHolding(keep, c.flagPairs, `${flag}|${severity}`);
    if (prescriber) keepEqual(keep, c.prescriber, prescriber);
    const dates = filters.dateOf === "due" ? c.nextDueDate : c.courseStart;
    if (from || to) keepBetween(keep, dates, from, to);
    switch (filters.preset) {
      case "not-responded":
        keepEqual(keep, c.latestVerdict, "not-responded");
        break;
      case "overdue-labs":
        for (let i = 0; i < keep.length; i++) if (c.labsOverdue[i]! <= 0 && c.labsMissing[i]! <= 0) keep[i] = 0;
        break;
      case "abnormal-labs":
        keepPositive(keep, c.labsAbnormal);
        break;
      case "due-7-days":
        keepBetween(keep, c.nextCheckpointDate, today, addDays(today, this.dueSoonDays));
        break;
      case null:
        break;
    }
    return keep;
  }
}

// One loop per kind of condition (not one generic loop calling a test per row): each stays fast in V8.
function keepEqual<T>(keep: Uint8Array, column: readonly T[], value: T): void {
  for (let i = 0; i < keep.length; i++) if (column[i] !== value) keep[i] = 0;
}

function keepPositive(keep: Uint8Array, column: readonly number[]): void {
  for (let i = 0; i < keep.length; i++) if (!(column[i]! > 0)) keep[i] = 0;
}

function keepHolding(keep: Uint8Array, column: ReadonlyArray<string[] | null>, value: string): void {
  for (let i = 0; i < keep.length; i++) if (keep[i] === 1 && !(column[i]?.includes(value) ?? false)) keep[i] = 0;
}

/** Text dates from `from` to `to` inclusive, as the SQL compares them; a row without the date is left out. */
function keepBetween(keep: Uint8Array, column: ReadonlyArray<string | null>, from: string | null, to: string | null): void {
  for (let i = 0; i < keep.length; i++) {
    const value = column[i];
    if (value === null || value === undefined || (from !== null && value < from) || (to !== null && value > to)) keep[i] = 0;
  }
}

interface PoolSnapshots {
  current: WorklistSnapshot | null;
  reading: Promise<void> | null;
  /** performance.now() when the last read ended, and how long it took. */
  lastReadEnd: number;
  lastReadMs: number;
}

/** Per pool, on globalThis like the pool and the evaluation cache, so the API routes and the pages share one. */
const globalForSnapshots = globalThis as unknown as { ejmWorklistSnapshots?: WeakMap<Queryable, PoolSnapshots> };
const snapshots = (globalForSnapshots.ejmWorklistSnapshots ??= new WeakMap<Queryable, PoolSnapshots>());

function stateOf(db: Queryable): PoolSnapshots {
  let state = snapshots.get(db);
  if (!state) snapshots.set(db, (state = { current: null, reading: null, lastReadEnd: Number.NEGATIVE_INFINITY, lastReadMs: 0 }));
  return state;
}

/** The pool's latest worklist snapshot (its version may have moved since: check it), or null before the first. */
export function latestWorklistSnapshot(db: Queryable): WorklistSnapshot | null {
  return stateOf(db).current;
}

/**
 * Starts reading a new snapshot in the background unless one is being read or the last read ended too recently;
 * returns the read in flight (started now or before), or null when the last read ended too recently. A failed read (the database down) is dropped: the SQL path
 * answers meanwhile, and the next refresh after the interval tries again.
 */
export function refreshWorklistSnapshot(db: Queryable, options: SnapshotOptions): Promise<void> | null {
  const state = stateOf(db);
  if (state.reading) return state.reading;
  const now = performance.now();
  if (now - state.lastReadEnd < Math.max(REFRESH_MIN_INTERVAL_MS, REFRESH_DURATION_FACTOR * state.lastReadMs)) return null;
  const reading = WorklistSnapshot.read(db, options)
    .then(
      (snapshot) => {
        state.current = snapshot;
      },
      () => {
        state.current = null;
      },
    )
    .finally(() => {
      state.lastReadEnd = performance.now();
      state.lastReadMs = state.lastReadEnd - now;
      state.reading = null;
    });
  state.reading = reading;
  return reading;
}
