/**
 * Fetches one patient's record for the engine, in parallel: the Patient, Observations by category and by the
 * codes the engine knows (see below), MedicationStatement/Request/Dispense with _include of Medication (retried without
 * _include when the server refuses it; referenced Medications not included are read afterwards), Conditions,
 * Immunizations and Procedures. Resources are de-duplicated by type/id; contained resources stay inside their
 * parent (the engine resolves `#id` references). A failing search is reported, never fatal.
 *
 * The code search is for scores filed outside those categories: generic LOINC pain severity (often under
 * vital-signs) and the site's mapped score codes (an Epic flowsheet row, say, is searchable by code only).
 * The app's own instrument codes are not searched by code: the app files them under survey (score capture)
 * and searching them by code would fetch every score a second time.
 */
import type { Patient, Resource } from "@medplum/fhirtypes";
import type { FetchFailure, FetchSummary } from "./patient-record-types";
import { FhirHttpError, FhirRequester, type FhirRequesterOptions } from "./requester";
import { chunkCodes, OBSERVATION_CATEGORIES, SCORE_CODE_SEARCH } from "./search-codes";

export interface PatientRecordOptions extends Omit<FhirRequesterOptions, "baseUrl" | "accessToken"> {
  /** _count asked for (default 1000; servers cap it, then next links are followed). */
  pageSize?: number;
  /** Extra Observation codes (system|code), e.g. the site's code mappings. */
  extraObservationCodes?: readonly string[];
}

export interface PatientRecord {
  patient: Patient | null;
  /** Every resource fetched (Patient included), de-duplicated by type/id. */
  resources: Resource[];
  fetch: FetchSummary;
  /** True when the server answered 401 to any request (token revoked or expired). */
  unauthorized: boolean;
}

interface SearchSpec {
  /** PHI-free label used in failures: the search without base URL and patient id. */
  label: string;
  path: string;
  /** A retry path when the server refuses `path` with 400 (e.g. without _include). */
  fallback?: string;
}

const MED_TYPES = ["MedicationStatement", "MedicationRequest", "MedicationDispense"] as const;

export function patientSearches(patientId: string, opts: { pageSize?: number; extraObservationCodes?: readonly string[] } = {}): SearchSpec[] {
  const count = opts.pageSize ?? 1000;
  const pid = encodeURIComponent(patientId);
  const specs: SearchSpec[] = [];
  for (const category of OBSERVATION_CATEGORIES) {
    specs.push({ label: `Observation?category=${category}`, path: `Observation?patient=${pid}&category=${category}&_count=${count}` });
  }
  const codes = [...new Set([...SCORE_CODE_SEARCH, ...(opts.extraObservationCodes ?? [])])];
  chunkCodes(codes).forEach((chunk, i, all) => {
    specs.push({
      label: `Observation?code=(score codes${all.length > 1 ? ` ${i + 1}/${all.length}` : ""})`,
      path: `Observation?patient=${pid}&code=${chunk.map(encodeURIComponent).join(",")}&_count=${count}`,
    });
  });
  for (const type of MED_TYPES) {
    specs.push({
      label: `${type}?_include=${type}:medication`,
      path: `${type}?patient=${pid}&_include=${type}:medication&_count=${count}`,
      fallback: `${type}?patient=${pid}&_count=${count}`,
    });
  }
  for (const type of ["Condition", "Immunization", "Procedure"]) specs.push({ label: type, path: `${type}?patient=${pid}&_count=${count}` });
  return specs;
}

function failureOf(label: string, error: unknown): FetchFailure {
  if (error instanceof FhirHttpError) return { search: label, status: error.status, message: error.message };
  return { search: label, status: null, message: error instanceof Error ? error.name : "error" };
}

/** `Medication/x` references (not contained, not `#x`) of medication resources. */
function medicationReferences(resources: Resource[]): string[] {
  const refs = new Set<string>();
  for (const r of resources) {
    if (!(MED_TYPES as readonly string[]).includes(r.resourceType)) continue;
    const ref = (r as { medicationReference?: { reference?: string } }).medicationReference?.reference;
    if (!ref || ref.startsWith("#")) continue;
    const m = /(?:^|\/)Medication\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(ref);
    if (m?.[1]) refs.add(m[1]);
  }
  return [...refs];
}

export async function fetchPatientRecord(baseUrl: string, accessToken: string, patientId: string, options: PatientRecordOptions = {}): Promise<PatientRecord> {
  const started = performance.now();
  const requester = new FhirRequester({ ...options, baseUrl, accessToken });
  const failures: FetchFailure[] = [];
  const byKey = new Map<string, Resource>();
  let unauthorized = false;
  const add = (resources: Resource[]): void => {
    for (const r of resources) {
      if (!r?.resourceType || r.resourceType === "OperationOutcome") continue;
      const key = `${r.resourceType}/${r.id ?? `anon-${byKey.size}`}`;
      if (!byKey.has(key)) byKey.set(key, r);
    }
  };
  const note = (label: string, error: unknown): void => {
    if (error instanceof FhirHttpError && error.status === 401) unauthorized = true;
    failures.push(failureOf(label, error));
  };

  const searches = patientSearches(patientId, options);
  const runSearch = async (spec: SearchSpec): Promise<void> => {
    try {
      add((await requester.searchAll(spec.path)).resources);
    } catch (error) {
      if (spec.fallback && error instanceof FhirHttpError && error.status === 400) {
        try {
          add((await requester.searchAll(spec.fallback)).resources);
          return;
        } catch (again) {
          note(spec.label, again);
          return;
        }
      }
      note(spec.label, error);
    }
  };
  let patient: Patient | null = null;
  await Promise.all([
    requester
      .get<Patient>(`Patient/${encodeURIComponent(patientId)}`)
      .then((p) => {
        if (p.resourceType !== "Patient") throw new FhirHttpError(200, "not a Patient");
        patient = p;
        add([p]);
      })
      .catch((e: unknown) => note("Patient (read)", e)),
    ...searches.map(runSearch),
  ]);

  // Medications referenced but not _include'd (server without _include support, or references across pages).
  const missing = medicationReferences([...byKey.values()]).filter((id) => !byKey.has(`Medication/${id}`));
  for (const chunk of chunkCodes(missing)) {
    try {
      add((await requester.searchAll(`Medication?_id=${chunk.map(encodeURIComponent).join(",")}&_count=${chunk.length}`)).resources);
    } catch (error) {
      note("Medication?_id=(referenced)", error);
    }
  }

  const resources = [...byKey.values()];
  const resourceCounts: Record<string, number> = {};
  for (const r of resources) resourceCounts[r.resourceType] = (resourceCounts[r.resourceType] ?? 0) + 1;
  failures.sort((a, b) => a.search.localeCompare(b.search));
  return {
    patient,
    resources,
    unauthorized,
    fetch: {
      partial: failures.length > 0,
      failures,
      requests: requester.stats.requests,
      bytes: requester.stats.bytes,
      ms: Math.round(performance.now() - started),
      resourceCounts,
    },
  };
}
