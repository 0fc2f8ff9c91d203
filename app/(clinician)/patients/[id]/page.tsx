import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { RoleRefusal } from "@/app/role-refusal";
import { getQueryClient } from "@/lib/query/get-query-client";
import { sessionIdFromCookies } from "@/lib/smart/cookies";
import { gateSession } from "@/lib/smart/role-gate";
import { PATIENT_VIEW_ROLES } from "@/lib/smart/roles";
import { PatientView } from "./_components/patient-view";
import { prefetchPatientView } from "./_server/prefetch-patient-view";

export const metadata: Metadata = { title: "Patient" };
export const dynamic = "force-dynamic";

/**
 * Checks the session first (no session: the relaunch page; a role without the patient view: the refusal; another
 * patient than the launch's: refused, nothing fetched), then prefetches on the server (loading.tsx streams meanwhile);
 * the client reads the same query from the cache.
 */
export default async function PatientPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // This patient's launch session (one per launch: another tab may hold another patient), else the latest launch's.
  const gate = await orDatabaseOutage(gateSession(sessionIdFromCookies((await headers()).get("cookie"), id), PATIENT_VIEW_ROLES));
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok && gate.reason !== "forbidden") redirect(`/relaunch?reason=${gate.reason}`);
  if (!gate.ok) return <RoleRefusal gate={gate} view="patient view" allowed={PATIENT_VIEW_ROLES} />;
  if (gate.patientId !== id) return <PatientNotInContext />;
  const queryClient = getQueryClient();
  await prefetchPatientView(queryClient, id);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <PatientView patientId={id} />
    </HydrationBoundary>
  );
}

/** The launch context decides the patient, never the address: the same words as the API's 403 on the client. */
function PatientNotInContext() {
  return (
    <section
      role="alert"
      aria-labelledby="not-in-context-title"
      className="max-w-2xl space-y-3 rounded-lg border-2 border-status-critical bg-white p-5"
      data-testid="role-refusal"
      data-reason="patient-not-in-context"
    >
      <h1 id="not-in-context-title" className="text-xl font-semibold">
        Refused: this is not the patient in your EHR session
      </h1>
      <p className="text-slate-700">
        The app only shows the patient the EHR launched it for (patient not in context). To see this patient, open their chart in the EHR and launch the app
        from there.
      </p>
    </section>
  );
}
