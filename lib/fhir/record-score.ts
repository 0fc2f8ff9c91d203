/**
 * POST /api/patients/[id]/observations as a function of a Web Request: the session (lib/smart/access), the
 * patient checked against the session's launch patient, the granted scope checked for Observation create,
 * the body validated (recordScoreSchema), then the Observation created at the EHR with the session's token.
 * One audit row per attempt that reaches the EHR or is refused (scope, patient context); logs carry no PHI (measure,
 * status, timing only).
 */
import { ZodError } from "zod";
import { auditOrigin } from "../audit/audit";
import type { AccessDeps, SessionAccessOk } from "../smart/access";
import { getSessionAccess } from "../smart/access";
import type { LaunchDeps } from "../smart/launch";
import { isSameOriginRequest } from "../smart/session-logout";
import { clinicToday } from "./patient-api";
import { canWriteObservations } from "./patient-view";
import { FhirHttpError, FhirRequester, type FhirRequesterOptions } from "./requester";
import { buildScoreObservation, postScoreObservation, recordScoreSchema } from "./score-observation";
import type { RecordScoreErrorBody, RecordScoreRequest, RecordScoreResponse } from "./score-types";

export interface RecordScoreDeps extends AccessDeps {
  log?: (event: string, fields: Record<string, string | number | boolean | null>) => void;
  audit?: LaunchDeps["audit"];
  /** The clinic's today (YYYY-MM-DD); scores dated later are refused. Default: CLINIC_AS_OF or today in CLINIC_TIMEZONE. */
  today?: () => string;
  /** Instant stamped as Observation.issued. */
  now?: () => Date;
  requesterOptions?: Partial<FhirRequesterOptions>;
}

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

const json = (status: number, body: RecordScoreResponse | RecordScoreErrorBody): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });

const error = (status: number, code: RecordScoreErrorBody["error"], message: string, extra: Partial<RecordScoreErrorBody> = {}): Response =>
  json(status, { error: code, message, ...extra });

export async function handleRecordScoreRequest(request: Request, rawId: string, deps: RecordScoreDeps): Promise<Response> {
  const started = performance.now();
  // CSRF: only the app's own pages may write (Origin, or Sec-Fetch-Site without it); refused before the session is read.
  if (!isSameOriginRequest(request, deps.config.appBaseUrl)) {
    deps.log?.("record-score-refused", { reason: "cross-site" });
    return new Response(JSON.stringify({ error: "cross-site", message: "This request came from another site and was refused." }), {
      status: 403,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });
  }
  if (!idPattern.test(rawId)) return error(400, "bad-request", "Malformed patient id.");
  let access = await getSessionAccess(request, deps);
  if (!access.ok) return error(401, access.error, "Launch the app again from the EHR.", { relaunch: `/relaunch?reason=${access.error}` });
  const { session } = access;
  const origin = auditOrigin(request);
  const audit = (outcome: string, detail: Record<string, unknown>): Promise<void> =>
    (deps.audit?.({ actor: session.practitionerId ?? "unknown", role: session.role, action: "record-score", outcome, detail, ...(origin ? { origin } : {}) }) ?? Promise.resolve()).catch(() => undefined);

  if (!session.patientId || session.patientId !== rawId) {
    await audit("refused", { reason: "patient-not-in-context" });
    return error(403, "patient-not-in-context", "This patient is not the one the EHR launched the app for.");
  }
  if (!canWriteObservations(access.scope)) {
    await audit("refused", { reason: "no-write-scope" });
    return error(403, "no-write-scope", "The EHR did not grant this app permission to create Observations.");
  }
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? "")) {
    return error(415, "unsupported-media-type", "Send the score as application/json.");
  }
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    return error(400, "bad-request", "The body is not JSON.");
  }
  const parsed = recordScoreSchema.safeParse(raw);
  if (!parsed.success) return invalid(parsed.error);
  const input: RecordScoreRequest = parsed.data;
  const today = (deps.today ?? clinicToday)();
  if (input.effectiveDateTime.slice(0, 10) > today) {
    return error(400, "invalid-score", "A score cannot be dated after today.", { issues: [{ path: "effectiveDateTime", message: `after ${today}` }] });
  }

  const observation = buildScoreObservation({
    ...input,
    patientId: session.patientId,
    performer: session.practitionerId,
    issued: (deps.now ?? (() => new Date()))().toISOString(),
  });
  const post = (a: SessionAccessOk) =>
    postScoreObservation(new FhirRequester({ ...deps.requesterOptions, baseUrl: a.serverUrl, accessToken: a.accessToken }), observation);
  const issuer = new URL(access.serverUrl).origin;
  try {
    let created: { id: string };
    try {
      created = await post(access);
    } catch (first) {
      // The server refused a token before its advertised expiry: refresh once and try again (401 means nothing was created).
      if (!(first instanceof FhirHttpError && first.status === 401)) throw first;
      const again = await getSessionAccess(request, deps, { rejectedToken: access.accessToken });
      if (!again.ok) return error(401, again.error, "Launch the app again from the EHR.", { relaunch: `/relaunch?reason=${again.error}` });
      access = again;
      created = await post(access);
    }
    deps.log?.("record-score", { measure: input.measure, status: 201, ms: Math.round(performance.now() - started) });
    await audit("success", { measure: input.measure, issuer });
    return json(201, { id: created.id, measure: input.measure, value: input.value, effectiveDateTime: input.effectiveDateTime });
  } catch (failure) {
    const status = failure instanceof FhirHttpError ? failure.status : null;
    deps.log?.("record-score-failed", { measure: input.measure, fhirStatus: status, ms: Math.round(performance.now() - started) });
    await audit("failure", { measure: input.measure, issuer, fhirStatus: status });
    if (status === 401) return error(401, "session-expired", "The EHR no longer accepts this session's token.", { relaunch: "/relaunch?reason=session-expired" });
    if (status === 403) return error(403, "no-write-scope", "The EHR refused to create the Observation.");
    return error(502, "fhir-write-failed", "The EHR did not accept the score. It was not recorded; try again.");
  }
}

function invalid(zodError: ZodError): Response {
  const issues = zodError.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  return error(400, "invalid-score", "The score is not valid.", { issues });
}
