import type { Metadata } from "next";
import { PatientView } from "./_components/patient-view";

export const metadata: Metadata = { title: "Patient" };

export default async function PatientPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <PatientView patientId={id} />;
}
