/**
 * The FHIR servers the app syncs, configured as data: SYNC_SOURCES (a JSON array) or SYNC_SOURCES_FILE (a JSON file
 * holding an array or { "sources": [...] }). Each source has its own Backend Services registration (client id and
 * private key), export level and Group. The rows are mirrored into the `sources` table so the panel can list and
 * filter them; private keys never go there.
 */
import { readFileSync } from "node:fs";
import type { JWK } from "jose";
import type pg from "pg";
import { z } from "zod";

/** The resource types a sync asks for: what the engine reads. */
export const SYNC_TYPES: string[] = [
  "Patient",
  "Condition",
  "Observation",
  "MedicationStatement",
  "MedicationRequest",
  "MedicationDispense",
  "Medication",
  "Immunization",
  "Procedure",
];

/** The Group the sandbox (and the demo) exports: the dermatology clinic's JAK panel. */
export const DEFAULT_GROUP_ID = "jak-panel";

export interface SourceConfig {
  id: string;
  name: string;
  fhirBase: string;
  clientId: string;
  /** Group exported at group level; null at system or patient level. */
  groupId: string | null;
  exportLevel: "group" | "system" | "patient";
  /** IANA zone of the clinic's midnight. */
  timezone: string;
  types: string[];
  privateJwk: JWK;
  /** The app's public JWKS URL, sent as the assertion's jku (must equal what the EHR registered). */
  jwksUrl?: string;
  scope: string;
  enabled: boolean;
}

export class SourceConfigError extends Error {
  override readonly name = "SourceConfigError";
}

const ASSERTION_ALGORITHMS = ["RS384", "ES384"];

const privateJwkSchema = z
  .object({ kty: z.string(), kid: z.string().min(1, "needs a kid"), d: z.string().min(1, "must be a private key (no d member)") }, { error: "must be a JWK object" })
  .passthrough()
  .superRefine((jwk, context) => {
    const alg = jwk.alg ?? (jwk.kty === "RSA" ? "RS384" : jwk.kty === "EC" && jwk.crv === "P-384" ? "ES384" : undefined);
    if (typeof alg !== "string" || !ASSERTION_ALGORITHMS.includes(alg)) {
      context.addIssue({ code: "custom", message: "alg must be RS384 or ES384 (an RSA or P-384 key)" });
    }
  });

const timezoneSchema = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, "must be an IANA time zone such as Europe/Berlin");

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const sourceSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'"),
    name: z.string().min(1).optional(),
    fhirBase: httpUrl,
    clientId: z.string().min(1, "is required"),
    groupId: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, "must be a FHIR id").nullable().optional(),
    exportLevel: z.enum(["group", "system", "patient"]).optional(),
    timezone: timezoneSchema.optional(),
    types: z.array(z.string().regex(/^[A-Z][A-Za-z]+$/, "must be FHIR resource types")).min(1).optional(),
    privateJwk: z.union([privateJwkSchema, z.string().min(1)]).optional(),
    privateJwkFile: z.string().min(1).optional(),
    jwksUrl: httpUrl.optional(),
    scope: z.string().min(1).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

type SourceInput = z.infer<typeof sourceSchema>;

/** `system/<Type>.rs` for each type (plus Group read for group level: the search fallback reads the members). */
export function defaultScope(types: string[], exportLevel: SourceConfig["exportLevel"]): string {
  const scopes = types.map((type) => `system/${type}.rs`);
  if (exportLevel === "group" && !types.includes("Group")) scopes.push("system/Group.rs");
  return scopes.join(" ");
}

function fail(field: string, message: string): never {
  throw new SourceConfigError(`${field}: ${message}`);
}

function parseJwk(value: unknown, field: string): JWK {
  let candidate = value;
  if (typeof value === "string") {
    try {
      candidate = JSON.parse(value);
    } catch {
      fail(field, "is not valid JSON");
    }
  }
  const parsed = privateJwkSchema.safeParse(candidate);
  if (!parsed.success) fail(field, parsed.error.issues.map((issue) => [issue.path.join("."), issue.message].filter(Boolean).join(" ")).join("; "));
  return parsed.data as JWK;
}

function toConfig(input: SourceInput, field: string, env: Record<string, string | undefined>): SourceConfig {
  let privateJwk: JWK;
  if (input.privateJwk !== undefined && input.privateJwkFile !== undefined) fail(field, "give privateJwk or privateJwkFile, not both");
  if (input.privateJwk !== undefined) privateJwk = parseJwk(input.privateJwk, `${field}.privateJwk`);
  else if (input.privateJwkFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(input.privateJwkFile, "utf8");
    } catch {
      fail(`${field}.privateJwkFile`, `cannot read ${input.privateJwkFile}`);
    }
    privateJwk = parseJwk(text, `${field}.privateJwkFile`);
  } else fail(`${field}.privateJwk`, "is required (a private JWK object or JSON string), or privateJwkFile");

  const exportLevel = input.exportLevel ?? "group";
  if (exportLevel !== "group" && input.groupId) fail(`${field}.groupId`, `only applies to exportLevel "group" (this source is "${exportLevel}")`);
  const types = input.types ?? [...SYNC_TYPES];
  const envTimezone = env.CLINIC_TIMEZONE?.trim();
  if (input.timezone === undefined && envTimezone && !timezoneSchema.safeParse(envTimezone).success) {
    fail("CLINIC_TIMEZONE", "must be an IANA time zone such as Europe/Berlin");
  }
  return {
    id: input.id,
    name: input.name ?? input.id,
    fhirBase: input.fhirBase.replace(/\/+$/, ""),
    clientId: input.clientId,
    groupId: exportLevel === "group" ? (input.groupId ?? DEFAULT_GROUP_ID) : null,
    exportLevel,
    timezone: input.timezone ?? (envTimezone || "UTC"),
    types,
    privateJwk,
    ...(input.jwksUrl ? { jwksUrl: input.jwksUrl } : {}),
    scope: input.scope ?? defaultScope(types, exportLevel),
    enabled: input.enabled ?? true,
  };
}

/** Validates parsed JSON (an array of sources, or { sources: [...] }); `origin` names where it came from in errors. */
export function parseSourceConfigs(value: unknown, origin: string, env: Record<string, string | undefined> = process.env): SourceConfig[] {
  const list = Array.isArray(value) ? value : value && typeof value === "object" && Array.isArray((value as { sources?: unknown }).sources) ? (value as { sources: unknown[] }).sources : null;
  if (!list) fail(origin, 'must be a JSON array of sources (or { "sources": [...] })');
  const configs = list.map((item, index) => {
    const field = `${origin}[${index}]`;
    const parsed = sourceSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.length ? `.${issue.path.join(".")}` : "";
      fail(`${field}${path}`, issue?.message ?? "is not valid");
    }
    return toConfig(parsed.data, field, env);
  });
  const seen = new Set<string>();
  configs.forEach((config, index) => {
    if (seen.has(config.id)) fail(`${origin}[${index}].id`, `"${config.id}" is used by another source`);
    seen.add(config.id);
  });
  return configs;
}

/**
 * The configured sources, validated: SYNC_SOURCES (JSON) wins over SYNC_SOURCES_FILE; neither set gives none
 * (the demo configures the sandbox). Throws SourceConfigError naming the bad field, e.g. "SYNC_SOURCES[0].fhirBase: ...".
 */
export function loadSourceConfigs(env: Record<string, string | undefined> = process.env): SourceConfig[] {
  const inline = env.SYNC_SOURCES?.trim();
  if (inline) {
    let value: unknown;
    try {
      value = JSON.parse(inline);
    } catch {
      fail("SYNC_SOURCES", "is not valid JSON");
    }
    return parseSourceConfigs(value, "SYNC_SOURCES", env);
  }
  const file = env.SYNC_SOURCES_FILE?.trim();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      fail("SYNC_SOURCES_FILE", `cannot read ${file}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      fail("SYNC_SOURCES_FILE", `${file} is not valid JSON`);
    }
    return parseSourceConfigs(value, "SYNC_SOURCES_FILE", env);
  }
  return [];
}

/** A source for the sandbox EHR (the demo's default): group-level export of the jak-panel Group. */
export function sandboxSourceConfig(input: { fhirBase: string; clientId: string; privateJwk: JWK; jwksUrl?: string; id?: string; timezone?: string }): SourceConfig {
  return {
    id: input.id ?? "sandbox",
    name: "Sandbox EHR",
    fhirBase: input.fhirBase.replace(/\/+$/, ""),
    clientId: input.clientId,
    groupId: DEFAULT_GROUP_ID,
    exportLevel: "group",
    timezone: input.timezone ?? "UTC",
    types: [...SYNC_TYPES],
    privateJwk: input.privateJwk,
    ...(input.jwksUrl ? { jwksUrl: input.jwksUrl } : {}),
    scope: defaultScope(SYNC_TYPES, "group"),
    enabled: true,
  };
}

/**
 * Mirrors the configuration into the `sources` table (keys are not stored). Sync state (last transaction time,
 * last success) is kept; sources no longer configured are disabled, their data stays.
 */
export async function syncSourcesTable(pool: pg.Pool, configs: SourceConfig[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    for (const config of configs) {
      await client.query(
        `INSERT INTO sources (id, name, fhir_base, client_id, group_id, export_level, timezone, enabled, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, fhir_base = EXCLUDED.fhir_base, client_id = EXCLUDED.client_id,
           group_id = EXCLUDED.group_id, export_level = EXCLUDED.export_level, timezone = EXCLUDED.timezone, enabled = EXCLUDED.enabled,
           updated_at = now()
         WHERE (sources.name, sources.fhir_base, sources.client_id, sources.group_id, sources.export_level, sources.timezone, sources.enabled)
           IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.fhir_base, EXCLUDED.client_id, EXCLUDED.group_id, EXCLUDED.export_level, EXCLUDED.timezone, EXCLUDED.enabled)`,
        [config.id, config.name, config.fhirBase, config.clientId, config.groupId, config.exportLevel, config.timezone, config.enabled],
      );
    }
    await client.query("UPDATE sources SET enabled = false, updated_at = now() WHERE enabled AND NOT (id = ANY($1::text[]))", [configs.map((config) => config.id)]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
