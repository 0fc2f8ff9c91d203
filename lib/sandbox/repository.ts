import {
  deepClone,
  evalFhirPath,
  type FhirPathAtom,
  getResourceTypes,
  getSearchParameter,
  getSearchParameters,
  indexSearchParameter,
  matchesSearchRequest,
  parseFhirPath,
  type SearchRequest,
  type SortRule,
  type WithId,
} from "@medplum/core";
import { getExtraEntries, MemoryRepository } from "@medplum/fhir-router";
import type { Bundle, BundleEntry, Reference, Resource } from "@medplum/fhirtypes";
import { getPatientCompartmentParams, loadFhirDefinitions } from "./definitions";

type StoredResource = WithId<Resource>;

/**
 * Medplum's MemoryRepository plus a Patient-compartment index and a search that only scans the
 * compartment when a search names one patient (MemoryRepository scans every resource of the type).
 */
export class SandboxRepository extends MemoryRepository {
  /** Our own view of current resources, keyed "Type/id", so search can pre-filter and sort cheaply. */
  private readonly current = new Map<string, StoredResource>();
  /** patient id -> "Type/id" keys of resources in that patient's compartment. */
  private readonly compartments = new Map<string, Set<string>>();
  /** The same by type (patient id -> type -> keys), so a search for one type skips the patient's other resources. */
  private readonly compartmentsByType = new Map<string, Map<string, Set<string>>>();
  /** type -> "Type/id" keys, in the order `current` holds them, so a search by type skips other types. */
  private readonly byType = new Map<string, Set<string>>();
  /** "Type/id" -> lower-cased JSON, for a cheap necessary-condition test before FHIRPath matching. */
  private readonly searchText = new Map<string, string>();
  /** "Type/id" -> patient ids whose compartment holds it. */
  private readonly memberships = new Map<string, Set<string>>();

  constructor() {
    loadFhirDefinitions();
    narrowSearchParameterExpressions();
    super();
  }

  override async createResource<T extends Resource>(
    resource: T,
    options?: Parameters<MemoryRepository["createResource"]>[1],
    update = false,
  ): Promise<WithId<T>> {
    const saved = await super.createResource(resource, options, update);
    this.indexResource(saved);
    return saved;
  }

  override async deleteResource(
    resourceType: string,
    id: string,
    options?: Parameters<MemoryRepository["deleteResource"]>[2],
  ): Promise<void> {
    await super.deleteResource(resourceType, id, options);
    this.unindex(`${resourceType}/${id}`);
  }

  override async expungeResources(resourceType: string, ids: string[]): Promise<void> {
    await super.expungeResources(resourceType, ids);
    for (const id of ids) this.unindex(`${resourceType}/${id}`);
  }

  override clear(): void {
    super.clear();
    this.current.clear();
    this.searchText.clear();
    this.compartments.clear();
    this.compartmentsByType.clear();
    this.byType.clear();
    this.memberships.clear();
  }

  /** Loads resources keeping their ids and meta.lastUpdated (seeding mode). */
  async seed(resources: Iterable<Resource>): Promise<number> {
    let count = 0;
    await this.withSeeding(async () => {
      for (const resource of resources) {
        await this.createResource(resource, undefined, true);
        count++;
      }
    });
    return count;
  }

  /** Patient ids whose compartment contains this resource (the Patient itself included). */
  compartmentsOf(resource: Resource): string[] {
    return [...this.computeCompartments(resource)];
  }

  /** True when the resource type has Patient-compartment membership rules at all. */
  isCompartmentType(resourceType: string): boolean {
    return resourceType === "Patient" || getPatientCompartmentParams().has(resourceType);
  }

  /** Current resources of one type (no copies: callers must not mutate). */
  *iterateType(resourceType: string): Iterable<StoredResource> {
    for (const key of this.byType.get(resourceType) ?? []) {
      const resource = this.current.get(key);
      if (resource) yield resource;
    }
  }

  /** Current resources of one type in one patient's compartment (no copies). */
  *iterateCompartment(patientId: string, resourceType?: string): Iterable<StoredResource> {
    const keys = resourceType ? this.compartmentsByType.get(patientId)?.get(resourceType) : this.compartments.get(patientId);
    for (const key of keys ?? []) {
      const resource = this.current.get(key);
      if (resource) yield resource;
    }
  }

  resourceTypes(): string[] {
    const types = new Set<string>();
    for (const [type, keys] of this.byType) if (keys.size > 0) types.add(type);
    return [...types].sort();
  }

  /**
   * Search restricted (optionally) to one patient's compartment. Filters with Medplum's matcher,
   * sorts on precomputed keys, and clones only the returned page; `serializedAtOnce`: the caller only serialises
   * the Bundle and never mutates its resources (the FHIR API), so the stored resources go in uncloned.
   */
  async searchWithin<T extends Resource>(
    searchRequest: SearchRequest<T>,
    compartmentPatientId?: string,
    predicate?: (resource: Resource) => boolean,
    options: { serializedAtOnce?: boolean } = {},
  ): Promise<Bundle<WithId<T>>> {
    const { resourceType } = searchRequest;
    const namedPatients = this.patientsNamedBy(searchRequest);
    let candidates: Iterable<StoredResource>;
    if (compartmentPatientId !== undefined && this.isCompartmentType(resourceType)) {
      candidates = this.iterateCompartment(compartmentPatientId, resourceType);
    } else if (namedPatients && namedPatients.length === 1 && namedPatients[0]) {
      candidates = this.iterateCompartment(namedPatients[0], resourceType);
    } else {
      candidates = this.iterateType(resourceType);
    }
    const requiredTexts = requiredTextAlternatives(searchRequest);
    const matches: StoredResource[] = [];
    for (const resource of candidates) {
      if (requiredTexts.length > 0) {
        const text = this.searchText.get(`${resource.resourceType}/${resource.id}`) ?? "";
        if (!requiredTexts.every((alternatives) => alternatives.some((value) => text.includes(value)))) continue;
      }
      if (matchesSearchRequest(resource, searchRequest) && (!predicate || predicate(resource))) matches.push(resource);
    }
    const sorted = sortResources(matches, searchRequest.sortRules ?? []);
    const offset = searchRequest.offset ?? 0;
    const count = searchRequest.count ?? sorted.length;
    const page = sorted.slice(offset, offset + count);
    const entries: BundleEntry[] = page.map((resource) => ({
      search: { mode: "match" },
      resource: searchRequest.fields ? selectElements(resource, searchRequest.fields) : options.serializedAtOnce ? resource : deepClone(resource),
    }));
    if ((searchRequest.include || searchRequest.revInclude) && entries.length > 0) {
      await getExtraEntries(
        this,
        searchRequest,
        entries.map((entry) => entry.resource as WithId<T>),
        entries,
      );
    }
    return {
      resourceType: "Bundle",
      type: "searchset",
      total: matches.length,
      ...(entries.length > 0 ? { entry: entries as BundleEntry<WithId<T>>[] } : {}),
    };
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    // Chained filters (a.b=c) need MemoryRepository's resolver.
    if (searchRequest.filters?.some((filter) => filter.code.includes("."))) return super.search(searchRequest);
    return this.searchWithin(searchRequest);
  }

  /** Patient ids named by a patient/subject-style filter, when the search names exactly one set. */
  private patientsNamedBy(searchRequest: SearchRequest): string[] | undefined {
    const compartmentParams = getPatientCompartmentParams().get(searchRequest.resourceType);
    // Only compartment types are indexed; "patient" always names a Patient reachable through them.
    const params = compartmentParams ? [...compartmentParams, "patient"] : [];
    for (const filter of searchRequest.filters ?? []) {
      if (!params.includes(filter.code) || filter.operator !== "eq") continue;
      const ids = filter.value.split(",").map((value) => value.replace(/^Patient\//, ""));
      if (ids.every((id) => /^[A-Za-z0-9\-.]{1,64}$/.test(id))) return ids;
    }
    if (searchRequest.resourceType === "Patient") {
      const idFilter = searchRequest.filters?.find((filter) => filter.code === "_id" && filter.operator === "eq");
      if (idFilter) return idFilter.value.split(",");
    }
    return undefined;
  }

  private indexResource(resource: StoredResource): void {
    const key = `${resource.resourceType}/${resource.id}`;
    this.unindex(key);
    this.current.set(key, resource);
    setOf(this.byType, resource.resourceType).add(key);
    this.searchText.set(key, JSON.stringify(resource).toLowerCase());
    const patients = this.computeCompartments(resource);
    if (patients.size === 0) return;
    this.memberships.set(key, patients);
    for (const patientId of patients) {
      setOf(this.compartments, patientId).add(key);
      let byType = this.compartmentsByType.get(patientId);
      if (!byType) {
        byType = new Map();
        this.compartmentsByType.set(patientId, byType);
      }
      setOf(byType, resource.resourceType).add(key);
    }
  }

  private unindex(key: string): void {
    if (!this.current.delete(key)) return;
    const resourceType = key.slice(0, key.indexOf("/"));
    this.byType.get(resourceType)?.delete(key);
    this.searchText.delete(key);
    for (const patientId of this.memberships.get(key) ?? []) {
      this.compartments.get(patientId)?.delete(key);
      this.compartmentsByType.get(patientId)?.get(resourceType)?.delete(key);
    }
    this.memberships.delete(key);
  }

  private computeCompartments(resource: Resource): Set<string> {
    const patients = new Set<string>();
    if (resource.resourceType === "Patient" && resource.id) patients.add(resource.id);
    for (const code of getPatientCompartmentParams().get(resource.resourceType) ?? []) {
      const expression = getSearchParameter(resource.resourceType, code)?.expression;
      if (!expression) continue;
      for (const value of evalFhirPath(parsedExpression(expression), resource)) {
        const reference = (value as Reference | undefined)?.reference;
        if (typeof reference === "string" && reference.startsWith("Patient/")) {
          patients.add(reference.slice("Patient/".length));
        }
      }
    }
    return patients;
  }
}

function setOf<K>(map: Map<K, Set<string>>, key: K): Set<string> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

const parsedExpressions = new Map<string, FhirPathAtom>();

/** evalFhirPath parses a string expression on every call; the sandbox evaluates the same few per resource. */
function parsedExpression(expression: string): FhirPathAtom {
  let parsed = parsedExpressions.get(expression);
  if (!parsed) {
    parsed = parseFhirPath(expression);
    parsedExpressions.set(expression, parsed);
  }
  return parsed;
}

let searchParametersNarrowed = false;

/**
 * The union branches of a FHIRPath expression ("A.x | B.y | ..."), each as text. A shared R4 search parameter
 * (patient, code, date, ...) is one union over up to 32 resource types.
 */
export function unionBranches(expression: string): string[] {
  const branches: string[] = [];
  const walk = (atom: unknown): void => {
    const node = atom as { operator?: unknown; left?: unknown; right?: unknown };
    if (node.operator === "|" && node.left !== undefined && node.right !== undefined) {
      walk(node.left);
      walk(node.right);
    } else branches.push(String(atom));
  };
  walk(parseFhirPath(expression).child);
  return branches;
}

/**
 * The expression of a shared search parameter as it applies to one resource type: the union branches rooted at
 * another concrete resource type are left out (they evaluate to nothing on this type). Branches with any other root
 * stay; undefined when nothing would change or nothing would be left.
 */
export function expressionForType(resourceType: string, expression: string, resourceTypes: ReadonlySet<string>): string | undefined {
  const branches = unionBranches(expression);
  const kept = branches.filter((branch) => {
    const root = /^\(*\s*([A-Za-z]+)\b/.exec(branch)?.[1];
    return !(root && resourceTypes.has(root) && root !== resourceType);
  });
  if (kept.length === 0 || kept.length === branches.length) return undefined;
  return kept.join(" | ");
}

/**
 * Medplum's matcher evaluates a search parameter's whole expression, so a `patient=` filter on an Observation
 * evaluated 32 union branches (31 of them for other types), each probing the resource for a property named after
 * a type: most of the sandbox's search time. Registers, once per process, each type's parameter with only its own
 * branches (same values, same matches; measured in lib/bench/load.ts, checked over a cohort in repository.test.ts).
 */
export function narrowSearchParameterExpressions(): void {
  if (searchParametersNarrowed) return;
  const resourceTypes = new Set<string>(getResourceTypes());
  for (const resourceType of resourceTypes) {
    for (const param of Object.values(getSearchParameters(resourceType) ?? {})) {
      if (!param.expression || (param.base?.length ?? 0) < 2) continue;
      let narrowed: string | undefined;
      try {
        narrowed = expressionForType(resourceType, param.expression, resourceTypes);
        if (narrowed) parseFhirPath(narrowed);
      } catch {
        narrowed = undefined;
      }
      if (narrowed) indexSearchParameter({ ...param, base: [resourceType as NonNullable<typeof param.base>[number]], expression: narrowed });
    }
  }
  searchParametersNarrowed = true;
}

/** _elements: keep the listed top-level elements plus id and meta, tagged SUBSETTED as FHIR asks. */
export function selectElements(resource: Resource, fields: string[]): Resource {
  const source = resource as unknown as Record<string, unknown>;
  const subset: Record<string, unknown> = { resourceType: resource.resourceType, id: resource.id };
  for (const field of fields) {
    const name = field.split(".")[0] ?? "";
    if (name in source) subset[name] = deepClone(source[name]);
  }
  const meta = deepClone(resource.meta ?? {});
  meta.tag = [...(meta.tag ?? []), { system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", code: "SUBSETTED" }];
  subset.meta = meta;
  return subset as unknown as Resource;
}

/**
 * For each plain token or reference equality filter, the lower-cased strings of which at least one must occur
 * in a matching resource's JSON (the code or id part of each OR-ed value). A necessary condition only.
 */
export function requiredTextAlternatives(searchRequest: SearchRequest): string[][] {
  const required: string[][] = [];
  for (const filter of searchRequest.filters ?? []) {
    if (filter.operator !== "eq" || filter.code.includes(".")) continue;
    const type = getSearchParameter(searchRequest.resourceType, filter.code)?.type;
    if (type !== "token" && type !== "reference") continue;
    const alternatives: string[] = [];
    for (const value of filter.value.split(",")) {
      const part = (type === "token" ? value.slice(value.indexOf("|") + 1) : value.slice(value.lastIndexOf("/") + 1)).toLowerCase();
      // An empty code (system| only) or characters JSON escapes cannot be checked this way.
      if (part === "" || /["\\]/.test(part) || /[^\x20-\x7e]/.test(part)) {
        alternatives.length = 0;
        break;
      }
      alternatives.push(part);
    }
    if (alternatives.length > 0) required.push(alternatives);
  }
  return required;
}

/** Sorts by each rule's search parameter value (first value, as a string), precomputing keys once. */
function sortResources(resources: StoredResource[], sortRules: SortRule[]): StoredResource[] {
  if (sortRules.length === 0) return resources;
  const keyed = resources.map((resource) => ({
    resource,
    keys: sortRules.map((rule) => sortKey(resource, rule)),
  }));
  keyed.sort((a, b) => {
    for (let index = 0; index < sortRules.length; index++) {
      const rule = sortRules[index];
      const left = a.keys[index] ?? "";
      const right = b.keys[index] ?? "";
      if (left === right) continue;
      // Missing values sort last in either direction.
      if (left === "") return 1;
      if (right === "") return -1;
      return (left < right ? -1 : 1) * (rule?.descending ? -1 : 1);
    }
    return 0;
  });
  return keyed.map((entry) => entry.resource);
}

function sortKey(resource: Resource, rule: SortRule): string {
  if (rule.code === "_lastUpdated") return resource.meta?.lastUpdated ?? "";
  if (rule.code === "_id") return resource.id ?? "";
  const expression = getSearchParameter(resource.resourceType, rule.code)?.expression;
  if (!expression) return "";
  const [first] = evalFhirPath(parsedExpression(expression), resource);
  return sortableString(first);
}

function sortableString(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  const record = value as Record<string, unknown>;
  // Period / Timing-like values: sort by their start.
  for (const field of ["start", "value", "display", "text", "family", "reference"]) {
    const inner = record[field];
    if (typeof inner === "string" || typeof inner === "number") return String(inner);
  }
  return JSON.stringify(value);
}
