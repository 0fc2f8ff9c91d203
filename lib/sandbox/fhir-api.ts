import type { IncomingMessage, ServerResponse } from "node:http";
import {
  getSearchParameter,
  getSearchParameters,
  getStatus,
  isOk,
  matchesSearchRequest,
  normalizeOperationOutcome,
  parseSearchRequest,
  type SearchRequest,
} from "@medplum/core";
import { FhirRouter, type FhirRequest } from "@medplum/fhir-router";
import type { Bundle, BundleEntry, CapabilityStatement, OperationOutcome, Resource } from "@medplum/fhirtypes";
import type { AccessTokenRecord, AuthServer } from "./auth";
import type { BulkExportService } from "./bulk";
import { getPatientCompartmentParams } from "./definitions";
import { HttpError, readBody, sendFhir, sendJson, sendOutcome } from "./http-util";
import type { SandboxRepository } from "./repository";
import { decideAccess, type Permission } from "./scopes";

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
/** Search parameters handled by the search machinery rather than as filters. */
const RESULT_PARAMETERS = new Set(["_count", "_offset", "_sort", "_include", "_revinclude", "_total", "_summary", "_elements", "_format", "_pretty"]);

/** Resource types listed in the CapabilityStatement, besides any type present in the store. */
const ADVERTISED_TYPES = [
  "Patient", "Practitioner", "PractitionerRole", "Organization", "Group", "Encounter", "Condition", "Observation",
  "MedicationRequest", "MedicationStatement", "MedicationAdministration", "Medication", "Procedure", "AllergyIntolerance",
  "DiagnosticReport", "Immunization", "CarePlan", "CareTeam", "DocumentReference", "Location", "Provenance",
];

export interface FhirApiOptions {
  repo: SandboxRepository;
  auth: AuthServer;
  bulk: BulkExportService;
  fhirBase: string;
  /** Path part of fhirBase, e.g. /fhir/r4 */
  basePath: string;
  /** False: a server without Bulk Data (no export operation in the CapabilityStatement, $export answers 404). */
  bulkExport?: boolean;
}

type Query = Record<string, string | string[] | undefined>;

/** FHIR R4 REST endpoint: SMART token checks and scope enforcement in front of Medplum's router. */
export class FhirApi {
  private readonly router = new FhirRouter();

  constructor(private readonly options: FhirApiOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { basePath, auth } = this.options;
    const relative = url.pathname.slice(basePath.length).replace(/^\/+/, "").replace(/\/+$/, "");
    const segments = relative === "" ? [] : relative.split("/").map(decodeURIComponent);
    const method = req.method ?? "GET";

    if (method === "GET" && relative === "metadata") return sendFhir(res, 200, this.capabilityStatement());
    if (method === "GET" && relative === ".well-known/smart-configuration") return sendJson(res, 200, auth.smartConfiguration());
    if (method === "GET" && relative === ".well-known/openid-configuration") return sendJson(res, 200, auth.openidConfiguration());

    const check = auth.checkAccessToken(req.headers.authorization);
    if (!check.ok) {
      const description = check.reason === "expired" ? "The access token expired" : check.reason === "missing" ? "Bearer token required" : "The access token is not valid";
      const header = check.reason === "missing" ? 'Bearer realm="sandbox"' : `Bearer realm="sandbox", error="invalid_token", error_description="${description}"`;
      return sendOutcome(res, 401, description, { "WWW-Authenticate": header });
    }
    const token = check.token;

    const last = segments[segments.length - 1];
    if (last === "$export") {
      if (this.options.bulkExport === false) return sendOutcome(res, 404, "This server does not support Bulk Data $export");
      return this.options.bulk.kickOff(req, res, url, segments, token);
    }

    const query = queryOf(url);
    const [resourceType, second, third, fourth] = segments;
    if (!resourceType) {
      if (method === "POST") return this.batch(req, res, token);
      return sendOutcome(res, 400, "System-level search requires _type; search a resource type instead");
    }
    if (!/^[A-Z][A-Za-z]+$/.test(resourceType) || !getSearchParameters(resourceType)) {
      return sendOutcome(res, 404, `Unknown resource type ${resourceType}`);
    }
    if (segments.length === 1 && method === "GET") return this.search(req, res, url, resourceType, query, token);
    if (segments.length === 2 && second === "_search" && method === "POST") {
      const body = new URLSearchParams(await readBody(req));
      const merged: Query = { ...query };
      for (const [name, value] of body) appendQuery(merged, name, value);
      return this.search(req, res, url, resourceType, merged, token);
    }
    // Compartment search: Patient/{id}/{type} means {type}?patient={id}.
    if (resourceType === "Patient" && second && third && segments.length === 3 && method === "GET" && /^[A-Z]/.test(third)) {
      const compartmentQuery: Query = { ...query, ...compartmentFilter(third, second) };
      return this.search(req, res, url, third, compartmentQuery, token);
    }
    if (second?.startsWith("$") || third?.startsWith("$")) return sendOutcome(res, 501, `Operation ${second?.startsWith("$") ? second : third} is not supported`);

    const interaction: Permission | undefined =
      method === "GET" ? "r" : method === "POST" ? "c" : method === "PUT" || method === "PATCH" ? "u" : method === "DELETE" ? "d" : undefined;
    if (!interaction) return sendOutcome(res, 405, `Method ${method} not allowed`);
    if (method === "POST" && segments.length !== 1) return sendOutcome(res, 405, "POST is allowed on a resource type only");
    if ((method === "PUT" || method === "PATCH" || method === "DELETE") && !second) {
      return sendOutcome(res, 405, "Conditional update, patch and delete are not supported");
    }
    if (segments.length > 4 || (third !== undefined && third !== "_history")) return sendOutcome(res, 404, "Unknown path");

    const grant = decideAccess(token.resourceScopes, resourceType, interaction);
    if (!grant) return sendOutcome(res, 403, `The granted scopes do not allow ${describe(interaction)} ${resourceType}`);

    let body: Resource | undefined;
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      const text = await readBody(req);
      try {
        body = JSON.parse(text) as Resource;
      } catch {
        return sendOutcome(res, 400, "Request body is not valid JSON");
      }
      if (method !== "PATCH" && (body as { resourceType?: unknown }).resourceType !== resourceType) {
        return sendOutcome(res, 400, `Body resourceType must be ${resourceType}`);
      }
    }

    // Patient-level scopes: the resource (existing and new) must be in the launch patient's compartment.
    if (second && method !== "POST") {
      const existing = await this.options.repo.readResource(resourceType, second).catch(() => undefined);
      if (existing && !this.permitsResource(token, grant, existing)) {
        return sendOutcome(res, 403, `The granted scopes do not allow access to ${resourceType}/${second}`);
      }
    }
    if (body && method !== "PATCH" && !this.permitsResource(token, grant, body)) {
      return sendOutcome(res, 403, "Patient-level scopes only allow writing resources in the launch patient's compartment");
    }

    const fhirRequest: FhirRequest = {
      method: method as FhirRequest["method"],
      url: `${segments.map(encodeURIComponent).join("/")}${url.search}`,
      pathname: "",
      body,
      params: {},
      query: query as Record<string, string>,
      headers: req.headers,
    };
    const [outcome, resource] = await this.router.handleRequest(fhirRequest, this.options.repo);
    const status = getStatus(outcome);
    if (!isOk(outcome)) return sendFhir(res, status, outcome);
    const headers: Record<string, string> = {};
    if (resource?.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
    if (resource?.meta?.lastUpdated) headers["Last-Modified"] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201 && resource?.id) headers.Location = `${this.options.fhirBase}/${resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? "1"}`;
    if (fourth === undefined && third === "_history" && resource?.resourceType === "Bundle") {
      return sendFhir(res, status, this.withFullUrls(resource as Bundle));
    }
    sendFhir(res, status, resource ?? outcome, headers);
  }

  /** True when the token's scopes reach this particular resource. */
  permitsResource(token: AccessTokenRecord, grant: { patientOnly: boolean; queries: string[] }, resource: Resource): boolean {
    const { repo } = this.options;
    if (grant.patientOnly && repo.isCompartmentType(resource.resourceType)) {
      if (!token.patientId || !repo.compartmentsOf(resource).includes(token.patientId)) return false;
    }
    if (grant.queries.length > 0) {
      return grant.queries.some((query) => matchesSearchRequest(resource, parseSearchRequest(`${resource.resourceType}?${query}`)));
    }
    return true;
  }

  private async search(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resourceType: string,
    query: Query,
    token: AccessTokenRecord,
  ): Promise<void> {
    const grant = decideAccess(token.resourceScopes, resourceType, "s");
    if (!grant) return sendOutcome(res, 403, `The granted scopes do not allow searching ${resourceType}`);
    const { repo } = this.options;

    let searchRequest: SearchRequest;
    try {
      searchRequest = parseSearchRequest(resourceType as Parameters<typeof parseSearchRequest>[0], query);
    } catch (error) {
      return sendFhir(res, 400, normalizeOperationOutcome(error));
    }
    const strict = /handling=strict/.test(String(req.headers.prefer ?? ""));
    const unknown = (searchRequest.filters ?? []).filter((filter) => !getSearchParameter(resourceType, filter.code.split(".")[0] ?? ""));
    if (unknown.length > 0) {
      if (strict) return sendOutcome(res, 400, `Unknown search parameter(s): ${unknown.map((filter) => filter.code).join(", ")}`);
      // Lenient handling (FHIR default): ignore unknown parameters and say so in the self link.
      searchRequest.filters = (searchRequest.filters ?? []).filter((filter) => !unknown.includes(filter));
    }

    let compartmentPatientId: string | undefined;
    if (grant.patientOnly && repo.isCompartmentType(resourceType)) {
      if (!token.patientId) return sendOutcome(res, 403, "Patient-level scopes without a patient in context");
      const named = namedPatients(resourceType, searchRequest);
      if (named.some((id) => id !== token.patientId)) {
        return sendOutcome(res, 403, "Patient-level scopes do not allow searching another patient's records");
      }
      compartmentPatientId = token.patientId;
    }
    const queries = grant.queries.map((scopeQuery) => parseSearchRequest(`${resourceType}?${scopeQuery}`));
    const predicate = queries.length > 0 ? (resource: Resource) => queries.some((scopeRequest) => matchesSearchRequest(resource, scopeRequest)) : undefined;

    const summaryCount = searchRequest.count === 0;
    searchRequest.count = summaryCount ? 0 : Math.min(Math.max(1, searchRequest.count ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
    searchRequest.offset = Math.max(0, searchRequest.offset ?? 0);
    // Sent at once and never mutated here: no copy of each resource (a fifth of the sandbox's time under load).
    const bundle = await repo.searchWithin(searchRequest, compartmentPatientId, predicate, { serializedAtOnce: true });
    // Included resources from outside the patient's compartment are dropped under patient-level scopes.
    if (grant.patientOnly && bundle.entry) {
      bundle.entry = bundle.entry.filter(
        (entry) => entry.search?.mode === "match" || (entry.resource && this.permitsIncluded(token, entry.resource)),
      );
    }
    bundle.link = this.pageLinks(url, resourceType, query, searchRequest, bundle.total ?? 0, unknown.length > 0);
    sendFhir(res, 200, this.withFullUrls(bundle));
  }

  private permitsIncluded(token: AccessTokenRecord, resource: Resource): boolean {
    const grant = decideAccess(token.resourceScopes, resource.resourceType, "r");
    return grant !== undefined && this.permitsResource(token, grant, resource);
  }

  private pageLinks(
    url: URL,
    resourceType: string,
    query: Query,
    searchRequest: SearchRequest,
    total: number,
    droppedUnknown: boolean,
  ): Bundle["link"] {
    const count = searchRequest.count ?? DEFAULT_PAGE_SIZE;
    const offset = searchRequest.offset ?? 0;
    const base = `${this.options.fhirBase}/${resourceType}`;
    const linkFor = (pageOffset: number): string => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (name === "_offset" || name === "_count" || value === undefined) continue;
        if (droppedUnknown && !RESULT_PARAMETERS.has(name) && !getSearchParameter(resourceType, name.split(/[:.]/)[0] ?? "")) continue;
        for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
      }
      if (count > 0) params.set("_count", String(count));
      if (pageOffset > 0) params.set("_offset", String(pageOffset));
      const text = params.toString();
      return text ? `${base}?${text}` : base;
    };
    const links: NonNullable<Bundle["link"]> = [{ relation: "self", url: linkFor(offset) }];
    if (count > 0 && offset + count < total) links.push({ relation: "next", url: linkFor(offset + count) });
    if (count > 0 && offset > 0) links.push({ relation: "previous", url: linkFor(Math.max(0, offset - count)) });
    void url;
    return links;
  }

  private withFullUrls(bundle: Bundle): Bundle {
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.id && !entry.fullUrl) (entry as BundleEntry).fullUrl = `${this.options.fhirBase}/${resource.resourceType}/${resource.id}`;
    }
    return bundle;
  }

  private async batch(req: IncomingMessage, res: ServerResponse, token: AccessTokenRecord): Promise<void> {
    let bundle: Bundle;
    try {
      bundle = JSON.parse(await readBody(req)) as Bundle;
    } catch {
      return sendOutcome(res, 400, "Request body is not valid JSON");
    }
    if (bundle.resourceType !== "Bundle" || (bundle.type !== "transaction" && bundle.type !== "batch")) {
      return sendOutcome(res, 400, "POST to the base accepts a transaction or batch Bundle");
    }
    for (const entry of bundle.entry ?? []) {
      const method = entry.request?.method ?? "GET";
      const type = (entry.request?.url ?? "").split(/[/?]/)[0] || entry.resource?.resourceType || "";
      const permission: Permission = method === "GET" ? "r" : method === "POST" ? "c" : method === "DELETE" ? "d" : "u";
      const grant = decideAccess(token.resourceScopes, type, permission);
      // Bundles are for loading data: patient-level tokens may not use them.
      if (!grant || grant.patientOnly) return sendOutcome(res, 403, `The granted scopes do not allow ${describe(permission)} ${type} in a Bundle`);
    }
    const [outcome, result] = await this.router.handleRequest(
      { method: "POST", url: "", pathname: "", body: bundle, params: {}, query: {}, headers: req.headers },
      this.options.repo,
    );
    if (!isOk(outcome)) return sendFhir(res, getStatus(outcome), outcome);
    sendFhir(res, 200, result);
  }

  capabilityStatement(): CapabilityStatement {
    const { auth, repo } = this.options;
    const smart = auth.smartConfiguration();
    const types = [...new Set([...ADVERTISED_TYPES, ...repo.resourceTypes()])].sort();
    const bulkExport = this.options.bulkExport !== false;
    return {
      resourceType: "CapabilityStatement",
      status: "active",
      date: "2026-11-23",
      kind: "instance",
      publisher: "Eczema JAK Monitor sandbox",
      software: { name: "Eczema JAK Monitor sandbox EHR", version: "0.1.0" },
      implementation: { description: "Sandbox EHR (synthetic data only)", url: this.options.fhirBase },
      fhirVersion: "4.0.1",
      format: ["application/fhir+json", "json"],
      ...(bulkExport ? { instantiates: ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"] } : {}),
      rest: [
        {
          mode: "server",
          security: {
            cors: false,
            service: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/restful-security-service", code: "SMART-on-FHIR" }] }],
            extension: [
              {
                url: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                extension: [
                  { url: "authorize", valueUri: String(smart.authorization_endpoint) },
                  { url: "token", valueUri: String(smart.token_endpoint) },
                ],
              },
            ],
          },
          resource: types.map((type) => ({
            type: type as NonNullable<CapabilityStatement["rest"]>[number]["resource"] extends (infer R)[] | undefined ? R extends { type: infer T } ? T : never : never,
            interaction: [{ code: "read" }, { code: "vread" }, { code: "search-type" }, { code: "create" }, { code: "update" }, { code: "delete" }, { code: "history-instance" }],
            versioning: "versioned",
            searchParam: Object.values(getSearchParameters(type) ?? {})
              .filter((param) => param.code && param.type)
              .map((param) => ({ name: param.code as string, type: param.type as "string", definition: param.url })),
            ...(type === "Group" && bulkExport ? { operation: [{ name: "export", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export" }] } : {}),
            ...(type === "Patient" && bulkExport ? { operation: [{ name: "export", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export" }] } : {}),
          })),
          interaction: [{ code: "transaction" }, { code: "batch" }],
          ...(bulkExport ? { operation: [{ name: "export", definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export" }] } : {}),
        },
      ],
    };
  }
}

function queryOf(url: URL): Query {
  const query: Query = {};
  for (const [name, value] of url.searchParams) appendQuery(query, name, value);
  return query;
}

function appendQuery(query: Query, name: string, value: string): void {
  const existing = query[name];
  if (existing === undefined) query[name] = value;
  else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
}

function compartmentFilter(resourceType: string, patientId: string): Query {
  const params = getPatientCompartmentParams().get(resourceType);
  if (!params?.[0]) throw new HttpError(400, `${resourceType} is not in the Patient compartment`);
  return { [params.includes("patient") ? "patient" : params[0]]: `Patient/${patientId}` };
}

/** Patient ids a search names through its compartment parameters (patient, subject, ... or _id for Patient). */
function namedPatients(resourceType: string, searchRequest: SearchRequest): string[] {
  const params = new Set(getPatientCompartmentParams().get(resourceType) ?? []);
  // "patient" is not a compartment parameter for every type (Observation uses subject) but always names one.
  if (getSearchParameter(resourceType, "patient")) params.add("patient");
  if (resourceType === "Patient") params.add("_id");
  const ids: string[] = [];
  for (const filter of searchRequest.filters ?? []) {
    const code = filter.code.split(".")[0] ?? "";
    if (!params.has(code)) continue;
    // Chained compartment filters (subject.name=...) could reach any patient.
    if (filter.code.includes(".")) return ["(chained)"];
    for (const value of filter.value.split(",")) ids.push(value.replace(/^.*Patient\//, ""));
  }
  return ids;
}

function describe(permission: Permission): string {
  return { c: "creating", r: "reading", u: "updating", d: "deleting", s: "searching" }[permission];
}

export type { OperationOutcome };
