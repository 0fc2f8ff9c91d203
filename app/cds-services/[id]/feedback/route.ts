// POST /cds-services/{id}/feedback: accepted and overridden cards with override reasons (CDS Hooks 2.0), stored and
// audited (lib/cds/feedback.ts); the user's free-text comment is never stored.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleCdsFeedback } from "@/lib/cds/feedback";
import { cdsRouteDeps } from "@/lib/cds/route-deps";
import { cdsPreflight } from "@/lib/cds/service";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = answerDatabaseOutages(async function POST(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return handleCdsFeedback(request, id, cdsRouteDeps());
});

export function OPTIONS(): Response {
  return cdsPreflight();
}
