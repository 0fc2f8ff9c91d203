import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "@/lib/query/get-query-client";
import { PatientView } from "./_components/patient-view";
import { prefetchPatientView } from "./_server/prefetch-patient-view";

export const metadata: Metadata = { title: "Patient" };
export const dynamic = "force-dynamic";

/** Prefetches on the server (loading.tsx streams meanwhile); the client reads the same query from the cache. */
export default async function PatientPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const queryClient = getQueryClient();
  await prefetchPatientView(queryClient, id);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <PatientView patientId={id} />
    </HydrationBoundary>
  );
}
