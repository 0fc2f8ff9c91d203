/** SMART App Launch 2.x scopes (with v1 `.read`/`.write`/`.*` accepted) and the access decisions they grant. */

export type ScopeContext = "patient" | "user" | "system";
export type Permission = "c" | "r" | "u" | "d" | "s";

export interface ResourceScope {
  raw: string;
  context: ScopeContext;
  /** A resource type, or "*" for all. */
  resourceType: string;
  permissions: Set<Permission>;
  /** SMART v2 granular restriction, e.g. `category=laboratory`; resources must match it. */
  query?: string;
}

const RESOURCE_SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;

/** Non-resource scopes this server understands. */
export const LAUNCH_SCOPES = new Set([
  "openid",
  "fhirUser",
  "profile",
  "launch",
  "launch/patient",
  "launch/encounter",
  "offline_access",
  "online_access",
]);

export function parseResourceScope(scope: string): ResourceScope | undefined {
  const match = RESOURCE_SCOPE.exec(scope);
  if (!match) return undefined;
  const [, context, resourceType, access, query] = match;
  if (!context || !resourceType || !access) return undefined;
  let permissions: Permission[];
  if (access === "read") permissions = ["r", "s"];
  else if (access === "write") permissions = ["c", "u", "d"];
  else if (access === "*") permissions = ["c", "r", "u", "d", "s"];
  else if (V2_PERMISSIONS.test(access)) permissions = [...access] as Permission[];
  else return undefined;
  return {
    raw: scope,
    context: context as ScopeContext,
    resourceType,
    permissions: new Set(permissions),
    ...(query && query.length > 1 ? { query: query.slice(1) } : {}),
  };
}

export function splitScopes(scope: string | null | undefined): string[] {
  return (scope ?? "").split(/\s+/).filter((part) => part.length > 0);
}

/** True for a scope string this server can grant. */
export function isKnownScope(scope: string): boolean {
  return LAUNCH_SCOPES.has(scope) || parseResourceScope(scope) !== undefined || /^launch\/[a-z]+$/.test(scope);
}

export interface AccessGrant {
  /** True when some user/system scope grants the permission without a compartment limit. */
  unrestricted: boolean;
  /** True when only patient-level scopes grant it: access limited to the launch patient's compartment. */
  patientOnly: boolean;
  /** Granular restrictions (search query strings) of the scopes that grant access; empty = none. */
  queries: string[];
}

/**
 * Decides what the granted scopes allow for one permission on one resource type.
 * Returns undefined when nothing grants it.
 */
export function decideAccess(scopes: ResourceScope[], resourceType: string, permission: Permission): AccessGrant | undefined {
  const granting = scopes.filter(
    (scope) => (scope.resourceType === "*" || scope.resourceType === resourceType) && scope.permissions.has(permission),
  );
  if (granting.length === 0) return undefined;
  const wide = granting.filter((scope) => scope.context !== "patient");
  const chosen = wide.length > 0 ? wide : granting;
  // Any chosen scope without a query makes the access unconditional on content.
  const queries = chosen.some((scope) => !scope.query) ? [] : chosen.map((scope) => scope.query ?? "");
  return { unrestricted: wide.length > 0, patientOnly: wide.length === 0, queries };
}

/**
 * True when a registered (allowed) scope covers a requested one: the same scope, or a resource scope of the
 * same context for all types or the same type with at least the requested permissions and no narrower query.
 */
export function scopeCovers(allowed: string, requested: string): boolean {
  if (allowed === "*" || allowed === requested) return true;
  const allowedScope = parseResourceScope(allowed);
  const requestedScope = parseResourceScope(requested);
  if (!allowedScope || !requestedScope) return false;
  if (allowedScope.context !== requestedScope.context) return false;
  if (allowedScope.resourceType !== "*" && allowedScope.resourceType !== requestedScope.resourceType) return false;
  if (allowedScope.query && allowedScope.query !== requestedScope.query) return false;
  return [...requestedScope.permissions].every((permission) => allowedScope.permissions.has(permission));
}
