/**
 * The user's app role at launch, read the way EHRs give it: the PractitionerRole(s) of the id_token's fhirUser,
 * with the user's own access token (the app asks for user/PractitionerRole.rs). A lookup the EHR refuses or
 * cannot answer is reported as such, never guessed: the callback shows a refusal page instead of a role.
 */
import { roleFromPractitionerRole, type AppRole } from "./roles";

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

export const ROLE_LOOKUP_PROBLEMS: readonly RoleLookupProblem[] = ["no-fhir-user", "not-a-practitioner", "refused", "failed", "unreachable"];

export type RoleLookup =
  /** The read succeeded; role is null when no PractitionerRole of the user names an app role. */
  | { ok: true; role: AppRole | null }
  | { ok: false; problem: RoleLookupProblem; status?: number };

const REFERENCE = /^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)\/([A-Za-z0-9\-.]{1,64})$/;

interface PractitionerRoleLike {
  resourceType?: unknown;
  active?: unknown;
}

function roleOfResources(resources: unknown[]): AppRole | null {
  for (const resource of resources) {
    const r = resource as PractitionerRoleLike | null;
    // Inactive roles (a post the user has left) grant nothing.
    if (!r || r.resourceType !== "PractitionerRole" || r.active === false) continue;
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
  fetch?: typeof fetch;
  timeoutMs?: number;
}): Promise<RoleLookup> {
  const match = opts.fhirUser ? REFERENCE.exec(opts.fhirUser) : null;
  if (!match) return { ok: false, problem: "no-fhir-user" };
  const type = match[1]!;
  const id = match[2]!;
  if (type !== "Practitioner" && type !== "PractitionerRole") return { ok: false, problem: "not-a-practitioner" };
  const base = opts.serverUrl.replace(/\/+$/, "");
  const url =
    type === "Practitioner"
      ? `${base}/PractitionerRole?practitioner=${encodeURIComponent(`Practitioner/${id}`)}&_count=100`
      : `${base}/PractitionerRole/${encodeURIComponent(id)}`;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers: { accept: "application/fhir+json", authorization: `Bearer ${opts.accessToken}` },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
  } catch {
    return { ok: false, problem: "unreachable" };
  }
  if (res.status === 401 || res.status === 403) return { ok: false, problem: "refused", status: res.status };
  if (!res.ok) return { ok: false, problem: "failed", status: res.status };
  let body: { resourceType?: unknown; entry?: Array<{ resource?: unknown }> };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    return { ok: false, problem: "failed", status: res.status };
  }
  if (type === "PractitionerRole") {
    if (body?.resourceType !== "PractitionerRole") return { ok: false, problem: "failed", status: res.status };
    return { ok: true, role: roleOfResources([body]) };
  }
  if (body?.resourceType !== "Bundle") return { ok: false, problem: "failed", status: res.status };
  return { ok: true, role: roleOfResources((body.entry ?? []).map((e) => e?.resource)) };
}
