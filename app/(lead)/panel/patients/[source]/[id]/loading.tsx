import { PatientViewSkeleton } from "@/app/(clinician)/patients/[id]/_components/patient-view-skeleton";

export default function PanelPatientLoading() {
  return <PatientViewSkeleton />;
}
