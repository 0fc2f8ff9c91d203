// GET /api/patients/[id]: the dermatologist's patient view (PatientViewResponse in lib/fhir/patient-record-types.ts).
import { prisma } from "@/lib/db/client";
import { handlePatientViewRequest } from "@/lib/fhir/patient-api";
import { logEvent, smartDeps } from "@/lib/smart/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  const deps = smartDeps();
  return handlePatientViewRequest(request, id, {
    store: deps.store,
    config: deps.config,
    log: (event, fields) => logEvent(event, fields),
    codeMappings: async () =>
      (await prisma().codeMapping.findMany({ select: { system: true, code: true, concept: true, display: true } })).map((m) => ({
        system: m.system,
        code: m.code,
        concept: m.concept,
        ...(m.display ? { display: m.display } : {}),
      })),
  });
}
