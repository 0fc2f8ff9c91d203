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
 *   background, at most one at a time per pool and not more often than once a second or four times its own
 *   duration; each snapshot replaced before it answered a page doubles that wait (to 30 s), so a sync writing
 *   continuously costs a read now and then, not one per request.
 * - Kept only up to PANEL_WORKLIST_SNAPSHOT_MAX evaluations (default 20,000: ~2 MB kept, ~40 MB while read):
 *   past that the SQL answers alone, so the app's memory does not grow with the panel.
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
  /** Evaluations above which no snapshot is kept (worklistSnapshotMaxRows): the SQL answers alone. */
  maxRows: number;
  /** ORDER BY of the SQL worklist for a sort key and direction (queries.ts's worklistOrder), with its name tail. */
  order: (sort: SortKey, dir: "asc" | "desc", byName?: { asc: string; desc: string }) => string;
  /** Milliseconds on a monotonic clock (default performance.now; tests pass their own). */
  now?: () => number;
}

const DIRECTIONS = ["asc", "desc"] as const;
/** The default of PANEL_WORKLIST_SNAPSHOT_MAX: a snapshot this large keeps about 2 MB (measured: ~1 MB at 10,000). */
export const DEFAULT_SNAPSHOT_MAX_ROWS = 20_000;

/**
 * The most evaluations a snapshot is kept for: PANEL_WORKLIST_SNAPSHOT_MAX (a whole number; 0 turns the snapshot
 * off), default DEFAULT_SNAPSHOT_MAX_ROWS. Past it the worklist is answered by SQL alone, so the app's memory stays
 * bounded however large the panel grows.
 */
export function worklistSnapshotMaxRows(env: Record<string, string | undefined> = process.env): number {
  const raw = env.PANEL_WORKLIST_SNAPSHOT_MAX;
  return raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : DEFAULT_SNAPSHOT_MAX_ROWS;
}
const REFRESH_MIN_INTERVAL_MS = 1_000;
/** The longest wait between reads while the evaluations change faster than a snapshot can be used. */
const REFRESH_MAX_INTERVAL_MS = 30_000;
const REFRESH_DURATION_FACTOR = 4;

/** A text column as codes into its distinct values (0: no value), so a filter compares small integers. */
class CodedColumn {
  readonly codes: Uint32Array;
  /** The distinct values in JavaScript's string order; code c stands for values[c - 1]. */
  readonly values: string[];

  constructor(raw: ReadonlyArray<string | null>) {
    this.values = [...new Set(raw.filter((v): v is string => v !== null))].sort();
    const codeOf = new Map(this.values.map((v, i) => [v, i + 1]));
    this.codes = Uint32Array.from(raw, (v) => (v === null ? 0 : codeOf.get(v)!));
  }

  /** The code of a value, or -1 when no row has it. */
  code(value: string): number {
    const i = indexPast(this.values, value, false);
    return this.values[i] === value ? i + 1 : -1;
  }

  /** The codes of the values from `from` to `to` inclusive (text order, as the SQL compares dates), as [low, high]. */
  codeRange(from: string | null, to: string | null): [number, number] {
    return [from === null ? 1 : indexPast(this.values, from, false) + 1, to === null ? this.values.length : indexPast(this.values, to, true)];
  }
}

/** A column of text lists (flag kinds) as a bit per distinct value and row. */
class CodedSetColumn {
  private readonly bits: Uint32Array;
  private readonly words: number;
  private readonly bitOf: Map<string, number>;

  constructor(raw: ReadonlyArray<readonly string[] | null>) {
    this.bitOf = new Map([...new Set(raw.flatMap((list) => list ?? []))].sort().map((v, i) => [v, i]));
    this.words = Math.max(1, Math.ceil(this.bitOf.size / 32));
    this.bits = new Uint32Array(raw.length * this.words);
    raw.forEach((list, row) => {
      for (const v of list ?? []) {
        const bit = this.bitOf.get(v)!;
        this.bits[row * this.words + (bit >> 5)]! |= 1 << (bit & 31);
      }
    });
  }

  /** Leaves in `keep` only the rows whose list holds `value`. */
  keepHolding(keep: Uint8Array, value: string): void {
    const bit = this.bitOf.get(value);
    if (bit === undefined) return void keep.fill(0);
    const word = bit >> 5;
    const mask = 1 << (bit & 31);
    for (let i = 0; i < keep.length; i++) if ((this.bits[i * this.words + word]! & mask) === 0) keep[i] = 0;
  }
}

/** The first index of `sorted` whose value is past `value` (at or past it unless `inclusive`): a binary search. */
function indexPast(sorted: readonly string[], value: string, inclusive: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value || (inclusive && sorted[mid] === value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What each evaluation's row holds (read a column at a time, each as a JSON array in row order). */
interface RawRow {
  source: string;
  patientId: string;
  onJak: boolean;
  drug: string | null;
  route: string | null;
  latestCheckpointWeek: number | null;
  latestVerdict: string | null;
  flagKinds: string[] | null;
  /** "kind|severity" of each of the patient's flags (evaluation_flags). */
  flagPairs: string[] | null;
  flagsCritical: number;
  flagsWarning: number;
  flagsInfo: number;
  prescriber: string | null;
  courseStart: string | null;
  nextDueDate: string | null;
  nextCheckpointDate: string | null;
  labsOverdue: number;
  labsMissing: number;
  labsAbnormal: number;
}

/** The snapshot's columns, one entry per evaluation: integers and codes in typed arrays, the patient ids as text. */
function columnsOf(raw: { [K in keyof RawRow]: Array<RawRow[K]> }) {
  const column = <K extends keyof RawRow>(name: K): Array<RawRow[K]> => raw[name];
  const ints = (name: "flagsCritical" | "flagsWarning" | "flagsInfo" | "labsOverdue" | "labsMissing" | "labsAbnormal") => Int32Array.from(column(name));
  return {
    source: new CodedColumn(column("source")),
    patientId: column("patientId"),
    onJak: Uint8Array.from(column("onJak"), (v) => (v ? 1 : 0)),
    drug: new CodedColumn(column("drug")),
    route: new CodedColumn(column("route")),
    latestCheckpointWeek: Int32Array.from(column("latestCheckpointWeek"), (v) => v ?? -1),
    latestVerdict: new CodedColumn(column("latestVerdict")),
    flagKinds: new CodedSetColumn(column("flagKinds")),
    flagPairs: new CodedSetColumn(column("flagPairs")),
    flagsCritical: ints("flagsCritical"),
    flagsWarning: ints("flagsWarning"),
    flagsInfo: ints("flagsInfo"),
    prescriber: new CodedColumn(column("prescriber")),
    courseStart: new CodedColumn(column("courseStart")),
    nextDueDate: new CodedColumn(column("nextDueDate")),
    nextCheckpointDate: new CodedColumn(column("nextCheckpointDate")),
    labsOverdue: ints("labsOverdue"),
    labsMissing: ints("labsMissing"),
    labsAbnormal: ints("labsAbnormal"),
  };
}
type Columns = ReturnType<typeof columnsOf>;

/** The SQL of each column. */
const COLUMN_SQL: Record<keyof RawRow, string> = {
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
const COLUMN_NAMES = Object.keys(COLUMN_SQL) as Array<keyof RawRow>;
/** Columns the worklist's orders read (worklistOrder) besides those above. */
const ORDER_ONLY_COLUMNS = ["max_severity", "course_week"];

const orderKey = (sort: SortKey, dir: "asc" | "desc"): string => `${sort}_${dir}`;

/** The worklist's columns of every evaluation at one version, and each of its orders as a permutation of them. */
export class WorklistSnapshot {
  readonly size: number;
  /** Worklist pages answered from this snapshot (queries.ts counts them once the version is checked). */
  answered = 0;

  private constructor(
    readonly version: string,
    private readonly columns: Columns,
    private readonly orders: ReadonlyMap<string, Uint32Array>,
    private readonly dueSoonDays: number,
  ) {
    this.size = columns.patientId.length;
  }

  /**
   * Reads the snapshot in one statement, so its rows, its orders and its version are from one database snapshot.
   * The orders are sorted by PostgreSQL over the copy of the rows (each a list of row numbers); the columns and
   * orders come back as one JSON array each, which Node parses faster, and into less, than a row per evaluation.
   */
  static async read(db: Queryable, options: SnapshotOptions): Promise<WorklistSnapshot | null> {
    const byName = { asc: "e.name_asc", desc: "e.name_desc" };
    const orders = SORT_KEYS.flatMap((sort) => DIRECTIONS.map((dir) => [orderKey(sort, dir), options.order(sort, dir, byName)] as const));
    const { rows } = await db.query<{ version: string; evaluations: string } & Record<string, unknown[] | null>>(
      `WITH v AS (SELECT ${evaluationsVersionSql(null)} AS version, (SELECT count(*) FROM evaluations) AS evaluations),
       e AS MATERIALIZED (
         SELECT (row_number() OVER ())::int - 1 AS i,
                row_number() OVER (ORDER BY ${options.order("name", "asc")}) AS name_asc,
                row_number() OVER (ORDER BY ${options.order("name", "desc")}) AS name_desc,
                ${[...COLUMN_NAMES.filter((c) => c !== "flagPairs").map((c) => COLUMN_SQL[c]), ...ORDER_ONLY_COLUMNS.map((c) => `e.${c}`)].join(", ")},
                f.pairs AS flag_pairs
           FROM evaluations e
           LEFT JOIN (SELECT source, patient_id, array_agg(kind || '|' || severity) AS pairs FROM evaluation_flags GROUP BY source, patient_id) f
             ON f.source = e.source AND f.patient_id = e.patient_id
          WHERE (SELECT evaluations FROM v) <= $1)
       SELECT v.version, v.evaluations,
              ${COLUMN_NAMES.map((c) => `(SELECT json_agg(${COLUMN_SQL[c]} ORDER BY e.i) FROM e) AS "column_${c}"`).join(",\n              ")},
              ${orders.map(([key, order]) => `(SELECT json_agg(e.i ORDER BY ${order}) FROM e) AS "${key}"`).join(",\n              ")}
         FROM v`,
      [options.maxRows],
    );
    const row = rows[0]!;
    if (Number(row.evaluations) > options.maxRows) return null;
    const columns = Object.fromEntries(COLUMN_NAMES.map((c) => [c, row[`column_${c}`] ?? []])) as Parameters<typeof columnsOf>[0];
    return new WorklistSnapshot(row.version, columnsOf(columns), new Map(orders.map(([key]) => [key, Uint32Array.from((row[key] ?? []) as number[])])), options.dueSoonDays);
  }

  /** The keys of one page of the worklist for `filters`, in order, and the number of matches over all pages. */
  page(filters: PanelFilters, today: string): { keys: Array<{ source: string; patientId: string }>; total: number } {
    const matches = this.matches(filters, today);
    const order = this.orders.get(orderKey(filters.sort, filters.dir))!;
    const first = (filters.page - 1) * filters.size;
    const end = first + filters.size;
    let total = 0;
    for (let i = 0; i < matches.length; i++) total += matches[i]!;
    // The order walked only as far as the page's last row (page 1: a few dozen rows, not all).
    const keys: Array<{ source: string; patientId: string }> = [];
    for (let n = 0, seen = 0; n < order.length && seen < end; n++) {
      const i = order[n]!;
      if (matches[i] === 0) continue;
      if (seen >= first) keys.push({ source: this.columns.source.values[this.columns.source.codes[i]! - 1]!, patientId: this.columns.patientId[i]! });
      seen++;
    }
    return { keys, total };
  }

  /**
   * worklistConditions (queries.ts) over the snapshot: 1 for each evaluation that meets every condition. One pass
   * per condition over its column; the conditions are the SQL's, one for one.
   */
  private matches(filters: PanelFilters, today: string): Uint8Array {
    const c = this.columns;
    const keep = filters.scope === "on-jak" ? c.onJak.slice() : new Uint8Array(this.size).fill(1);
    const { source, drug, route, week, verdict, flag, severity, prescriber, from, to } = filters;
    if (source) keepCode(keep, c.source, source);
    if (drug) keepCode(keep, c.drug, drug);
    if (route) keepCode(keep, c.route, route);
    if (week) keepEqual(keep, c.latestCheckpointWeek, week);
    if (verdict === "none") keepCodes(keep, c.latestVerdict.codes, 0, 0);
    else if (verdict) keepCode(keep, c.latestVerdict, verdict);
    if (flag) c.flagKinds.keepHolding(keep, flag);
    if (severity) keepPositive(keep, severity === "critical" ? c.flagsCritical : severity === "warning" ? c.flagsWarning : c.flagsInfo);
    if (flag && severity) c.flagPairs.keepHolding(keep, `${flag}|${severity}`);
    if (prescriber) keepCode(keep, c.prescriber, prescriber);
    if (from || to) {
      const dates = filters.dateOf === "due" ? c.nextDueDate : c.courseStart;
      keepCodes(keep, dates.codes, ...dates.codeRange(from, to));
    }
    switch (filters.preset) {
      case "not-responded":
        keepCode(keep, c.latestVerdict, "not-responded");
        break;
      case "overdue-labs":
        for (let i = 0; i < keep.length; i++) if (c.labsOverdue[i]! <= 0 && c.labsMissing[i]! <= 0) keep[i] = 0;
        break;
      case "abnormal-labs":
        keepPositive(keep, c.labsAbnormal);
        break;
      case "due-7-days":
        keepCodes(keep, c.nextCheckpointDate.codes, ...c.nextCheckpointDate.codeRange(today, addDays(today, this.dueSoonDays)));
        break;
      case null:
        break;
    }
    return keep;
  }
}

// One loop per kind of condition over a typed array (not a generic loop calling a test per row): fast in V8.
function keepCode(keep: Uint8Array, column: CodedColumn, value: string): void {
  const code = column.code(value);
  keepCodes(keep, column.codes, code, code);
}

/** Leaves the rows whose code is from `low` to `high` (a code of -1 or an empty range: none). */
function keepCodes(keep: Uint8Array, codes: Uint32Array, low: number, high: number): void {
  for (let i = 0; i < keep.length; i++) {
    const code = codes[i]!;
    if (code < low || code > high) keep[i] = 0;
  }
}

function keepEqual(keep: Uint8Array, column: Int32Array, value: number): void {
  for (let i = 0; i < keep.length; i++) if (column[i] !== value) keep[i] = 0;
}

function keepPositive(keep: Uint8Array, column: Int32Array): void {
  for (let i = 0; i < keep.length; i++) if (!(column[i]! > 0)) keep[i] = 0;
}

interface PoolSnapshots {
  current: WorklistSnapshot | null;
  reading: Promise<void> | null;
  /** The wait between reads: doubled each time a snapshot is replaced without having answered a page. */
  interval: number;
  /** performance.now() when the last read ended, and how long it took. */
  lastReadEnd: number;
  lastReadMs: number;
}

/** Per pool, on globalThis like the pool and the evaluation cache, so the API routes and the pages share one. */
const globalForSnapshots = globalThis as unknown as { ejmWorklistSnapshots?: WeakMap<Queryable, PoolSnapshots> };
const snapshots = (globalForSnapshots.ejmWorklistSnapshots ??= new WeakMap<Queryable, PoolSnapshots>());

function stateOf(db: Queryable): PoolSnapshots {
  let state = snapshots.get(db);
  if (!state) snapshots.set(db, (state = { current: null, reading: null, interval: REFRESH_MIN_INTERVAL_MS, lastReadEnd: Number.NEGATIVE_INFINITY, lastReadMs: 0 }));
  return state;
}

/** The wait before the pool's next snapshot read may start (after the last read ended), in milliseconds. */
export function worklistSnapshotInterval(db: Queryable): number {
  return stateOf(db).interval;
}

/** The pool's latest worklist snapshot (its version may have moved since: check it), or null before the first. */
export function latestWorklistSnapshot(db: Queryable): WorklistSnapshot | null {
  return stateOf(db).current;
}

/**
 * Starts reading a new snapshot in the background unless one is being read or the last read ended too recently;
 * returns the read in flight (started now or before), or null when none may start yet. A failed read (the database
 * down) is dropped: the SQL path answers meanwhile, and the next refresh after the interval tries again.
 */
export function refreshWorklistSnapshot(db: Queryable, options: SnapshotOptions): Promise<void> | null {
  const state = stateOf(db);
  if (options.maxRows === 0) return null;
  if (state.reading) return state.reading;
  const clock = options.now ?? (() => performance.now());
  const now = clock();
  if (now - state.lastReadEnd < Math.max(state.interval, REFRESH_DURATION_FACTOR * state.lastReadMs)) return null;
  const reading = WorklistSnapshot.read(db, options)
    .then(
      (snapshot) => {
        const replaced = state.current;
        // A snapshot that went unused (the evaluations change faster than it helps: a sync writing), or a panel past
        // the bound: wait longer before the next read.
        const longer = Math.min(2 * state.interval, REFRESH_MAX_INTERVAL_MS);
        if (snapshot === null) state.interval = longer;
        else if (replaced) state.interval = replaced.answered > 0 ? REFRESH_MIN_INTERVAL_MS : longer;
        state.current = snapshot;
      },
      () => {
        state.current = null;
      },
    )
    .finally(() => {
      state.lastReadEnd = clock();
      state.lastReadMs = state.lastReadEnd - now;
      state.reading = null;
    });
  state.reading = reading;
  return reading;
}
