/**
 * Site code mappings (code_mappings): list, add and remove (quick: the request answers at once), and the
 * re-evaluation a change needs, which a job runs: find the synced patients a mapping affects (those with a
 * resource carrying that system|code where the engine reads codes, a scan of every source) and re-evaluate them.
 * Mappings apply to every source; systems compare as the engine compares them (normalizeSystem).
 */
import type pg from "pg";
import { normalizeSystem, parseConceptId } from "../clinical/codes";
import { builtInConceptFor, type CodeMappingView } from "./code-classification";
import { CODED_RESOURCE_TYPES, CONCEPT_ROWS_FROM } from "./code-sql";

export interface AffectedPatients {
  source: string;
  patientIds: string[];
}

export type CodeMappingErrorCode = "invalid-concept" | "built-in" | "already-mapped" | "not-found";

/** A mapping that cannot be added or removed, with a sentence for the person who tried. */
export class CodeMappingError extends Error {
  readonly code: CodeMappingErrorCode;
  constructor(code: CodeMappingErrorCode, message: string) {
    super(message);
    this.name = "CodeMappingError";
    this.code = code;
  }
}

interface MappingRow {
  id: string;
  system: string;
  code: string;
  concept: string;
  display: string | null;
  created_by: string | null;
  created_at: Date;
}

const MAPPING_COLUMNS = `id::text as id, system, code, concept, display, created_by, created_at`;

function view(row: MappingRow): CodeMappingView {
  return { id: row.id, system: row.system, code: row.code, concept: row.concept, display: row.display, createdBy: row.created_by, createdAt: row.created_at.toISOString() };
}

export async function listCodeMappings(pool: pg.Pool): Promise<CodeMappingView[]> {
  const { rows } = await pool.query<MappingRow>(`select ${MAPPING_COLUMNS} from code_mappings order by system, code`);
  return rows.map(view);
}

/**
 * Synced patients with a (not deleted) resource carrying system|code where the engine reads codes, per source.
 * Medications outside a patient compartment count for the patients whose medication[x] references them.
 */
export async function findPatientsWithCode(pool: pg.Pool, system: string, code: string): Promise<AffectedPatients[]> {
  const { rows } = await pool.query<{ source: string; patient_id: string; system: string | null }>(
    `select distinct r.source, r.patient_id, c->>'system' as system
       from ${CONCEPT_ROWS_FROM}
      cross join lateral (select k.concept as cc union all select a from jsonb_array_elements(coalesce(k.alternatives, '[]'::jsonb)) a) x
      cross join lateral jsonb_array_elements(case when jsonb_typeof(x.cc->'coding') = 'array' then x.cc->'coding' else '[]'::jsonb end) c
      where not r.deleted and r.patient_id <> '' and r.resource_type = any($2::text[]) and btrim(c->>'code') = $1`,
    [code.trim(), CODED_RESOURCE_TYPES],
  );
  const wanted = normalizeSystem(system);
  const bySource = new Map<string, Set<string>>();
  for (const r of rows) {
    if (r.system === null || normalizeSystem(r.system) !== wanted) continue;
    let ids = bySource.get(r.source);
    if (!ids) bySource.set(r.source, (ids = new Set()));
    ids.add(r.patient_id);
  }
  return [...bySource.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([source, ids]) => ({ source, patientIds: [...ids].sort() }));
}

export function countPatients(affected: readonly AffectedPatients[]): number {
  return affected.reduce((n, a) => n + a.patientIds.length, 0);
}

export interface NewCodeMapping {
  system: string;
  code: string;
  concept: string;
  display?: string | null;
  createdBy: string | null;
}

/**
 * Adds a mapping and returns it; the patients it affects are left to reevaluatePatientsWithCode (a job). Refused when the concept id is unknown, a built-in
 * code already matches (the mapping would never apply), or the code (under any name of its system) is mapped.
 */
export async function addCodeMapping(pool: pg.Pool, input: NewCodeMapping): Promise<CodeMappingView> {
  const system = input.system.trim();
  const code = input.code.trim();
  if (!parseConceptId(input.concept)) throw new CodeMappingError("invalid-concept", `"${input.concept}" is not a concept the engine knows.`);
  const builtIn = builtInConceptFor(system, code);
  if (builtIn) throw new CodeMappingError("built-in", `${system}|${code} already matches ${builtIn} by its system and code; a site mapping would never apply.`);
  const existing = (await listCodeMappings(pool)).find((m) => m.code === code && normalizeSystem(m.system) === normalizeSystem(system));
  if (existing) throw new CodeMappingError("already-mapped", `${system}|${code} is already mapped to ${existing.concept}; remove that mapping first.`);
  const { rows } = await pool.query<MappingRow>(
    `insert into code_mappings (system, code, concept, display, created_by) values ($1, $2, $3, $4, $5)
     on conflict (system, code) do nothing returning ${MAPPING_COLUMNS}`,
    [system, code, input.concept, input.display?.trim() || null, input.createdBy],
  );
  const row = rows[0];
  // Another lead added the same code between the check and the insert.
  if (!row) throw new CodeMappingError("already-mapped", `${system}|${code} is already mapped; reload the page.`);
  return view(row);
}

/** Removes a mapping and returns it, or throws not-found. */
export async function removeCodeMapping(pool: pg.Pool, id: string): Promise<CodeMappingView> {
  const { rows } = await pool.query<MappingRow>(`delete from code_mappings where id = $1::bigint returning ${MAPPING_COLUMNS}`, [id]);
  const row = rows[0];
  if (!row) throw new CodeMappingError("not-found", "That mapping does not exist (it may have been removed already).");
  return view(row);
}

/** Above this many patients with the code in one source, that source is re-evaluated whole (no id list). */
export const WHOLE_SOURCE_ABOVE = 20_000;

/** Re-evaluates one source's patients: the given ids, or (null) everyone. Returns how many were evaluated. */
export type EvaluateSourcePatients = (source: string, patientIds: readonly string[] | null) => Promise<number>;

export interface CodeReevaluationResult {
  /** Synced patients whose resources carry the code, across sources. */
  patients: number;
  /** Patients evaluated again: those, or everyone in a source re-evaluated whole. */
  evaluated: number;
  sources: Array<{ source: string; patients: number; evaluated: number; wholeSource: boolean }>;
}

/**
 * After a mapping of system|code was added or removed: finds the synced patients whose resources carry the code
 * and re-evaluates them, source by source (the evaluations read the mappings as they are now).
 */
export async function reevaluatePatientsWithCode(pool: pg.Pool, target: { system: string; code: string }, evaluate: EvaluateSourcePatients): Promise<CodeReevaluationResult> {
  const affected = await findPatientsWithCode(pool, target.system, target.code);
  const sources: CodeReevaluationResult["sources"] = [];
  for (const { source, patientIds } of affected) {
    const wholeSource = patientIds.length > WHOLE_SOURCE_ABOVE;
    const evaluated = await evaluate(source, wholeSource ? null : patientIds);
    sources.push({ source, patients: patientIds.length, evaluated, wholeSource });
  }
  return { patients: countPatients(affected), evaluated: sources.reduce((n, s) => n + s.evaluated, 0), sources };
}
