/**
 * Server-side prefetch of the patient view, so the first HTML already holds the page (no extra browser
 * round trip after the launch redirect). It runs the same handler as GET /api/patients/[id] with the
 * browser's cookie, so the session and launch-context checks are identical. Only a 200 is put in the
 * cache; any failure is left to the client query, which shows the relaunch, refusal or error screen.
 */
import "server-only";
import type { QueryClient } from "@tanstack/react-query";
import { headers } from "next/headers";
import { handlePatientViewRequest } from "@/lib/fhir/patient-api";
import type { PatientViewResponse } from "@/lib/fhir/patient-record-types";
import { patientViewQueryOptions, patientViewUrl } from "@/lib/patient-view/patient-view-query";
import { patientViewDeps } from "@/lib/fhir/server";
import { logEvent } from "@/lib/smart/server";

export async function prefetchPatientView(queryClient: QueryClient, patientId: string): Promise<void> {
  try {
    const incoming = await headers();
    const cookie = incoming.get("cookie");
    // Without a session cookie the answer is a 401 the client will fetch and show anyway.
    if (!cookie) return;
    // The client's address travels with it, so the patient view's audit row says from where.
    const forwardedFor = incoming.get("x-forwarded-for");
    const request = new Request(new URL(patientViewUrl(patientId), "http://app.internal"), { headers: { cookie, ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) } });
    const response = await handlePatientViewRequest(request, patientId, patientViewDeps());
    if (response.status !== 200) return;
    queryClient.setQueryData(patientViewQueryOptions(patientId).queryKey, (await response.json()) as PatientViewResponse);
  } catch (error) {
    // Never fail the page here: the client query retries and shows a proper error screen.
    logEvent("patient-view.prefetch-failed", { reason: error instanceof Error ? error.name : "unknown" });
  }
}
