/**
 * The user's app role at launch, read the way EHRs give it: the PractitionerRole(s) of the id_token's fhirUser,
 * with the user's own access token (the app asks for user/PractitionerRole.rs). A lookup the EHR refuses or
 * cannot answer is reported as such, never guessed: the callback shows a refusal page instead of a role.
 * `decideLaunchRole` is the whole decision at launch: an app-side assignment first, else the EHR's PractitionerRole
 * through the site's mapping and the built-in matching, else (EHR answered, no role) the patient-context default.
 */
import { FhirHttpError } from "../fhir/requester";
import { launchRequester, type LaunchHttpOptions } from "./launch-http";
import { canonicalIssuer, EMPTY_ROLE_MAPPING, mappedRoleOf, roleFromPractitionerRole, RoleMappingError, type AppRole, type RoleMapping } from "./roles";

/** Why no role could be read (shown on the relaunch page as `detail`). */
export type RoleLookupProblem =
  /** No fhirUser claim (no id_token, or one without fhirUser): the app cannot tell who signed in. */
  | "no-fhir-user"
  /** fhirUser names a Patient, RelatedPerson or Person: the app is for clinic staff. */
  | "not-a-practitioner"
  /** The FHIR server answered 401 or 403 to the PractitionerRole read. */
  | "refused"
  /** Another HTTP error, or a body that is not a FHIR Bundle/PractitionerRole. */
  | "failed"
  /** No answer (network error or timeout). */
  | "unreachable";

export type RoleLookup =
  /** The read succeeded; role is null when no PractitionerRole of the user names an app role. */
  | { ok: true; role: AppRole | null }
  | { ok: false; problem: RoleLookupProblem; status?: number };

const REFERENCE = /^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)\/([A-Za-z0-9\-.]{1,64})$/;

interface PractitionerRoleLike {
  resourceType?: unknown;
  active?: unknown;
}

/**
 * The role of the user's active PractitionerRoles: an exact match (ROLE_MAPPING or the app's CodeSystem) on any of
 * them first, since a site configured it; then the first whose words name a role.
 */
export function roleOfResources(resources: unknown[], mapping: RoleMapping = EMPTY_ROLE_MAPPING): AppRole | null {
  // Inactive roles (a post the user has left) grant nothing.
  const active = resources.filter((resource) => {
    const r = resource as PractitionerRoleLike | null;
    return Boolean(r) && r!.resourceType === "PractitionerRole" && r!.active !== false;
  });
  for (const r of active) {
    const role = mappedRoleOf(r, mapping);
    if (role) return role;
  }
  for (const r of active) {
    const role = roleFromPractitionerRole(r);
    if (role) return role;
  }
  return null;
}

/**
 * Reads the role of `fhirUser` ("Practitioner/1" or "PractitionerRole/1", relative to `serverUrl`):
 * `PractitionerRole?practitioner=Practitioner/1` or `PractitionerRole/1`.
 */
export async function lookupRole(opts: {
  serverUrl: string;
  accessToken: string;
  fhirUser: string | null;
  /** A site's PractitionerRole codes mapped to app roles (ROLE_MAPPING); default none. */
  mapping?: RoleMapping;
  fetch?: typeof fetch;
  /** Per attempt; default 5 s. */
  timeoutMs?: number;
  /** Retries (429, 503 and no answer; launch-http.ts). */
  http?: LaunchHttpOptions;
}): Promise<RoleLookup> {
  const match = opts.fhirUser ? REFERENCE.exec(opts.fhirUser) : null;
  if (!match) return { ok: false, problem: "no-fhir-user" };
  const type = match[1]!;
  const id = match[2]!;
  if (type !== "Practitioner" && type !== "PractitionerRole") return { ok: false, problem: "not-a-practitioner" };
  const path =
    type === "Practitioner" ? `PractitionerRole?practitioner=${encodeURIComponent(`Practitioner/${id}`)}&_count=100` : `PractitionerRole/${encodeURIComponent(id)}`;
  const requester = launchRequester(opts.serverUrl, {
    accessToken: opts.accessToken,
    http: { timeoutMs: opts.timeoutMs ?? 5000, ...opts.http },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  let body: { resourceType?: unknown; entry?: Array<{ resource?: unknown }> };
  try {
    body = await requester.get<typeof body>(path);
  } catch (error) {
    const status = error instanceof FhirHttpError ? error.status : null;
    if (status === null) return { ok: false, problem: "unreachable" };
    if (status === 401 || status === 403) return { ok: false, problem: "refused", status };
    return { ok: false, problem: "failed", status };
  }
  if (type === "PractitionerRole") {
    if (body?.resourceType !== "PractitionerRole") return { ok: false, problem: "failed", status: 200 };
    return { ok: true, role: roleOfResources([body], opts.mapping) };
  }
  if (body?.resourceType !== "Bundle") return { ok: false, problem: "failed", status: 200 };
  const entries: unknown[] = Array.isArray(body.entry) ? body.entry : [];
  return { ok: true, role: roleOfResources(entries.map((e) => (typeof e === "object" && e !== null ? (e as { resource?: unknown }).resource : undefined)), opts.mapping) };
}

/** Where a launch's role came from (logged and audited as roleSource). */
export type RoleSource = "app-assignment" | "practitioner-role" | "default-patient-context" | "none";

/** Why a launch got no role: the EHR lookup's problems, a malformed ROLE_MAPPING, or the assignments not readable. */
export type LaunchRoleProblem = RoleLookupProblem | "role-mapping-invalid" | "role-assignments-unavailable";

export type LaunchRoleDecision =
  | { ok: true; role: AppRole | null; source: RoleSource }
  | { ok: false; problem: LaunchRoleProblem; status?: number };

/** The role an admin assigned in the app to (issuer, "Practitioner/<id>"), or null (lib/admin/role-assignments.ts). */
export type AssignedRoleReader = (issuer: string, practitioner: string) => Promise<AppRole | null>;

const PRACTITIONER = /^Practitioner\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * The launch's role. 1. An assignment made in the app for (issuer, fhirUser) overrides the EHR: it is used as is and
 * the EHR is not asked. 2. Else the fhirUser's PractitionerRole, through `mapping` (ROLE_MAPPING, may throw
 * RoleMappingError) and the built-in matching. 3. The EHR answered and named no app role: a launch with a patient
 * gets the patient view (dermatologist), one without gets no role. Anything that cannot be read is a problem,
 * never a guess; no role (null) opens nothing (every gate denies it).
 */
export async function decideLaunchRole(opts: {
  serverUrl: string;
  accessToken: string;
  fhirUser: string | null;
  patientId: string | null;
  mapping?: () => RoleMapping;
  assignedRole?: AssignedRoleReader;
  fetch?: typeof fetch;
  timeoutMs?: number;
  http?: LaunchHttpOptions;
}): Promise<LaunchRoleDecision> {
  if (opts.assignedRole && opts.fhirUser && PRACTITIONER.test(opts.fhirUser)) {
    let assigned: AppRole | null;
    try {
      assigned = await opts.assignedRole(canonicalIssuer(opts.serverUrl), opts.fhirUser);
    } catch {
      return { ok: false, problem: "role-assignments-unavailable" };
    }
    if (assigned) return { ok: true, role: assigned, source: "app-assignment" };
  }
  let mapping: RoleMapping;
  try {
    mapping = opts.mapping ? opts.mapping() : EMPTY_ROLE_MAPPING;
  } catch (error) {
    if (error instanceof RoleMappingError) return { ok: false, problem: "role-mapping-invalid" };
    throw error;
  }
  const lookup = await lookupRole({
    serverUrl: opts.serverUrl,
    accessToken: opts.accessToken,
    fhirUser: opts.fhirUser,
    mapping,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.http ? { http: opts.http } : {}),
  });
  if (!lookup.ok) return lookup;
  if (lookup.role) return { ok: true, role: lookup.role, source: "practitioner-role" };
  if (opts.patientId) return { ok: true, role: "dermatologist", source: "default-patient-context" };
  return { ok: true, role: null, source: "none" };
}
