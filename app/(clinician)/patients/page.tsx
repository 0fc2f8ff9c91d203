import type { Metadata } from "next";
import { NotYetAvailable } from "../../not-yet-available";

export const metadata: Metadata = { title: "Patient" };

export default function PatientsIndexPage() {
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
