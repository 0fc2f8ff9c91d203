// GET /api/patients/[id]: the dermatologist's patient view (PatientViewResponse in lib/fhir/patient-record-types.ts).
// The session's role must open the patient view (PATIENT_VIEW_ROLES: 401 without a session, 403 for another role);
// the handler then checks the id against the session's launch patient (403 patient-not-in-context).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handlePatientViewRequest } from "@/lib/fhir/patient-api";
import { patientViewDeps } from "@/lib/fhir/server";
import { gateRequest } from "@/lib/smart/role-gate";
import { PATIENT_VIEW_ROLES } from "@/lib/smart/roles";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const gated = await gateRequest(request, PATIENT_VIEW_ROLES);
  if ("response" in gated) return gated.response;
  const { id } = await context.params;
  return handlePatientViewRequest(request, id, patientViewDeps());
});
