/**
 * The patient's record for a hook call: prefetch first; a key the client did not send (or sent as null or an
 * OperationOutcome) is fetched from `fhirServer` with the client's `fhirAuthorization` token, with the same searches the
 * patient page runs (lib/fhir/patient-record), paged and bounded. Without that authorisation nothing is fetched: the
 * missing data is named in `unreadable` (the cards' details say it) rather than guessed. No PHI in what is returned
 * besides the resources: the unreadable lines name data kinds and HTTP statuses only.
 */
import type { Resource } from "@medplum/fhirtypes";
import { chunkCodes } from "../fhir/search-codes";
import { patientSearches } from "../fhir/patient-record";
import { FhirHttpError, FhirRequester } from "../fhir/requester";
import type { PrefetchKey } from "./discovery";

/** What the engine needs, in the order the unreadable lines list them. `conditions` is context only (never fetched). */
const ENGINE_KEYS = ["patient", "observations", "medicationRequests", "medicationStatements", "medicationDispenses", "immunizations", "procedures"] as const;

type EngineKey = (typeof ENGINE_KEYS)[number];

const KEY_LABEL: Record<EngineKey, string> = {
  patient: "Patient demographics (birth date, sex)",
  observations: "Scores and laboratory results (Observation)",
  medicationRequests: "Medication orders (MedicationRequest)",
  medicationStatements: "Medication statements (MedicationStatement)",
  medicationDispenses: "Medication dispenses (MedicationDispense)",
  immunizations: "Vaccinations (Immunization)",
  procedures: "Procedures such as phototherapy (Procedure)",
};

const KEY_TYPE: Record<Exclude<EngineKey, "patient">, string> = {
  observations: "Observation",
  medicationRequests: "MedicationRequest",
  medicationStatements: "MedicationStatement",
  medicationDispenses: "MedicationDispense",
  immunizations: "Immunization",
  procedures: "Procedure",
};

/** The EHR access a hook call granted: both fhirServer and fhirAuthorization's token, or none. */
export interface FhirAccess {
  server: string;
  accessToken: string;
}

export interface GatherInput {
  patientId: string;
  prefetch?: Readonly<Record<string, unknown>> | undefined;
  /** null: the call gave no usable authorisation; `why` says so in the unreadable lines. */
  fhir: FhirAccess | null;
  /** Why `fhir` is null (for the cards' detail): default "the request gave no FHIR server authorisation". */
  noAccessReason?: string;
  /** Resources outside the record whose Medication references must resolve too (draft orders). */
  alsoReferencing?: readonly unknown[];
  /** Extra Observation codes to search (system|code): the site's mapped score codes, as the patient page does. */
  extraObservationCodes?: readonly string[];
  fetch?: typeof fetch;
  /** _count asked for (default 1000). */
  pageSize?: number;
}

export interface GatheredRecord {
  /** Every resource read (prefetch and fetched), de-duplicated by type/id. */
  resources: Resource[];
  /** One line per kind of data that could not be read, for the cards' detail. Empty when everything was read. */
  unreadable: string[];
  /** Keys taken from the prefetch, fetched from the server, and not read at all. */
  prefetched: PrefetchKey[];
  fetched: PrefetchKey[];
  missing: PrefetchKey[];
  /** FHIR requests issued (0 with a full prefetch). */
  requests: number;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

function statusText(error: unknown): string {
  if (error instanceof FhirHttpError) return error.status === null ? `the EHR did not answer (${error.message})` : `the EHR answered HTTP ${error.status}`;
  return "the EHR's answer could not be read";
}

/** Resources of a prefetched value: a Bundle's entries (outcome entries left out) or a single resource. */
function prefetchedResources(value: Json): Resource[] {
  if (value.resourceType === "Bundle") {
    const entries = Array.isArray(value.entry) ? value.entry : [];
    return entries
      .map((entry) => (isObject(entry) && isObject(entry.resource) ? (entry.resource as unknown as Resource) : null))
      .filter((r): r is Resource => r !== null && typeof r.resourceType === "string" && r.resourceType !== "OperationOutcome");
  }
  return [value as unknown as Resource];
}

function nextLink(value: Json): string | null {
  if (value.resourceType !== "Bundle" || !Array.isArray(value.link)) return null;
  const next = value.link.find((l) => isObject(l) && l.relation === "next");
  return isObject(next) && typeof next.url === "string" ? next.url : null;
}

const MED_TYPES = new Set(["MedicationStatement", "MedicationRequest", "MedicationDispense"]);

/** `Medication/x` ids referenced (not contained) by medication resources. */
function medicationReferences(resources: readonly unknown[]): string[] {
  const ids = new Set<string>();
  for (const r of resources) {
    if (!isObject(r) || typeof r.resourceType !== "string" || !MED_TYPES.has(r.resourceType)) continue;
    const ref = isObject(r.medicationReference) ? r.medicationReference.reference : undefined;
    if (typeof ref !== "string" || ref.startsWith("#")) continue;
    const m = /(?:^|\/)Medication\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(ref);
    if (m?.[1]) ids.add(m[1]);
  }
  return [...ids];
}

export async function gatherPatientRecord(input: GatherInput): Promise<GatheredRecord> {
  const byKey = new Map<string, Resource>();
  const add = (resources: readonly Resource[]): void => {
    for (const r of resources) {
      if (!r?.resourceType || r.resourceType === "OperationOutcome") continue;
      // A resource whose id is not text (hostile or broken input) is kept under a key of its own.
      const key = `${String(r.resourceType)}/${typeof r.id === "string" ? r.id : `anon-${byKey.size}`}`;
      if (!byKey.has(key)) byKey.set(key, r);
    }
  };
  const requester = input.fhir
    ? new FhirRequester({
        baseUrl: input.fhir.server,
        accessToken: input.fhir.accessToken,
        ...(input.fetch ? { fetch: input.fetch } : {}),
        // A hook call is on the clinician's clock: fail fast rather than hold the EHR's screen.
        timeoutMs: 8000,
        maxRetries: 1,
        maxRetryAfterMs: 1000,
        maxPages: 20,
      })
    : null;
  const noAccess = input.noAccessReason ?? "the request gave no FHIR server authorisation";
  const unreadable: string[] = [];
  const prefetched: PrefetchKey[] = [];
  const fetched: PrefetchKey[] = [];
  const missing: PrefetchKey[] = [];
  const prefetch = input.prefetch ?? {};

  // Conditions are context for the EHR's own use; the engine does not read them, so they are taken if sent, never fetched.
  if (isObject(prefetch.conditions)) {
    add(prefetchedResources(prefetch.conditions));
    prefetched.push("conditions");
  }

  const searches = patientSearches(input.patientId, {
    ...(input.pageSize ? { pageSize: input.pageSize } : {}),
    ...(input.extraObservationCodes ? { extraObservationCodes: input.extraObservationCodes } : {}),
  });

  const fetchKey = async (key: EngineKey): Promise<void> => {
    if (!requester) {
      missing.push(key);
      unreadable.push(`${KEY_LABEL[key]} could not be read: not in the prefetch and ${noAccess}.`);
      return;
    }
    try {
      if (key === "patient") {
        const patient = await requester.get<Resource>(`Patient/${encodeURIComponent(input.patientId)}`);
        if (patient.resourceType !== "Patient") throw new FhirHttpError(200, "not a Patient");
        add([patient]);
      } else {
        const type = KEY_TYPE[key];
        // In parallel, as the patient page runs them; all must succeed for the key to count as read.
        const pages = await Promise.all(
          searches
            .filter((s) => s.path.startsWith(`${type}?`))
            .map(async (spec) => {
              try {
                return (await requester.searchAll(spec.path)).resources;
              } catch (error) {
                // The patient page's fallback: a server that refuses _include is asked again without it.
                if (!(spec.fallback && error instanceof FhirHttpError && error.status === 400)) throw error;
                return (await requester.searchAll(spec.fallback)).resources;
              }
            }),
        );
        for (const resources of pages) add(resources);
      }
      fetched.push(key);
    } catch (error) {
      missing.push(key);
      unreadable.push(`${KEY_LABEL[key]} could not be read: ${statusText(error)}.`);
    }
  };

  const pending: Array<Promise<void>> = [];
  for (const key of ENGINE_KEYS) {
    const value = prefetch[key];
    if (!isObject(value) || value.resourceType === "OperationOutcome") {
      pending.push(fetchKey(key));
      continue;
    }
    add(prefetchedResources(value));
    prefetched.push(key);
    const next = nextLink(value);
    if (next === null) continue;
    // The client sent only the first page of a search: read the rest with its authorisation, or say it is partial.
    if (!requester) {
      unreadable.push(`${KEY_LABEL[key]} were sent only in part (the first page of the search) and ${noAccess}.`);
      continue;
    }
    pending.push(
      requester.searchAll(next).then(
        (page) => add(page.resources),
        (error: unknown) => void unreadable.push(`${KEY_LABEL[key]} were sent only in part, and the rest could not be read: ${statusText(error)}.`),
      ),
    );
  }
  await Promise.all(pending);

  // Medications referenced by orders but neither sent nor included: without them a drug may not be recognised.
  const present = new Set([...byKey.keys()]);
  const unresolved = medicationReferences([...byKey.values(), ...(input.alsoReferencing ?? [])]).filter((id) => !present.has(`Medication/${id}`));
  if (unresolved.length > 0) {
    if (!requester) unreadable.push(`Medication details referenced by orders (${unresolved.length} Medication resource${unresolved.length === 1 ? "" : "s"}) were not sent and ${noAccess}, so those drugs may not be recognised.`);
    else {
      try {
        for (const chunk of chunkCodes(unresolved)) {
          add((await requester.searchAll(`Medication?_id=${chunk.map(encodeURIComponent).join(",")}&_count=${chunk.length}`)).resources);
        }
      } catch (error) {
        unreadable.push(`Medication details referenced by orders could not be read: ${statusText(error)}, so those drugs may not be recognised.`);
      }
    }
  }

  // Stable order: the order ENGINE_KEYS lists, whatever order the parallel fetches finished in.
  const order = (keys: PrefetchKey[]) => keys.sort((a, b) => orderOf(a) - orderOf(b));
  unreadable.sort((a, b) => lineOrder(a) - lineOrder(b));
  return { resources: [...byKey.values()], unreadable, prefetched: order(prefetched), fetched: order(fetched), missing: order(missing), requests: requester?.stats.requests ?? 0 };
}

const ALL_KEYS: readonly PrefetchKey[] = [...ENGINE_KEYS, "conditions"];

function orderOf(key: PrefetchKey): number {
  return ALL_KEYS.indexOf(key);
}

function lineOrder(line: string): number {
  const index = ENGINE_KEYS.findIndex((key) => line.startsWith(KEY_LABEL[key]));
  return index === -1 ? ENGINE_KEYS.length : index;
}
