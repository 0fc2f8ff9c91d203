"use client";

import { useQuery } from "@tanstack/react-query";
import { patientViewQueryOptions } from "@/lib/patient-view/patient-view-query";
import { PatientDashboard } from "./patient-dashboard";
import { PatientViewError } from "./patient-view-error";
import { PatientViewSkeleton } from "./patient-view-skeleton";

/**
 * Loads the patient view from the app's own API in the browser: the session cookie rides along and the
 * route handler checks the patient against the launch context, so the server component does not
 * need to forward credentials.
 */
export function PatientView({ patientId }: { patientId: string }) {
  const query = useQuery(patientViewQueryOptions(patientId));
  if (query.isPending) return <PatientViewSkeleton />;
  if (query.isError) return <PatientViewError error={query.error} onRetry={() => void query.refetch()} />;
  return <PatientDashboard view={query.data} />;
}
