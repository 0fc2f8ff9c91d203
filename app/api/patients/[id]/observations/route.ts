// POST /api/patients/[id]/observations: record a score (itch NRS, skin-pain NRS, EASI) as a FHIR Observation at
// the EHR. Body RecordScoreRequest, 201 RecordScoreResponse (lib/fhir/score-types.ts). The session's role must open
// the patient view (PATIENT_VIEW_ROLES); the handler then checks the launch patient and the granted write scope.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleRecordScoreRequest } from "@/lib/fhir/record-score";
import { gateRequest } from "@/lib/smart/role-gate";
import { PATIENT_VIEW_ROLES } from "@/lib/smart/roles";
import { logEvent, smartDeps } from "@/lib/smart/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Only an outage thrown before the write becomes "retry": once the EHR was called, its own answer stands (no duplicates).
export const POST = answerDatabaseOutages(async function POST(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const gated = await gateRequest(request, PATIENT_VIEW_ROLES);
  if ("response" in gated) return gated.response;
  const { id } = await context.params;
  const deps = smartDeps();
  return handleRecordScoreRequest(request, id, { store: deps.store, config: deps.config, log: logEvent, ...(deps.audit ? { audit: deps.audit } : {}) });
}, { onlyThrown: true });
