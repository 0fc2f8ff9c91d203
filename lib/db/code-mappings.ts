/** The site's own code mappings (code_mappings) as the engine takes them: every evaluation reads them this way. */
import type pg from "pg";
import type { CodeMapping } from "../clinical/types";

/** In id order, so the sync's evaluation, the synced patient view and the CDS service evaluate alike. */
export async function readCodeMappings(pool: Pick<pg.Pool, "query">): Promise<CodeMapping[]> {
  const { rows } = await pool.query<{ system: string; code: string; concept: string; display: string | null }>("SELECT system, code, concept, display FROM code_mappings ORDER BY id");
  return rows.map((r) => (r.display === null ? { system: r.system, code: r.code, concept: r.concept } : { system: r.system, code: r.code, concept: r.concept, display: r.display }));
}
