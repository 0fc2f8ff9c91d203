/**
 * The app process's dependencies for the patient view: SMART session deps plus the site's code mappings
 * (code_mappings table) for the engine and the score code search, the structured log and the audit trail. Used by
 * GET /api/patients/[id] and by the page's server-side prefetch, so both behave (and are audited) identically.
 */
import "server-only";
import { eventLogger } from "../app/log";
import { auditTo } from "../audit/audit";
import { pgPool } from "../db/pool";
import { readCodeMappings } from "../db/code-mappings";
import { smartDeps } from "../smart/server";
import type { PatientApiDeps } from "./patient-api";

export function patientViewDeps(): PatientApiDeps {
  const deps = smartDeps();
  return { store: deps.store, config: deps.config, log: eventLogger("patient-view"), codeMappings: () => readCodeMappings(pgPool()), audit: auditTo(pgPool()) };
}
