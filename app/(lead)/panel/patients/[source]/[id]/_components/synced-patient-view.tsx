"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { formatTimestamp } from "@/lib/panel/format";
import { PanelRequestError, syncedPatientQueryOptions } from "@/lib/panel/panel-query";
import type { SyncedPatientViewResponse } from "@/lib/panel/types";
import { PatientDashboard } from "@/app/(clinician)/patients/[id]/_components/patient-dashboard";
import { PatientViewSkeleton } from "@/app/(clinician)/patients/[id]/_components/patient-view-skeleton";
import { PanelError } from "../../../../_components/panel-error";

/** Where the data on this page comes from: the last sync of a source, not the EHR itself. */
export function SyncedBanner({ synced }: { synced: SyncedPatientViewResponse["synced"] }) {
  return (
    <div role="note" aria-label="Synced data" className="rounded-lg border-2 border-status-info bg-sky-50 p-3 text-sm text-slate-900" data-testid="synced-banner">
      <p className="font-semibold text-status-info">
        Synced from {synced.sourceName} at {formatTimestamp(synced.syncedAt)}; not live EHR data
      </p>
      <p className="mt-0.5 text-slate-700">
        Evaluated by the same rules as the EHR launch. To record a score or see changes made since the sync, open the patient from the EHR.
      </p>
    </div>
  );
}

function BackToWorklist() {
  const router = useRouter();
  return (
    <Link
      href="/panel/worklist"
      onClick={(e) => {
        // Back keeps the worklist's filters and page when the user came from it.
        if (document.referrer && new URL(document.referrer).pathname === "/panel/worklist") {
          e.preventDefault();
          router.back();
        }
      }}
      className="text-sm font-medium text-brand underline underline-offset-2 print:hidden"
    >
      ← Back to the worklist
    </Link>
  );
}

export function SyncedPatientView({ source, patientId }: { source: string; patientId: string }) {
  const query = useQuery(syncedPatientQueryOptions(source, patientId));
  if (query.isPending) return <PatientViewSkeleton />;
  if (query.isError) {
    const error = query.error;
    return (
      <div className="space-y-3">
        <BackToWorklist />
        {error instanceof PanelRequestError && error.code === "not-found" ? (
          <section role="alert" aria-labelledby="not-found-title" className="max-w-2xl space-y-2 rounded-lg border-2 border-status-warn bg-white p-5">
            <h2 id="not-found-title" className="text-xl font-semibold">
              No synced data for this patient
            </h2>
            <p className="text-slate-700">
              Source <code className="font-mono">{source}</code> has no stored resources for patient <code className="font-mono">{patientId}</code>. The link may be old, or the patient
              left the clinic&apos;s panel at the last sync.
            </p>
          </section>
        ) : (
          <PanelError error={error} onRetry={() => void query.refetch()} />
        )}
      </div>
    );
  }
  return (
    <div className="space-y-3">
      <BackToWorklist />
      <PatientDashboard view={query.data} banner={<SyncedBanner synced={query.data.synced} />} recordScores={false} />
    </div>
  );
}
