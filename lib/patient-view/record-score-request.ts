/** Client side of POST /api/patients/[id]/observations: the request, its typed failure, and user-facing messages. */
import { SCORE_MEASURES, type RecordScoreErrorBody, type RecordScoreErrorCode, type RecordScoreRequest, type RecordScoreResponse, type ScoreMeasure } from "../fhir/score-types";

export class RecordScoreRequestError extends Error {
  readonly status: number;
  readonly code: RecordScoreErrorCode | "unknown";
  readonly relaunch: string | undefined;

  constructor(status: number, code: RecordScoreErrorCode | "unknown", message: string, relaunch?: string) {
    super(message);
    this.name = "RecordScoreRequestError";
    this.status = status;
    this.code = code;
    this.relaunch = relaunch;
  }
}

export function recordScoreUrl(patientId: string): string {
  return `/api/patients/${encodeURIComponent(patientId)}/observations`;
}

export async function postScore(patientId: string, body: RecordScoreRequest, fetchImpl: typeof fetch = fetch): Promise<RecordScoreResponse> {
  let response: Response;
  try {
    response = await fetchImpl(recordScoreUrl(patientId), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    throw new RecordScoreRequestError(0, "unknown", "The app could not be reached. The score was not recorded.");
  }
  if (response.ok) return (await response.json()) as RecordScoreResponse;
  let error: Partial<RecordScoreErrorBody> = {};
  try {
    error = (await response.json()) as Partial<RecordScoreErrorBody>;
  } catch {
    // not JSON: the status decides
  }
  throw new RecordScoreRequestError(response.status, error.error ?? "unknown", recordScoreErrorMessage(response.status, error), error.relaunch);
}

/** A sentence for the user: what happened and what to do. */
export function recordScoreErrorMessage(status: number, body: Partial<RecordScoreErrorBody>): string {
  switch (body.error) {
    case "no-session":
    case "session-expired":
      return "Your session has ended, so the score was not recorded. Launch the app again from the EHR.";
    case "no-write-scope":
      return "The EHR does not allow this app to record scores. The score was not recorded.";
    case "patient-not-in-context":
      return "This is not the patient the EHR launched the app for. The score was not recorded.";
    case "invalid-score": {
      const detail = body.issues?.map((i) => `${i.path}: ${i.message}`).join("; ");
      return `The score was not accepted${detail ? ` (${detail})` : ""}.`;
    }
    case "fhir-write-failed":
      return "The EHR did not accept the score. It was not recorded; try again.";
    default:
      return `Recording the score failed (HTTP ${status}). It was not recorded.`;
  }
}

export const SCORE_LABELS: Record<ScoreMeasure, string> = {
  "itch-nrs": "Itch NRS",
  "skin-pain-nrs": "Skin pain NRS",
  easi: "EASI",
};

export function recordedMessage(result: RecordScoreResponse): string {
  const label = SCORE_MEASURES.includes(result.measure) ? SCORE_LABELS[result.measure] : result.measure;
  return `${label} ${result.value} recorded for ${result.effectiveDateTime.slice(0, 10)}.`;
}
