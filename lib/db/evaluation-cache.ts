/**
 * Figures computed from the evaluations (panel summary and charts, report evaluation info), cached per pool until
 * an evaluation is written or removed: the cache key carries the evaluations version, max(evaluated_at) and the
 * row count, which every write moves (lib/db/evaluation-store.ts stamps evaluated_at in commit order).
 */
import type pg from "pg";

export type Queryable = Pick<pg.Pool, "query">;

/**
 * Where counts of evaluation rows come from: "deltas" (default), the rows the evaluation writes' triggers keep
 * (migration 20261130101500_panel_count_deltas), or "rows" (PANEL_COUNTS=rows): counting the rows on every read, for
 * a database where those triggers cannot run (Citus without citus.enable_unsafe_triggers).
 */
export function panelCountsFrom(env: Record<string, string | undefined> = process.env): "deltas" | "rows" {
  return env.PANEL_COUNTS === "rows" ? "rows" : "deltas";
}

/**
 * SQL for the evaluations version (one text value), with the source, when given, as parameter `sourceParam`: it
 * changes with every evaluation written or removed. For callers that read it in a statement with other things.
 */
export function evaluationsVersionSql(source: string | null, sourceParam = "$1"): string {
  const where = source === null ? "" : `WHERE e.source = ${sourceParam}`;
  // max(evaluated_at) from its index (backwards, first row); the number of rows from the kept counts (a few hundred
  // rows) rather than counting every evaluation on every request.
  const count = panelCountsFrom() === "rows" ? `SELECT count(*) FROM evaluations e ${where}` : `SELECT coalesce(sum(e.evaluated), 0) FROM panel_patient_deltas e ${where}`;
  return `(coalesce((SELECT max(e.evaluated_at) FROM evaluations e ${where})::text, 'none') || '|' || (${count})::text)`;
}

/** What the cached figures are computed from: it changes with every evaluation written or removed. */
export async function evaluationsVersion(db: Queryable, source: string | null): Promise<string> {
  const { rows } = await db.query<{ version: string }>(`SELECT ${evaluationsVersionSql(source)} AS version`, source === null ? [] : [source]);
  return rows[0]?.version ?? "none|0";
}

/** Freezes a cached value all the way down, so the callers that share it cannot change it for each other. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

interface CacheEntry {
  version: string;
  value: Promise<unknown>;
}

/**
 * Per pool (the app's pool, a test's database): cache key -> the value and the version it was computed at.
 * On globalThis, like the pool, so the API routes and the pages' prefetch (bundled apart) share one cache.
 */
const globalForCache = globalThis as unknown as { ejmEvaluationCache?: WeakMap<Queryable, Map<string, CacheEntry>> };
const cache = (globalForCache.ejmEvaluationCache ??= new WeakMap<Queryable, Map<string, CacheEntry>>());
/** Entries kept per pool; the least recently used goes first. */
const CACHE_ENTRIES = 128;

/**
 * The value for `key` as computed at the current evaluations version (of `source`, or all): from the cache when
 * the version has not moved, else computed (concurrent callers share one computation). The version is read before
 * the value, so a value cached under it can only be newer than it, never older: a write after the version was read
 * moves it, and the next call recomputes. `versionRead`: the version, when the caller read it (evaluationsVersionSql)
 * with other things in one statement. The value is frozen (deeply) and shared by every caller.
 */
export async function cachedByEvaluations<T>(db: Queryable, key: string, source: string | null, compute: () => Promise<T>, versionRead?: string): Promise<T> {
  const version = versionRead ?? (await evaluationsVersion(db, source));
  let entries = cache.get(db);
  if (!entries) {
    entries = new Map();
    cache.set(db, entries);
  }
  const hit = entries.get(key);
  entries.delete(key);
  if (hit && hit.version === version) {
    entries.set(key, hit);
    return hit.value as Promise<T>;
  }
  const value = compute().then(deepFreeze);
  const entry: CacheEntry = { version, value };
  entries.set(key, entry);
  if (entries.size > CACHE_ENTRIES) entries.delete(entries.keys().next().value!);
  const owner = entries;
  // A failed computation is not kept: the next call tries again.
  value.catch(() => {
    if (owner.get(key) === entry) owner.delete(key);
  });
  return value;
}
