// GET /api/patients/[id]: the dermatologist's patient view (PatientViewResponse in lib/fhir/patient-record-types.ts).
import { handlePatientViewRequest } from "@/lib/fhir/patient-api";
import { patientViewDeps } from "@/lib/fhir/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return handlePatientViewRequest(request, id, patientViewDeps());
}
