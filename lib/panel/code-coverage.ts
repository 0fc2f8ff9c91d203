/**
 * GET /api/panel/code-coverage: which codes and site mappings matched how many synced resources, which were
 * ignored and why, and the data-quality notes the evaluations and syncs recorded, counted by issue.
 *
 * The scan aggregates distinct concepts in SQL (one pass over the source's coded resources, grouped by the
 * concept JSON) and classifies each distinct one in TypeScript with the engine's matcher, so the view and the
 * evaluations can never disagree about a code. Cost: one sequential pass over the source's resources.
 */
import type pg from "pg";
import { CODE_PARTS, classifyCodeGroups, mappingCoverage, mappingIndexOf, type CodeGroup, type CodePart, type CoverageRow, type MappingCoverage } from "./code-classification";
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

export interface CodeCoverageResponse {
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

interface GroupRow {
  part: string;
  concept: unknown;
  alternatives: unknown[] | null;
  has_components: boolean;
  has_members: boolean;
  skin_context: boolean | null;
  resources: number;
}

/** Distinct concepts with resource counts for one source (or all), not deleted. */
export async function scanCodeGroups(pool: pg.Pool, source: string | null): Promise<CodeGroup[]> {
  const { rows } = await pool.query<GroupRow>(
    `select k.part, k.concept, k.alternatives, k.has_components, k.has_members, k.skin_context, count(*)::int as resources
       from ${CONCEPT_ROWS_FROM}
      where not r.deleted and r.resource_type = any($2::text[]) and ($1::text is null or r.source = $1)
      group by 1, 2, 3, 4, 5, 6`,
    [source, CODED_RESOURCE_TYPES],
  );
  const parts = new Set<string>(CODE_PARTS);
  return rows
    .filter((r) => parts.has(r.part))
    .map((r) => ({
      part: r.part as CodePart,
      concept: r.concept,
      alternatives: Array.isArray(r.alternatives) ? r.alternatives : null,
      hasComponents: r.has_components,
      hasMembers: r.has_members,
      skinContext: r.skin_context,
      resources: r.resources,
    }));
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

/** Everything the code-coverage page shows. */
export async function readCodeCoverage(pool: pg.Pool, options: { source?: string | null; now?: Date } = {}): Promise<CodeCoverageResponse> {
  const source = options.source ?? null;
  const started = performance.now();
  const [groups, mappings, dataQuality, syncIssues] = await Promise.all([
    scanCodeGroups(pool, source).then((g) => ({ groups: g, ms: Math.round(performance.now() - started) })),
    listCodeMappings(pool),
    readDataQualityCounts(pool, source),
    readSyncIssueCounts(pool, source),
  ]);
  const { matched, ignored } = classifyCodeGroups(groups.groups, mappingIndexOf(mappings));
  const sum = (rows: CoverageRow[]) => rows.reduce((n, r) => n + r.resources, 0);
  const matchedEntries = sum(matched);
  const ignoredEntries = sum(ignored);
  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    source,
    totals: { entries: matchedEntries + ignoredEntries, matched: matchedEntries, ignored: ignoredEntries },
    matched,
    ignored,
    mappings: mappingCoverage(mappings, matched),
    dataQuality,
    syncIssues,
    scanMs: groups.ms,
  };
}
