/**
 * The score-capture API between the patient page and POST /api/patients/[id]/observations. Client-safe
 * (types and constants only).
 */
import type { EasiRegion } from "../clinical/easi";

/** Measures the app records; codes in the app's instrument CodeSystem. */
export type ScoreMeasure = "itch-nrs" | "skin-pain-nrs" | "easi";
export const SCORE_MEASURES: readonly ScoreMeasure[] = ["itch-nrs", "skin-pain-nrs", "easi"];

/** Request body. `components` (EASI only): each region's contribution to the total. */
export interface RecordScoreRequest {
  measure: ScoreMeasure;
  value: number;
  /** YYYY-MM-DD, or a FHIR dateTime with a time zone. Not after the clinic's today. */
  effectiveDateTime: string;
  components?: Partial<Record<EasiRegion, number>>;
}

/** 201 body. */
export interface RecordScoreResponse {
  /** The new Observation's id at the EHR. */
  id: string;
  measure: ScoreMeasure;
  value: number;
  effectiveDateTime: string;
}

/**
 * Error codes and their HTTP status:
 * - 400 "bad-request": malformed patient id, body not JSON; "invalid-score": out of range, bad date (see `issues`)
 * - 401 "no-session" | "session-expired" -> /relaunch
 * - 403 "patient-not-in-context": the id is not the session's launch patient
 * - 403 "no-write-scope": the EHR did not grant Observation create (or refused it)
 * - 415 "unsupported-media-type": the body must be application/json
 * - 502 "fhir-write-failed": the EHR did not accept the Observation
 */
export type RecordScoreErrorCode =
  | "bad-request"
  | "invalid-score"
  | "no-session"
  | "session-expired"
  | "patient-not-in-context"
  | "no-write-scope"
  | "unsupported-media-type"
  | "fhir-write-failed";

export interface RecordScoreErrorBody {
  error: RecordScoreErrorCode;
  /** Human-readable, PHI-free. */
  message: string;
  relaunch?: string;
  /** For "invalid-score": which fields and why. */
  issues?: { path: string; message: string }[];
}
