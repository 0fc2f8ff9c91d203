/**
 * What a FHIR server offers for population sync, from its CapabilityStatement: the Bulk Data $export levels
 * (system, patient, group). A server without any falls back to paged search per patient.
 */
import { BulkExportError } from "./bulk-client";
import { abortableSleep, backoffMs, retryAfterMs, TRANSIENT_STATUSES } from "./http-retry";

export type ExportLevelName = "system" | "patient" | "group";

export interface ServerCapabilities {
  fhirVersion: string | null;
  exportLevels: Array<ExportLevelName>;
}

const LEVEL_ORDER: ExportLevelName[] = ["system", "patient", "group"];
const MAX_RETRIES = 3;

interface OperationLike {
  name?: unknown;
  definition?: unknown;
}

/** The canonical URL of an operation's definition (R4 canonical string, or an R3 Reference), without a |version. */
function definitionUrl(definition: unknown): string {
  const url = typeof definition === "string" ? definition : typeof (definition as { reference?: unknown })?.reference === "string" ? (definition as { reference: string }).reference : "";
  return url.split("|")[0]?.replace(/\/+$/, "") ?? "";
}

/** The export level one declared operation stands for; resourceType is the resource it is declared on, if any. */
function levelOf(operation: OperationLike, resourceType: string | null): ExportLevelName | null {
  const name = typeof operation?.name === "string" ? operation.name.replace(/^\$/, "").toLowerCase() : "";
  const definition = definitionUrl(operation?.definition);
  if (name === "group-export" || definition.endsWith("/group-export")) return "group";
  if (name === "patient-export" || definition.endsWith("/patient-export")) return "patient";
  if (name === "export" || definition.endsWith("/export")) {
    if (resourceType === "Group") return "group";
    if (resourceType === "Patient") return "patient";
    return resourceType === null ? "system" : null;
  }
  return null;
}

/** The $export levels a CapabilityStatement declares, in the order system, patient, group. Pure. */
export function exportLevelsOf(capabilityStatement: unknown): ServerCapabilities["exportLevels"] {
  const statement = capabilityStatement as { resourceType?: unknown; rest?: unknown } | null;
  if (!statement || typeof statement !== "object" || statement.resourceType !== "CapabilityStatement" || !Array.isArray(statement.rest)) return [];
  const levels = new Set<ExportLevelName>();
  for (const rest of statement.rest as Array<{ mode?: unknown; operation?: unknown; resource?: unknown } | null>) {
    if (!rest || (rest.mode !== undefined && rest.mode !== "server")) continue;
    for (const operation of Array.isArray(rest.operation) ? (rest.operation as OperationLike[]) : []) {
      const level = levelOf(operation, null);
      if (level) levels.add(level);
    }
    for (const resource of Array.isArray(rest.resource) ? (rest.resource as Array<{ type?: unknown; operation?: unknown } | null>) : []) {
      const type = typeof resource?.type === "string" ? resource.type : "";
      for (const operation of Array.isArray(resource?.operation) ? (resource.operation as OperationLike[]) : []) {
        const level = levelOf(operation, type);
        if (level) levels.add(level);
      }
    }
  }
  return LEVEL_ORDER.filter((level) => levels.has(level));
}

/** Reads {fhirBase}/metadata (retrying 429/502-504 and network failures) and says which $export levels it offers. */
export async function readCapabilities(fhirBase: string, options: { fetch?: typeof fetch; accessToken?: string; sleep?: (ms: number) => Promise<void> } = {}): Promise<ServerCapabilities> {
  const url = `${fhirBase.replace(/\/+$/, "")}/metadata`;
  const fetchImpl = options.fetch ?? fetch;
  const sleep = options.sleep ?? abortableSleep;
  const headers: Record<string, string> = { accept: "application/fhir+json" };
  if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetchImpl(url, { headers, signal: AbortSignal.timeout(20_000) });
    } catch {
      if (attempt < MAX_RETRIES) {
        await sleep(backoffMs(attempt, 250, 5000));
        continue;
      }
      throw new BulkExportError(`cannot reach ${url}`, null, `The FHIR server at ${fhirBase} did not answer; check the source's FHIR base URL and the network path to the EHR.`, true);
    }
    if (TRANSIENT_STATUSES.has(response.status) && attempt < MAX_RETRIES) {
      await response.body?.cancel();
      await sleep(retryAfterMs(response, 30_000) ?? backoffMs(attempt, 250, 5000));
      continue;
    }
    const body: unknown = response.ok ? await response.json().catch(() => null) : await response.body?.cancel();
    const statement = body as { resourceType?: unknown; fhirVersion?: unknown } | null | undefined;
    if (!response.ok || statement?.resourceType !== "CapabilityStatement") {
      throw new BulkExportError(
        `${url} answered ${response.ok ? "without a CapabilityStatement" : `HTTP ${response.status}`}`,
        response.status,
        `The FHIR server at ${fhirBase} did not return its CapabilityStatement (/metadata); check the source's FHIR base URL.`,
        TRANSIENT_STATUSES.has(response.status) || response.status >= 500,
      );
    }
    return { fhirVersion: typeof statement.fhirVersion === "string" ? statement.fhirVersion : null, exportLevels: exportLevelsOf(statement) };
  }
}
