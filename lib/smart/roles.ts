/** The app's roles, how a PractitionerRole names one, and where each lands after a launch. */
export type AppRole = "dermatologist" | "clinic-lead" | "quality" | "admin";
export const APP_ROLES: readonly AppRole[] = ["dermatologist", "clinic-lead", "quality", "admin"];

/** The app's own CodeSystem for its roles: an EHR that codes a PractitionerRole with it names the role exactly. */
export const APP_ROLE_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role";

/** Roles that may open the live patient view (and record scores) for the patient the EHR launched them with. */
export const PATIENT_VIEW_ROLES: readonly AppRole[] = ["dermatologist", "clinic-lead"];

/** Roles that manage the app: role assignments and the audit trail. */
export const ADMIN_ROLES: readonly AppRole[] = ["admin"];

export function isAppRole(value: unknown): value is AppRole {
  return typeof value === "string" && (APP_ROLES as readonly string[]).includes(value);
}

export function parseRole(value: unknown): AppRole | null {
  if (typeof value !== "string") return null;
  const v = value.trim().toLowerCase().replace(/[\s_]+/g, "-");
  if (isAppRole(v)) return v;
  if (v === "lead" || v === "clinic-lead-dermatologist" || v === "clinical-lead") return "clinic-lead";
  if (v === "quality-analyst" || v === "analyst") return "quality";
  return null;
}

/**
 * A site's own PractitionerRole codes mapped to app roles (ROLE_MAPPING): `bySystemCode` keys are "system|code",
 * `byCode` keys a bare code in any system.
 */
export interface RoleMapping {
  bySystemCode: ReadonlyMap<string, AppRole>;
  byCode: ReadonlyMap<string, AppRole>;
}

export const EMPTY_ROLE_MAPPING: RoleMapping = { bySystemCode: new Map(), byCode: new Map() };

export class RoleMappingError extends Error {
  override readonly name = "RoleMappingError";
}

/**
 * Parses ROLE_MAPPING: a JSON object from a PractitionerRole code ("MD") or "system|code"
 * ("http://snomed.info/sct|309343006") to an app role. Unset or blank is no mapping; anything malformed throws a
 * RoleMappingError that says what is wrong (a wrong mapping must never silently grant or drop a role).
 */
export function parseRoleMapping(text: string | undefined | null): RoleMapping {
  if (text === undefined || text === null || text.trim() === "") return EMPTY_ROLE_MAPPING;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RoleMappingError(`ROLE_MAPPING is not valid JSON (${error instanceof Error ? error.message : "parse error"}).`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new RoleMappingError(`ROLE_MAPPING must be a JSON object from a PractitionerRole code (or "system|code") to one of ${APP_ROLES.join(", ")}.`);
  }
  const bySystemCode = new Map<string, AppRole>();
  const byCode = new Map<string, AppRole>();
  for (const [key, value] of Object.entries(raw)) {
    if (!isAppRole(value)) throw new RoleMappingError(`ROLE_MAPPING[${JSON.stringify(key)}] is ${JSON.stringify(value)}, not one of ${APP_ROLES.join(", ")}.`);
    const parts = key.split("|");
    if (parts.length > 2 || parts.some((p) => p.trim() === "" || p !== p.trim())) {
      throw new RoleMappingError(`ROLE_MAPPING key ${JSON.stringify(key)} is not a code or "system|code" (no blanks, at most one "|").`);
    }
    if (parts.length === 2) bySystemCode.set(key, value);
    else byCode.set(key, value);
  }
  return { bySystemCode, byCode };
}

/** ROLE_MAPPING from the environment (throws RoleMappingError when it is malformed). */
export function roleMappingFromEnv(env: Record<string, string | undefined> = process.env): RoleMapping {
  return parseRoleMapping(env.ROLE_MAPPING);
}

interface CodeableConceptLike {
  text?: string;
  coding?: Array<{ system?: string; code?: string; display?: string }>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** The resource's `code` concepts, with only well-typed text and codings kept: the EHR's answer is not trusted. */
function conceptsOf(resource: unknown): CodeableConceptLike[] {
  const code = isObject(resource) ? resource.code : undefined;
  if (!Array.isArray(code)) return [];
  return code.filter(isObject).map((cc) => {
    const coding = (Array.isArray(cc.coding) ? cc.coding : []).filter(isObject).map((c) => ({ system: text(c.system), code: text(c.code), display: text(c.display) }));
    return { text: text(cc.text), coding };
  });
}

/**
 * The role a site's mapping (ROLE_MAPPING) or the app's own CodeSystem gives a PractitionerRole's `code`, matched
 * on system and code: exact, so it is tried before word matching.
 */
export function mappedRoleOf(resource: unknown, mapping: RoleMapping): AppRole | null {
  const codings = conceptsOf(resource).flatMap((cc) => cc.coding ?? []);
  for (const c of codings) {
    if (c.system && c.code) {
      const role = mapping.bySystemCode.get(`${c.system}|${c.code}`);
      if (role) return role;
    }
  }
  for (const c of codings) {
    const role = c.code ? mapping.byCode.get(c.code) : undefined;
    if (role) return role;
  }
  for (const c of codings) {
    if (c.system === APP_ROLE_SYSTEM && isAppRole(c.code)) return c.code;
  }
  return null;
}

/**
 * The role from a PractitionerRole resource's `code` by its words (codings' code/display and text): a site may
 * name the app's roles as it likes. Never `admin`: "admin" in an EHR usually means administrative staff, so the app
 * administrator comes only from the app's CodeSystem, ROLE_MAPPING or an assignment made in the app.
 */
export function roleFromPractitionerRole(resource: unknown): AppRole | null {
  const words: string[] = [];
  for (const cc of conceptsOf(resource)) {
    if (cc.text) words.push(cc.text);
    for (const c of cc.coding ?? []) words.push(c.code ?? "", c.display ?? "");
  }
  for (const w of words) {
    const direct = parseRole(w);
    if (direct && direct !== "admin") return direct;
  }
  const text = words.join(" ").toLowerCase();
  if (/\b(clinic|clinical) lead\b/.test(text)) return "clinic-lead";
  if (/\bquality\b/.test(text)) return "quality";
  if (/\bdermatolog/.test(text)) return "dermatologist";
  return null;
}

/** Where each role starts when it has no patient view to open. */
export const ROLE_HOME: Readonly<Record<AppRole, string | null>> = {
  dermatologist: null,
  "clinic-lead": "/panel",
  quality: "/reports",
  admin: "/admin",
};

/**
 * Where the callback sends the user: the patient view when a patient is in context and the role may open it, else
 * the role's home page, else the page that says there is nothing to show without a patient.
 */
export function landingPath(patientId: string | null, role: AppRole | null): string {
  if (patientId && role && PATIENT_VIEW_ROLES.includes(role)) return `/patients/${encodeURIComponent(patientId)}`;
  return (role ? ROLE_HOME[role] : null) ?? "/relaunch?reason=no-patient";
}

/** An issuer (FHIR base URL) as role assignments are keyed: without trailing slashes. */
export function canonicalIssuer(issuer: string): string {
  return issuer.trim().replace(/\/+$/, "");
}
