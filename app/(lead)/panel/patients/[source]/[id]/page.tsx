import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import type { Metadata } from "next";
import { Suspense } from "react";
import { getQueryClient } from "@/lib/query/get-query-client";
import { RoleRefusal } from "../../../../../role-refusal";
import { PatientViewSkeleton } from "@/app/(clinician)/patients/[id]/_components/patient-view-skeleton";
import { PANEL_ROLES, panelGate } from "../../../_server/gate";
import { prefetchSyncedPatient } from "../../../_server/prefetch";
import { SyncedPatientView } from "./_components/synced-patient-view";

export const metadata: Metadata = { title: "Synced patient" };
export const dynamic = "force-dynamic";

type Params = Promise<{ source: string; id: string }>;

/** A worklist patient, rendered by the EHR launch's own page from the synced copy (read-only, with a banner). */
export default async function PanelPatientPage({ params }: { params: Params }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="panel" allowed={PANEL_ROLES} />;
  return (
    <Suspense fallback={<PatientViewSkeleton />}>
      <PrefetchedPatient params={params} actor={{ practitionerId: gate.practitionerId, role: gate.role }} />
    </Suspense>
  );
}

async function PrefetchedPatient({ params, actor }: { params: Params; actor: { practitionerId: string | null; role: string } }) {
  const { source, id } = await params;
  const queryClient = getQueryClient();
  await prefetchSyncedPatient(queryClient, source, id, actor);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <SyncedPatientView source={source} patientId={id} />
    </HydrationBoundary>
  );
}
