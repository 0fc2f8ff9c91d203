import Link from "next/link";
import { PatientViewRequestError } from "@/lib/patient-view/patient-view-query";

/** Session expired: relaunch; wrong patient: refuse plainly; anything else: say what failed and offer a retry. */
export function PatientViewError({ error, onRetry }: { error: Error; onRetry: () => void }) {
  if (error instanceof PatientViewRequestError && error.needsRelaunch) {
    return (
      <section role="alert" aria-labelledby="error-title" className="max-w-2xl space-y-3 rounded-lg border-2 border-status-info bg-white p-5">
        <h1 id="error-title" className="text-xl font-semibold">
          Your session has ended
        </h1>
        <p className="text-slate-700">
          {error.code === "no-session" ? "There is no active session for this browser." : "The session with the EHR expired and could not be renewed."} Open the app again from the
          patient&apos;s chart in the EHR.
        </p>
        <Link href={error.relaunch ?? "/relaunch"} className="inline-block rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
          Relaunch from the EHR
        </Link>
      </section>
    );
  }
  if (error instanceof PatientViewRequestError && error.code === "patient-not-in-context") {
    return (
      <section role="alert" aria-labelledby="error-title" className="max-w-2xl space-y-3 rounded-lg border-2 border-status-critical bg-white p-5">
        <h1 id="error-title" className="text-xl font-semibold">
          Refused: this is not the patient in your EHR session
        </h1>
        <p className="text-slate-700">
          The app only shows the patient the EHR launched it for (patient not in context). To see this patient, open their chart in the EHR and launch the app from there.
        </p>
      </section>
    );
  }
  const message =
    error instanceof PatientViewRequestError && error.code === "fhir-unavailable"
      ? "The EHR did not answer any of the app's requests, so there is nothing to show."
      : error instanceof PatientViewRequestError && error.code === "bad-request"
        ? "The patient id in the address is not valid."
        : "The patient's record could not be loaded.";
  return (
    <section role="alert" aria-labelledby="error-title" className="max-w-2xl space-y-3 rounded-lg border-2 border-status-warn bg-white p-5">
      <h1 id="error-title" className="text-xl font-semibold">
        Could not load the patient
      </h1>
      <p className="text-slate-700">{message}</p>
      {error instanceof PatientViewRequestError ? <p className="text-xs text-slate-600">HTTP {error.status}{error.code !== "unknown" ? `, ${error.code}` : ""}</p> : null}
      <button type="button" onClick={onRetry} className="rounded bg-brand px-3 py-2 text-sm font-semibold text-white">
        Try again
      </button>
    </section>
  );
}
