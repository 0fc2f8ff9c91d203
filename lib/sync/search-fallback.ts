/**
 * Population sync for FHIR servers without Bulk Data $export: the Group's members (or a paged Patient search at
 * system/patient level), then each patient's record by the same FHIR searches as the EHR launch
 * (lib/fhir/patient-record.ts) with the Backend Services token. The resources come back as NDJSON lines so they go
 * through the same ingest as an export. Search cannot see deletions; what the EHR deleted stays stored until a
 * Bulk export reports it.
 */
import type { Group } from "@medplum/fhirtypes";
import { fetchPatientRecord } from "../fhir/patient-record";
import { FhirHttpError, FhirRequester } from "../fhir/requester";
import type { AccessTokenSource } from "../fhir/bulk-client";
import { patientIdFromReference } from "./ndjson-ingest";
import type { SourceConfig } from "./sources";

export class SearchFallbackError extends Error {
  override readonly name = "SearchFallbackError";
  constructor(
    message: string,
    readonly status: number | null,
    /** What a person can do about it. */
    readonly hint: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface SearchFallbackOptions {
  auth: AccessTokenSource;
  fetch?: typeof fetch;
  /** Observation codes (system|code) searched besides the engine's, e.g. the site's mapped score codes. */
  extraObservationCodes?: readonly string[];
  signal?: AbortSignal;
}

const PATIENT_PAGE = 1000;
/** Patient search pages followed at most (a million patients). */
const MAX_PATIENT_PAGES = 1000;

function hintFor(status: number | null, what: string): { hint: string; retryable: boolean } {
  if (status === null || status === 429 || status >= 500) {
    return { hint: `The EHR did not answer the ${what} (${status === null ? "no answer" : `HTTP ${status}`}); the sync will try again later.`, retryable: true };
  }
  if (status === 401) return { hint: "The EHR refused the Backend Services token; check the app's registration (client id, key) with the EHR administrator.", retryable: false };
  if (status === 403) return { hint: `The app's scopes do not cover the ${what}; ask the EHR administrator to grant system/<type>.rs for every synced type (and system/Group.rs).`, retryable: false };
  return { hint: `The EHR refused the ${what} (HTTP ${status}); check the source's configuration.`, retryable: false };
}

async function withToken<T>(auth: AccessTokenSource, signal: AbortSignal | undefined, work: (token: string) => Promise<T>): Promise<T> {
  const token = await auth.token(signal);
  try {
    return await work(token);
  } catch (error) {
    if (!(error instanceof FhirHttpError) || error.status !== 401) throw error;
    // Expired or revoked early: one more try with a new token.
    auth.invalidate(token);
    return work(await auth.token(signal));
  }
}

/** The patients to sync: the Group's active Patient members at group level, else every Patient (paged search). */
export async function listPatientIds(source: SourceConfig, options: SearchFallbackOptions): Promise<string[]> {
  try {
    return await withToken(options.auth, options.signal, async (token) => {
      const requester = new FhirRequester({ baseUrl: source.fhirBase, accessToken: token, ...(options.fetch ? { fetch: options.fetch } : {}), maxPages: MAX_PATIENT_PAGES });
      if (source.exportLevel === "group" && source.groupId) {
        const group = await requester.get<Group>(`Group/${encodeURIComponent(source.groupId)}`);
        if (group.resourceType !== "Group") throw new FhirHttpError(200, "not a Group");
        const ids = (group.member ?? []).filter((member) => !member.inactive).map((member) => patientIdFromReference(member.entity?.reference));
        return [...new Set(ids.filter((id): id is string => id !== null))];
      }
      const { resources } = await requester.searchAll(`Patient?_count=${PATIENT_PAGE}&_elements=id`);
      return [...new Set(resources.filter((resource) => resource.resourceType === "Patient" && resource.id).map((resource) => resource.id as string))];
    });
  } catch (error) {
    if (!(error instanceof FhirHttpError)) throw error;
    if (error.status === 404 && source.exportLevel === "group") {
      throw new SearchFallbackError(`Group/${source.groupId} was not found`, 404, `Group ${source.groupId} was not found at the EHR; check the source's group id.`, false);
    }
    const what = source.exportLevel === "group" ? "Group read" : "Patient search";
    const { hint, retryable } = hintFor(error.status, what);
    throw new SearchFallbackError(`${what} failed: ${error.message}`, error.status, hint, retryable);
  }
}

/** One patient's record as NDJSON lines; a record with any failed search is an error (retried by the caller). */
export async function fetchPatientLines(source: SourceConfig, patientId: string, options: SearchFallbackOptions): Promise<string[]> {
  const fetchOnce = async (token: string) => {
    const record = await fetchPatientRecord(source.fhirBase, token, patientId, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.extraObservationCodes ? { extraObservationCodes: options.extraObservationCodes } : {}),
    });
    if (record.unauthorized) throw new FhirHttpError(401, "the access token was refused");
    return record;
  };
  const record = await withToken(options.auth, options.signal, fetchOnce).catch((error: unknown) => {
    if (error instanceof FhirHttpError) {
      const { hint, retryable } = hintFor(error.status, "patient searches");
      throw new SearchFallbackError(`patient record: ${error.message}`, error.status, hint, retryable);
    }
    throw error;
  });
  // The patient left the EHR (or the Group) between the listing and now: nothing to store.
  if (record.fetch.failures.some((item) => item.search === "Patient (read)" && (item.status === 404 || item.status === 410))) return [];
  const failure = record.fetch.failures[0];
  if (failure) {
    // Searches are labelled without patient ids, so the message is safe to keep.
    const { hint, retryable } = hintFor(failure.status, `search ${failure.search}`);
    throw new SearchFallbackError(`${record.fetch.failures.length} patient search(es) failed, first ${failure.search}: ${failure.message}`, failure.status, hint, retryable);
  }
  return record.resources.filter((resource) => source.types.includes(resource.resourceType)).map((resource) => JSON.stringify(resource));
}
