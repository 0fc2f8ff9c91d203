import { PatientViewSkeleton } from "./_components/patient-view-skeleton";

export default function PatientLoading() {
  return <PatientViewSkeleton />;
}
