"use client";

import { recordedMessage, RecordScoreRequestError } from "@/lib/patient-view/record-score-request";
import type { RecordScoreResponse } from "@/lib/fhir/score-types";

/** The outcome of one score form: success politely, failure as an alert (announced at once). */
export function RecordScoreStatus({ result, error }: { result: RecordScoreResponse | undefined; error: Error | null }) {
  if (error) {
    const relaunch = error instanceof RecordScoreRequestError ? error.relaunch : undefined;
    return (
      <p role="alert" className="mt-2 text-sm font-medium text-status-critical">
        {error.message}
        {relaunch ? (
          <>
            {" "}
            <a href={relaunch} className="underline">
              Relaunch
            </a>
          </>
        ) : null}
      </p>
    );
  }
  return (
    <p role="status" aria-live="polite" className="mt-2 min-h-5 text-sm text-status-ok">
      {result ? recordedMessage(result) : ""}
    </p>
  );
}
