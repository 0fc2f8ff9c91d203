/**
 * GET /api/patients/[id] as a function of a Web Request: session and token (lib/smart/access), the patient
 * checked against the session's launch context, then fetch + evaluate (patient-view.ts). Returns a JSON
 * Response with `cache-control: no-store`. The one place the patient view reads the clock (asOf = today in
 * CLINIC_TIMEZONE).
 */
import { z } from "zod";
import { clinicToday } from "../app/clinic-today";
import { auditOrigin, patientEntity, type AuditFn, type AuditOutcome } from "../audit/audit";
import { evaluatePatient, RULES_VERSION } from "../clinical";
import type { CodeMapping } from "../clinical/types";
import { getSessionAccess, type AccessDeps, type SessionAccessOk } from "../smart/access";
import type { ApiErrorBody } from "./patient-record-types";
import { buildPatientView, type EvaluateFn, type PatientViewInput } from "./patient-view";

export interface PatientApiDeps extends AccessDeps {
  log?: PatientViewInput["log"];
  /** Site code mappings for the engine (and extra Observation code searches). */
  codeMappings?: () => Promise<CodeMapping[]>;
  /** Default: evaluatePatient from lib/clinical. */
  evaluate?: EvaluateFn;
  fetchOptions?: PatientViewInput["fetchOptions"];
  /** Default: env CLINIC_AS_OF when set, else today in env CLINIC_TIMEZONE (UTC). */
  asOf?: () => string;
  /** One "patient.view" audit row per request for a well-formed id: who, role, the patient hashed, the outcome. */
  audit?: AuditFn;
}

export { clinicToday };

const idSchema = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/);

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });

function sessionError(error: "no-session" | "session-expired"): ApiErrorBody {
  return { error, message: "Launch the app again from the EHR.", relaunch: `/relaunch?reason=${error}` };
}

export async function handlePatientViewRequest(request: Request, rawId: string, deps: PatientApiDeps): Promise<Response> {
  const id = idSchema.safeParse(rawId);
  if (!id.success) return json(400, { error: "bad-request", message: "Malformed patient id." } satisfies ApiErrorBody);
  const audit = (actor: { practitionerId: string | null; role: string | null } | null, outcome: AuditOutcome, detail: Record<string, string | number>): Promise<void> =>
    deps.audit?.({
      actor: actor?.practitionerId ?? "unknown",
      role: actor?.role ?? null,
      action: "patient.view",
      entity: patientEntity(id.data),
      outcome,
      detail,
      origin: auditOrigin(request),
    })?.catch(() => undefined) ?? Promise.resolve();
  let access = await getSessionAccess(request, deps);
  if (!access.ok) {
    await audit(null, "refused", { status: 401, reason: access.error });
    return json(401, sessionError(access.error));
  }
  const codeMappings = deps.codeMappings ? await deps.codeMappings().catch(() => [] as CodeMapping[]) : [];
  const run = (a: SessionAccessOk) =>
    buildPatientView({
      requestedPatientId: id.data,
      sessionPatientId: a.session.patientId,
      serverUrl: a.serverUrl,
      accessToken: a.accessToken,
      scope: a.scope,
      asOf: deps.asOf ? deps.asOf() : clinicToday(),
      evaluate: deps.evaluate ?? ((resources, options) => evaluatePatient(resources, { ...options, patientId: id.data })),
      rulesVersion: RULES_VERSION,
      codeMappings,
      ...(deps.fetchOptions ? { fetchOptions: deps.fetchOptions } : {}),
      ...(deps.log ? { log: deps.log } : {}),
    });
  let result = await run(access);
  if (result.status === 401) {
    // The server refused a token before its advertised expiry: refresh once and try again.
    const session = access.session;
    access = await getSessionAccess(request, deps, { rejectedToken: access.accessToken });
    if (!access.ok) {
      await audit(session, "failure", { status: 401, reason: access.error });
      return json(401, sessionError(access.error));
    }
    result = await run(access);
  }
  const outcome: AuditOutcome = result.status === 200 ? "success" : result.status === 403 ? "refused" : "failure";
  await audit(access.session, outcome, { status: result.status, ...(result.status === 200 ? {} : { reason: result.body.error }) });
  return json(result.status, result.body);
}
