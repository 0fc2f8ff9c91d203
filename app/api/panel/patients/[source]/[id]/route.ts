// GET /api/panel/patients/[source]/[id]: a synced patient's view, built from the stored copy by the same engine as
// the EHR launch (SyncedPatientViewResponse in lib/panel/types.ts). Read-only; clinic leads only; every drill-down
// audited (panel.patient-view, the patient hashed).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { z } from "zod";
import { clinicToday } from "@/lib/app/clinic-today";
import { auditOrigin, tryRecordAudit } from "@/lib/audit/audit";
import { syncedPatientViewEntry } from "@/lib/audit/events";
import { pgPool } from "@/lib/db/pool";
import { badRequest, notFound, PANEL_API_ROLES, panelJson, serverError } from "@/lib/panel/http";
import { loadSyncedPatientView } from "@/lib/panel/synced-patient";
import { gateRequest } from "@/lib/smart/role-gate";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const params = z.object({
  source: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: "source must be a source id" }),
  id: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, { error: "id must be a FHIR id (letters, digits, '-' and '.', at most 64)" }),
});

export const GET = answerDatabaseOutages(async function GET(request: Request, context: { params: Promise<{ source: string; id: string }> }): Promise<Response> {
  const gated = await gateRequest(request, PANEL_API_ROLES);
  if ("response" in gated) return gated.response;
  const parsed = params.safeParse(await context.params);
  if (!parsed.success) return badRequest(parsed.error.issues.map((i) => ({ param: String(i.path[0] ?? ""), reason: i.message })));
  const audit = (status: number, reason?: string) =>
    tryRecordAudit(
      pgPool(),
      syncedPatientViewEntry({ actor: gated.gate, source: parsed.data.source, patientId: parsed.data.id, status, via: "api", origin: auditOrigin(request), ...(reason ? { reason } : {}) }),
    );
  try {
    const view = await loadSyncedPatientView(pgPool(), parsed.data.source, parsed.data.id, { asOf: clinicToday() });
    await audit(view ? 200 : 404, view ? undefined : "not-synced");
    return view ? panelJson(200, view) : notFound("No synced data for this patient in this source. Run a sync, or check the link.");
  } catch (error) {
    await audit(500, error instanceof Error ? error.name : "error");
    return serverError("patient", error);
  }
});
