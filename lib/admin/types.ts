/** The roles API's JSON (GET/POST/DELETE /api/admin/roles), shared by the route handlers and the admin page. */
import type { AppRole } from "../smart/roles";

export interface RoleAssignmentView {
  /** The FHIR server (iss) the practitioner signs in through, without trailing slashes. */
  issuer: string;
  /** "Practitioner/<id>", as the id_token's fhirUser names the user. */
  practitioner: string;
  /** An app role; a value the app does not know is shown as stored and grants nothing. */
  role: string;
  grantedBy: string;
  grantedAt: string;
}

export interface RoleAssignmentsResponse {
  assignments: RoleAssignmentView[];
  /** Issuers to offer in the grant form: the admin's own, the configured ones, and those seen in assignments and sessions. */
  issuers: string[];
  roles: readonly AppRole[];
  /** The admin's own issuer (the grant form's default) and practitioner (whose own assignment cannot be changed here). */
  you: { issuer: string | null; practitioner: string | null };
}

export interface GrantRoleRequest {
  /** Default: the admin's own issuer. */
  issuer?: string;
  practitioner: string;
  role: AppRole;
}

export interface RevokeRoleRequest {
  issuer?: string;
  practitioner: string;
}

export interface GrantRoleResponse {
  outcome: "granted" | "changed" | "unchanged";
  assignment: RoleAssignmentView;
  previousRole: string | null;
  /** Open sessions of that practitioner ended, so the change holds from their next launch. */
  sessionsEnded: number;
  message: string;
}

export interface RevokeRoleResponse {
  revoked: RoleAssignmentView;
  sessionsEnded: number;
  message: string;
}

export interface AdminApiErrorBody {
  error: string;
  message: string;
  issues?: Array<{ path: string; message: string }>;
  relaunch?: string;
}
