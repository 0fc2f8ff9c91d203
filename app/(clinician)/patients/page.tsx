import type { Metadata } from "next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { SESSION_COOKIE, sessionStatus } from "@/lib/smart/status";
import { NotYetAvailable } from "../../not-yet-available";

export const metadata: Metadata = { title: "Patient" };
export const dynamic = "force-dynamic";

// The Patient tab returns to the launched patient while the session lasts; otherwise it explains how to launch.
export default async function PatientsIndexPage() {
  const status = await sessionStatus((await cookies()).get(SESSION_COOKIE)?.value);
  if (status.status === "ok" && status.patientId) redirect(`/patients/${encodeURIComponent(status.patientId)}`);
  return (
    <NotYetAvailable title="Open a patient from the EHR">
      <p>
        The patient view opens when you launch Eczema JAK Monitor from a patient&apos;s chart in the EHR: the EHR tells the app which
        patient is in context, and the app shows that patient only.
      </p>
      <p>In the demo, open the sandbox EHR&apos;s launcher, pick a dermatologist and a patient, and press EHR launch.</p>
    </NotYetAvailable>
  );
}
