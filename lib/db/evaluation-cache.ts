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

/** What the cached figures are computed from: it changes with every evaluation written or removed. */
export async function evaluationsVersion(db: Queryable, source: string | null): Promise<string> {
  const where = source === null ? "" : "WHERE e.source = $1";
  // max(evaluated_at) from its index (backwards, first row); the number of rows from the kept counts (a few hundred
  // rows) rather than counting every evaluation on every request.
  const count = panelCountsFrom() === "rows" ? `SELECT count(*) FROM evaluations e ${where}` : `SELECT coalesce(sum(e.evaluated), 0) FROM panel_patient_deltas e ${where}`;
  const { rows } = await db.query<{ last: string | null; evaluations: string }>(
    `SELECT (SELECT max(e.evaluated_at) FROM evaluations e ${where})::text AS last, (${count}) AS evaluations`,
    source === null ? [] : [source],
  );
  return `${rows[0]?.last ?? "none"}|${rows[0]?.evaluations ?? "0"}`;
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
 * moves it, and the next call recomputes.
 */
export async function cachedByEvaluations<T>(db: Queryable, key: string, source: string | null, compute: () => Promise<T>): Promise<T> {
  const version = await evaluationsVersion(db, source);
  let entries = cache.get(db);
  if (!entries) {
    entries = new Map();
    cache.set(db, entries);
  }
  const hit = entries.get(key);
  entries.delete(key);
  if (hit && hit.version === version) {
    entries.set(key, hit);
    return structuredClone(await (hit.value as Promise<T>));
  }
  const value = compute();
  const entry: CacheEntry = { version, value };
  entries.set(key, entry);
  if (entries.size > CACHE_ENTRIES) entries.delete(entries.keys().next().value!);
  const owner = entries;
  // A failed computation is not kept: the next call tries again.
  value.catch(() => {
    if (owner.get(key) === entry) owner.delete(key);
  });
  return structuredClone(await value);
}
