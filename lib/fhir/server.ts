/**
 * The app process's dependencies for the patient view: SMART session deps plus the site's code mappings
 * (code_mappings table) for the engine and the score code search, the structured log and the audit trail. Used by
 * GET /api/patients/[id] and by the page's server-side prefetch, so both behave (and are audited) identically.
 */
import "server-only";
import { eventLogger } from "../app/log";
import { auditTo } from "../audit/audit";
import { pgPool } from "../db/pool";
import type { CodeMapping } from "../clinical/types";
import { smartDeps } from "../smart/server";
import type { PatientApiDeps } from "./patient-api";

export async function siteCodeMappings(): Promise<CodeMapping[]> {
  // Plain SQL on the pg pool, like the session read: every patient view reads these.
  const { rows } = await pgPool().query<{ system: string; code: string; concept: string; display: string | null }>("SELECT system, code, concept, display FROM code_mappings ORDER BY id");
  return rows.map((m) => ({ system: m.system, code: m.code, concept: m.concept, ...(m.display ? { display: m.display } : {}) }));
}

export function patientViewDeps(): PatientApiDeps {
  const deps = smartDeps();
  return { store: deps.store, config: deps.config, log: eventLogger("patient-view"), codeMappings: siteCodeMappings, audit: auditTo(pgPool()) };
}
