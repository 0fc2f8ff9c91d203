/**
 * The JSON contract of GET /api/patients/[id] (the dermatologist's patient view). The UI codes against
 * these types; keep them stable. Errors are `ApiErrorBody` with the HTTP status given in `ApiErrorCode`.
 */
import type { IsoDate, PatientEvaluation } from "../clinical/types";

/** Demographics shown in the header. Every field but `id` may be null when the Patient read failed. */
export interface PatientHeader {
  id: string;
  /** Display name ("Given Family"), from the official (else first) HumanName; null when absent. */
  name: string | null;
  birthDate: IsoDate | null;
  /** Whole years at `asOf`; null without a birthDate. */
  age: number | null;
  /** Patient.gender as written: "female" | "male" | "other" | "unknown", or null. */
  sex: string | null;
}

/** One FHIR search (or read) that failed after retries; the page shows a banner listing these. */
export interface FetchFailure {
  /** The search as issued, without the server base and without patient id, e.g. "Observation?category=laboratory". */
  search: string;
  /** HTTP status of the last attempt, or null for a network error/timeout. */
  status: number | null;
  /** Short, PHI-free message: OperationOutcome diagnostics or the status text. */
  message: string;
}

export interface FetchSummary {
  /** True when at least one search failed: the evaluation is built on incomplete data. */
  partial: boolean;
  failures: FetchFailure[];
  /** FHIR HTTP requests issued, including retries and next-page requests. */
  requests: number;
  /** Response body bytes received. */
  bytes: number;
  /** Wall time of the whole fetch, in milliseconds. */
  ms: number;
  /** Resources received after de-duplication, by resourceType (e.g. { Observation: 412, MedicationRequest: 3 }). */
  resourceCounts: Record<string, number>;
}

/** What the session's token allows; the UI hides score recording without write scope. */
export interface AccessSummary {
  /** The scopes the server granted (space separated, as in the token response). */
  scope: string;
  /** True when the granted scopes allow creating Observations (patient/Observation.c, .write or .*). */
  canWriteObservations: boolean;
  /** The FHIR server (iss) the data came from. */
  fhirServer: string;
}

/** 200 body of GET /api/patients/[id]. */
export interface PatientViewResponse {
  patient: PatientHeader;
  /** Today in the clinic's time zone (env CLINIC_TIMEZONE, default UTC), YYYY-MM-DD. */
  asOf: IsoDate;
  /** The engine's RULES_VERSION used for `evaluation`. */
  rulesVersion: string;
  /** The engine's output for this patient (clinical-reference section 7 plus trends, therapyHistory, codeMatches). */
  evaluation: PatientEvaluation;
  fetch: FetchSummary;
  access: AccessSummary;
}

/**
 * Error codes and their HTTP status:
 * - 401 "no-session": no session cookie or unknown session -> show /relaunch
 * - 401 "session-expired": session or token expired and could not be refreshed -> show /relaunch
 * - 403 "patient-not-in-context": the id in the URL is not the session's launch patient
 * - 400 "bad-request": malformed id
 * - 502 "fhir-unavailable": the Patient and every search failed (nothing to show)
 */
export type ApiErrorCode = "no-session" | "session-expired" | "patient-not-in-context" | "bad-request" | "fhir-unavailable";

export interface ApiErrorBody {
  error: ApiErrorCode;
  /** Human-readable, PHI-free. */
  message?: string;
  /** For 401: where to send the user ("/relaunch"). */
  relaunch?: string;
}
