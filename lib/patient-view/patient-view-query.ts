/** React Query options for GET /api/patients/[id], shared by every component that reads the patient view. */
import { queryOptions } from "@tanstack/react-query";
import type { ApiErrorBody, ApiErrorCode, PatientViewResponse } from "../fhir/patient-record-types";

const KNOWN_CODES: readonly ApiErrorCode[] = ["no-session", "session-expired", "patient-not-in-context", "bad-request", "fhir-unavailable"];

/** A failed patient-view request, with the API's error code so the page can choose what to show. */
export class PatientViewRequestError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode | "unknown";
  readonly relaunch: string | undefined;

  constructor(status: number, code: ApiErrorCode | "unknown", message: string, relaunch?: string) {
    super(message);
    this.name = "PatientViewRequestError";
    this.status = status;
    this.code = code;
    this.relaunch = relaunch;
  }

  /** Session problems send the user back through the EHR launch. */
  get needsRelaunch(): boolean {
    return this.status === 401 || this.code === "no-session" || this.code === "session-expired";
  }
}

export function patientViewUrl(patientId: string): string {
  return `/api/patients/${encodeURIComponent(patientId)}`;
}

export async function fetchPatientView(patientId: string, fetchImpl: typeof fetch = fetch, signal?: AbortSignal): Promise<PatientViewResponse> {
  const response = await fetchImpl(patientViewUrl(patientId), { headers: { accept: "application/json" }, credentials: "same-origin", ...(signal ? { signal } : {}) });
  if (response.ok) return (await response.json()) as PatientViewResponse;
  let body: Partial<ApiErrorBody> = {};
  try {
    body = (await response.json()) as Partial<ApiErrorBody>;
  } catch {
    // Not JSON (a proxy error page, for example): the status alone decides.
  }
  const code = body.error && KNOWN_CODES.includes(body.error) ? body.error : "unknown";
  throw new PatientViewRequestError(response.status, code, body.message ?? `The patient view request failed (HTTP ${response.status}).`, body.relaunch);
}

export function patientViewQueryOptions(patientId: string) {
  return queryOptions({
    queryKey: ["patient-view", patientId] as const,
    queryFn: ({ signal }) => fetchPatientView(patientId, fetch, signal),
    // Session and context errors do not heal by retrying; a flaky 5xx may.
    retry: (failureCount, error) => !(error instanceof PatientViewRequestError && error.status < 500) && failureCount < 1,
  });
}
