/**
 * The patient view of a synced patient: the patient's stored resources (lib/db/resource-store), evaluated by
 * the same engine with details (trends, therapy history, code matches) at the clinic's today and the site's
 * code mappings, as a PatientViewResponse the EHR launch's page renders unchanged, plus where and when the
 * data was synced. Read-only: a synced copy offers no score recording.
 */
import type { Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { evaluatePatient, RULES_VERSION } from "../clinical";
import { loadPatientResources } from "../db/resource-store";
import { ageAt, displayName } from "../fhir/patient-view";
import type { SyncedPatientViewResponse } from "./types";
import { readCodeMappings } from "../db/code-mappings";

export type LoadResources = (pool: pg.Pool, source: string, patientIds: string[]) => Promise<Map<string, Resource[]>>;

export interface SyncedPatientOptions {
  /** The evaluation date, YYYY-MM-DD (the app's clinicToday()). */
  asOf: string;
  /** Default: loadPatientResources from lib/db/resource-store. */
  loadResources?: LoadResources;
}


/** The view, or null when the source has no stored resources for this patient. */
export async function loadSyncedPatientView(pool: pg.Pool, source: string, patientId: string, options: SyncedPatientOptions): Promise<SyncedPatientViewResponse | null> {
  const started = performance.now();
  const load = options.loadResources ?? loadPatientResources;
  const [byPatient, sourceRow, codeMappings] = await Promise.all([
    load(pool, source, [patientId]),
    pool.query<{ name: string; fhir_base: string; last_success_at: Date | null }>("SELECT name, fhir_base, last_success_at FROM sources WHERE id = $1", [source]),
    readCodeMappings(pool),
  ]);
  const resources = byPatient.get(patientId) ?? [];
  if (resources.length === 0) return null;

  const evaluation = evaluatePatient(resources, { asOf: options.asOf, patientId, codeMappings, details: true });
  const patient = resources.find((r) => r.resourceType === "Patient" && r.id === patientId) ?? null;
  const resourceCounts: Record<string, number> = {};
  for (const r of resources) resourceCounts[r.resourceType] = (resourceCounts[r.resourceType] ?? 0) + 1;
  const src = sourceRow.rows[0];

  return {
    patient: {
      id: patientId,
      name: patient?.resourceType === "Patient" ? displayName(patient) : null,
      birthDate: patient?.resourceType === "Patient" && typeof patient.birthDate === "string" ? patient.birthDate : null,
      age: patient?.resourceType === "Patient" ? ageAt(patient.birthDate, options.asOf) : null,
      sex: patient?.resourceType === "Patient" && typeof patient.gender === "string" ? patient.gender : null,
    },
    asOf: options.asOf,
    rulesVersion: RULES_VERSION,
    evaluation,
    // Nothing was fetched from the EHR for this page: the data is the last sync's copy.
    fetch: { partial: false, failures: [], requests: 0, bytes: 0, ms: Math.round(performance.now() - started), resourceCounts },
    access: { scope: "", canWriteObservations: false, fhirServer: src?.fhir_base ?? source },
    synced: { source, sourceName: src?.name ?? source, syncedAt: src?.last_success_at ? src.last_success_at.toISOString() : null },
  };
}
