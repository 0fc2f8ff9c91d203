// POST /cds-services/{id}: a CDS Hooks 2.0 call (patient-view, order-sign, order-select) signed with the client's JWT;
// answers { cards } (lib/cds/service.ts), 401 { error: "unauthorized" } for an untrusted call, 400 with a reason for a
// malformed one.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { cdsServiceRouteDeps } from "@/lib/cds/route-deps";
import { cdsPreflight, handleCdsHookRequest } from "@/lib/cds/service";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = answerDatabaseOutages(async function POST(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return handleCdsHookRequest(request, id, cdsServiceRouteDeps());
});

export function OPTIONS(): Response {
  return cdsPreflight();
}
