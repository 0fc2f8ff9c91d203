/**
 * The app process's dependencies for the patient view: SMART session deps plus the site's code mappings
 * (code_mappings table) for the engine and the score code search, the structured log and the audit trail. Used by
 * GET /api/patients/[id] and by the page's server-side prefetch, so both behave (and are audited) identically.
 */
import "server-only";
import { eventLogger } from "../app/log";
import { auditTo } from "../audit/audit";
import { prisma } from "../db/client";
import type { CodeMapping } from "../clinical/types";
import { smartDeps } from "../smart/server";
import type { PatientApiDeps } from "./patient-api";

export async function siteCodeMappings(): Promise<CodeMapping[]> {
  const rows = await prisma().codeMapping.findMany({ select: { system: true, code: true, concept: true, display: true } });
  return rows.map((m) => ({ system: m.system, code: m.code, concept: m.concept, ...(m.display ? { display: m.display } : {}) }));
}

export function patientViewDeps(): PatientApiDeps {
  const deps = smartDeps();
  return { store: deps.store, config: deps.config, log: eventLogger("patient-view"), codeMappings: siteCodeMappings, audit: auditTo(prisma()) };
}
