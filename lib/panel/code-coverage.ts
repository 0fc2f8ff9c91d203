/**
 * The code-coverage view: which codes and site mappings matched how many synced resources, which were ignored
 * and why, and the data-quality notes the evaluations and syncs recorded, counted by issue.
 *
 * The scan aggregates distinct concepts in SQL (one pass over the coded resources, grouped by source and the
 * concept JSON) and classifies each distinct one in TypeScript with the engine's matcher, so the view and the
 * evaluations can never disagree about a code. The pass takes about a second per 100,000 resources, so it runs
 * in a job (lib/jobs: after each successful sync, after a mapping's re-evaluation, and on demand) that stores the
 * result in computed_views; GET /api/panel/code-coverage reads the stored view.
 */
import type pg from "pg";
import type { JobStatus } from "../jobs/queue";
import { CODE_PARTS, classifyCodeGroups, mappingCoverage, mappingIndexOf, type CodeGroup, type CodeMappingView, type CodePart, type CoverageRow, type MappingCoverage } from "./code-classification";
import { listCodeMappings } from "./code-mappings";
import { CODED_RESOURCE_TYPES, CONCEPT_ROWS_FROM } from "./code-sql";

export interface DataQualityCount {
  resourceType: string;
  issue: string;
  notes: number;
  patients: number;
  /** One detail as the engine wrote it, for a person to recognise the problem. */
  example: string | null;
}

export interface SyncIssueCount {
  issue: string;
  count: number;
  runs: number;
  lastSeen: string;
  /** file:line of one occurrence */
  example: string | null;
}

/** What the code-coverage page shows for one source or all, as computed at one time. */
export interface CodeCoverage {
  /** When the data was read (the computation's start); the same instant as the stored view's computedAt. */
  generatedAt: string;
  /** The source shown, or null for every source. */
  source: string | null;
  /** Coded entries scanned (a resource counts once per place it carries a code: an Observation and each component). */
  totals: { entries: number; matched: number; ignored: number };
  matched: CoverageRow[];
  ignored: CoverageRow[];
  mappings: MappingCoverage[];
  dataQuality: DataQualityCount[];
  syncIssues: SyncIssueCount[];
  /** How long the resource scan took (the slow part at scale). */
  scanMs: number;
}

/**
 * GET /api/panel/code-coverage: the stored view (computed by a job, never per request) with when it was computed,
 * and the computation asked about (?job=) or the one this request queued because none was stored yet.
 */
export interface CodeCoverageResponse {
  source: string | null;
  /** Null: not computed yet. */
  computedAt: string | null;
  coverage: CodeCoverage | null;
  job: JobStatus | null;
  /** A sentence for the person when a computation was needed but could not be queued. */
  problem: string | null;
}

/** computed_views.view of the code coverage; computed_views.source "*" is every source together. */
export const CODE_COVERAGE_VIEW = "code-coverage";
export const ALL_SOURCES_KEY = "*";

interface GroupRow {
  source: string;
  part: string;
  concept: unknown;
  alternatives: unknown[] | null;
  has_components: boolean;
  has_members: boolean;
  skin_context: boolean | null;
  resources: number;
}

/**
 * Distinct concepts with resource counts per source, not deleted: one pass over one source's coded resources
 * (or every source's when null), so the all-sources view costs no second pass.
 */
export async function scanCodeGroupsBySource(pool: pg.Pool, source: string | null): Promise<Map<string, CodeGroup[]>> {
  const { rows } = await pool.query<GroupRow>(
    `select r.source, k.part, k.concept, k.alternatives, k.has_components, k.has_members, k.skin_context, count(*)::int as resources
       from ${CONCEPT_ROWS_FROM}
      where not r.deleted and r.resource_type = any($2::text[]) and ($1::text is null or r.source = $1)
      group by 1, 2, 3, 4, 5, 6, 7`,
    [source, CODED_RESOURCE_TYPES],
  );
  const parts = new Set<string>(CODE_PARTS);
  const bySource = new Map<string, CodeGroup[]>();
  for (const r of rows) {
    if (!parts.has(r.part)) continue;
    let groups = bySource.get(r.source);
    if (!groups) bySource.set(r.source, (groups = []));
    groups.push({
      part: r.part as CodePart,
      concept: r.concept,
      alternatives: Array.isArray(r.alternatives) ? r.alternatives : null,
      hasComponents: r.has_components,
      hasMembers: r.has_members,
      skinContext: r.skin_context,
      resources: r.resources,
    });
  }
  return bySource;
}

/**
 * Several sources' groups as one: groups alike in everything but the source add their counts, as the SQL grouping
 * over all sources would (equal jsonb values read back as equal JSON text, so their JSON keys compare).
 */
export function mergeCodeGroups(lists: Iterable<readonly CodeGroup[]>): CodeGroup[] {
  const merged = new Map<string, CodeGroup>();
  for (const list of lists) {
    for (const group of list) {
      const key = JSON.stringify([group.part, group.concept ?? null, group.alternatives ?? null, group.hasComponents ?? false, group.hasMembers ?? false, group.skinContext ?? null]);
      const existing = merged.get(key);
      if (existing) existing.resources += group.resources;
      else merged.set(key, { ...group });
    }
  }
  return [...merged.values()];
}

/** Distinct concepts with resource counts for one source (or all), not deleted. */
export async function scanCodeGroups(pool: pg.Pool, source: string | null): Promise<CodeGroup[]> {
  return mergeCodeGroups((await scanCodeGroupsBySource(pool, source)).values());
}

/** Data-quality notes of the stored evaluations, counted by resource type and issue. */
export async function readDataQualityCounts(pool: pg.Pool, source: string | null): Promise<DataQualityCount[]> {
  const { rows } = await pool.query<{ resource_type: string; issue: string; notes: number; patients: number; example: string | null }>(
    `select split_part(n->>'resource', '/', 1) as resource_type, coalesce(n->>'issue', '(none)') as issue, count(*)::int as notes,
            count(distinct (e.source, e.patient_id))::int as patients, min(left(n->>'detail', 300)) as example
       from evaluations e
       cross join lateral jsonb_array_elements(case when jsonb_typeof(e.result->'dataQuality') = 'array' then e.result->'dataQuality' else '[]'::jsonb end) n
      where ($1::text is null or e.source = $1)
      group by 1, 2
      order by notes desc, 1, 2`,
    [source],
  );
  return rows.map((r) => ({ resourceType: r.resource_type || "(unknown)", issue: r.issue, notes: r.notes, patients: r.patients, example: r.example }));
}

/** Input the syncs could not use (sync_issues), counted by issue. */
export async function readSyncIssueCounts(pool: pg.Pool, source: string | null): Promise<SyncIssueCount[]> {
  const { rows } = await pool.query<{ issue: string; count: number; runs: number; last_seen: Date; example: string | null }>(
    `select issue, count(*)::int as count, count(distinct run_id)::int as runs, max(created_at) as last_seen,
            min(case when file is not null then file || coalesce(':' || line, '') end) as example
       from sync_issues where ($1::text is null or source = $1)
      group by issue order by count desc, issue`,
    [source],
  );
  return rows.map((r) => ({ issue: r.issue, count: r.count, runs: r.runs, lastSeen: r.last_seen.toISOString(), example: r.example }));
}

interface CoverageInput {
  source: string | null;
  generatedAt: Date;
  groups: readonly CodeGroup[];
  mappings: readonly CodeMappingView[];
  dataQuality: DataQualityCount[];
  syncIssues: SyncIssueCount[];
  scanMs: number;
}

/** Classifies the groups with the engine's matcher and the site mappings, and puts the page's figures together. */
function coverageOf(input: CoverageInput): CodeCoverage {
  const { matched, ignored } = classifyCodeGroups(input.groups, mappingIndexOf(input.mappings));
  const sum = (rows: CoverageRow[]) => rows.reduce((n, r) => n + r.resources, 0);
  const matchedEntries = sum(matched);
  const ignoredEntries = sum(ignored);
  return {
    generatedAt: input.generatedAt.toISOString(),
    source: input.source,
    totals: { entries: matchedEntries + ignoredEntries, matched: matchedEntries, ignored: ignoredEntries },
    matched,
    ignored,
    mappings: mappingCoverage(input.mappings, matched),
    dataQuality: input.dataQuality,
    syncIssues: input.syncIssues,
    scanMs: input.scanMs,
  };
}

/**
 * Everything the code-coverage page shows, computed now: a scan of the source's resources (seconds to minutes on
 * a large panel), so requests read the stored view (readCodeCoverageView) and a job computes it.
 */
export async function readCodeCoverage(pool: pg.Pool, options: { source?: string | null; now?: Date } = {}): Promise<CodeCoverage> {
  const source = options.source ?? null;
  const started = performance.now();
  const [groups, mappings, dataQuality, syncIssues] = await Promise.all([
    scanCodeGroups(pool, source).then((g) => ({ groups: g, ms: Math.round(performance.now() - started) })),
    listCodeMappings(pool),
    readDataQualityCounts(pool, source),
    readSyncIssueCounts(pool, source),
  ]);
  return coverageOf({ source, generatedAt: options.now ?? new Date(), groups: groups.groups, mappings, dataQuality, syncIssues, scanMs: groups.ms });
}

export interface ComputedCoverageViews {
  computedAt: Date;
  /** The computed_views.source keys written ("*" for every source together). */
  views: string[];
  scanMs: number;
}

/**
 * Computes and stores the code-coverage views: one source's (sourceId), or every configured source's and the
 * all-sources one ("*") from a single pass over the resources. computedAt is when the data was read (the
 * database clock before the scan); a view computed from older data never replaces a newer one, whichever
 * computation finishes last.
 */
export async function computeCodeCoverageViews(pool: pg.Pool, options: { sourceId: string | null }): Promise<ComputedCoverageViews> {
  const { sourceId } = options;
  const computedAt = (await pool.query<{ now: Date }>("select clock_timestamp() as now")).rows[0]!.now;
  const mappings = await listCodeMappings(pool);
  const started = performance.now();
  const bySource = await scanCodeGroupsBySource(pool, sourceId);
  const scanMs = Math.round(performance.now() - started);
  let targets: Array<string | null>;
  if (sourceId !== null) {
    targets = [sourceId];
  } else {
    // The page shows configured sources one by one; data left by an unconfigured one counts in "*" only.
    const configured = (await pool.query<{ id: string }>("select id from sources")).rows.map((r) => r.id);
    targets = [...configured.sort(), null];
  }
  const views: string[] = [];
  for (const target of targets) {
    const groups = target === null ? mergeCodeGroups(bySource.values()) : (bySource.get(target) ?? []);
    const [dataQuality, syncIssues] = await Promise.all([readDataQualityCounts(pool, target), readSyncIssueCounts(pool, target)]);
    const coverage = coverageOf({ source: target, generatedAt: computedAt, groups, mappings, dataQuality, syncIssues, scanMs });
    const key = target ?? ALL_SOURCES_KEY;
    await pool.query(
      `insert into computed_views (source, view, computed_at, body) values ($1, $2, $3, $4::jsonb)
       on conflict (source, view) do update set computed_at = excluded.computed_at, body = excluded.body
        where computed_views.computed_at <= excluded.computed_at`,
      [key, CODE_COVERAGE_VIEW, computedAt, JSON.stringify(coverage)],
    );
    views.push(key);
  }
  if (sourceId === null) {
    // Sources no longer configured keep no view of their own.
    await pool.query(`delete from computed_views where view = $1 and source <> all($2::text[])`, [CODE_COVERAGE_VIEW, views]);
  }
  return { computedAt, views, scanMs };
}

/** The stored code-coverage view of one source (or "*", all: null), or null when none was computed yet. */
export async function readCodeCoverageView(pool: pg.Pool, source: string | null): Promise<{ computedAt: string; coverage: CodeCoverage } | null> {
  const { rows } = await pool.query<{ computed_at: Date; body: CodeCoverage }>(`select computed_at, body from computed_views where source = $1 and view = $2`, [
    source ?? ALL_SOURCES_KEY,
    CODE_COVERAGE_VIEW,
  ]);
  const row = rows[0];
  return row ? { computedAt: row.computed_at.toISOString(), coverage: row.body } : null;
}
