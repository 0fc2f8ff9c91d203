/**
 * The app process's dependencies for the patient view: SMART session deps plus the site's code mappings
 * (code_mappings table) for the engine and the score code search. Used by GET /api/patients/[id] and by the
 * page's server-side prefetch, so both behave identically.
 */
import "server-only";
import { prisma } from "../db/client";
import type { CodeMapping } from "../clinical/types";
import { logEvent, smartDeps } from "../smart/server";
import type { PatientApiDeps } from "./patient-api";

export async function siteCodeMappings(): Promise<CodeMapping[]> {
  const rows = await prisma().codeMapping.findMany({ select: { system: true, code: true, concept: true, display: true } });
  return rows.map((m) => ({ system: m.system, code: m.code, concept: m.concept, ...(m.display ? { display: m.display } : {}) }));
}

export function patientViewDeps(): PatientApiDeps {
  const deps = smartDeps();
  return { store: deps.store, config: deps.config, log: logEvent, codeMappings: siteCodeMappings };
}
