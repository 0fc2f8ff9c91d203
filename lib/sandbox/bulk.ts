import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isResourceType, matchesSearchRequest, parseSearchRequest, type SearchRequest } from "@medplum/core";
import type { Group, Parameters, Resource } from "@medplum/fhirtypes";
import type { AccessTokenRecord, AuthServer } from "./auth";
import { groupMemberPatientIds } from "./directory";
import { truncateNdjsonText, type FaultInjector } from "./faults";
import { operationOutcome, readBody, sendFhir, sendOutcome } from "./http-util";
import type { SandboxRepository } from "./repository";
import { decideAccess } from "./scopes";

const NDJSON_FORMATS = new Set(["application/fhir+ndjson", "application/ndjson", "ndjson"]);
/** Lines per output file before the export starts another file of the same type. */
const MAX_LINES_PER_FILE = 10_000;
const JOB_RETENTION_MS = 60 * 60 * 1000;

interface OutputFile {
  type: string;
  name: string;
  text: string;
  count: number;
}

interface ExportJob {
  id: string;
  clientId: string;
  request: string;
  transactionTime: string;
  status: "in-progress" | "complete" | "failed";
  typesDone: number;
  typesTotal: number;
  outputs: OutputFile[];
  error?: string;
  cancelled: boolean;
  createdAt: number;
}

export interface BulkExportOptions {
  repo: SandboxRepository;
  auth: AuthServer;
  origin: string;
  faults: FaultInjector;
  /** A job reports in-progress for at least this long, so clients exercise status polling (default 500 ms). */
  minJobDurationMs?: number;
}

type ExportLevel = { kind: "system" } | { kind: "patient" } | { kind: "group"; groupId: string };

/** Bulk Data Access 2.0: kick-off, status polling, manifest, NDJSON files, cancellation. */
export class BulkExportService {
  readonly statusPrefix = "/bulk/status/";
  readonly filePrefix = "/bulk/files/";
  private readonly jobs = new Map<string, ExportJob>();

  constructor(private readonly options: BulkExportOptions) {}

  async kickOff(req: IncomingMessage, res: ServerResponse, url: URL, segments: string[], token: AccessTokenRecord): Promise<void> {
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "POST") return sendOutcome(res, 405, "$export accepts GET or POST");
    const prefer = String(req.headers.prefer ?? "");
    if (!/respond-async/.test(prefer)) return sendOutcome(res, 400, "$export requires the header Prefer: respond-async");
    const accept = req.headers.accept;
    if (accept && !/application\/fhir\+json|\*\/\*|application\/json/.test(accept)) {
      return sendOutcome(res, 400, "$export requires Accept: application/fhir+json");
    }
    let level: ExportLevel;
    if (segments.length === 1) level = { kind: "system" };
    else if (segments.length === 2 && segments[0] === "Patient") level = { kind: "patient" };
    else if (segments.length === 3 && segments[0] === "Group" && segments[1]) level = { kind: "group", groupId: segments[1] };
    else return sendOutcome(res, 404, "Unknown $export endpoint");

    const params = new Map<string, string[]>();
    for (const [name, value] of url.searchParams) params.set(name, [...(params.get(name) ?? []), value]);
    if (method === "POST") {
      try {
        const body = JSON.parse((await readBody(req)) || "{}") as Parameters;
        for (const parameter of body.parameter ?? []) {
          const value = parameter.valueString ?? parameter.valueInstant ?? parameter.valueCode ?? parameter.valueDateTime;
          if (parameter.name && value !== undefined) params.set(parameter.name, [...(params.get(parameter.name) ?? []), value]);
        }
      } catch {
        return sendOutcome(res, 400, "POST $export body must be a Parameters resource");
      }
    }
    const outputFormat = params.get("_outputFormat")?.[0];
    if (outputFormat && !NDJSON_FORMATS.has(outputFormat)) return sendOutcome(res, 400, `Unsupported _outputFormat ${outputFormat}`);
    const strict = /handling=strict/.test(prefer);
    const supported = new Set(["_outputFormat", "_type", "_since", "_typeFilter"]);
    const unsupported = [...params.keys()].filter((name) => !supported.has(name));
    if (strict && unsupported.length > 0) return sendOutcome(res, 400, `Unsupported $export parameter(s): ${unsupported.join(", ")}`);

    const since = params.get("_since")?.[0];
    if (since !== undefined && Number.isNaN(Date.parse(since))) return sendOutcome(res, 400, "_since must be a FHIR instant");

    const { repo } = this.options;
    const requestedTypes = (params.get("_type") ?? []).flatMap((value) => value.split(",")).map((type) => type.trim()).filter(Boolean);
    const unknownTypes = requestedTypes.filter((type) => !isResourceType(type));
    if (unknownTypes.length > 0) return sendOutcome(res, 400, `Unknown resource type(s) in _type: ${unknownTypes.join(", ")}`);
    const candidateTypes =
      requestedTypes.length > 0
        ? requestedTypes
        : repo.resourceTypes().filter((type) => level.kind === "system" || repo.isCompartmentType(type));
    const allowed = (type: string): boolean => {
      const grant = decideAccess(token.resourceScopes, type, "r");
      return grant !== undefined && !grant.patientOnly;
    };
    const forbiddenTypes = requestedTypes.filter((type) => !allowed(type));
    if (forbiddenTypes.length > 0) return sendOutcome(res, 403, `The granted scopes do not allow exporting ${forbiddenTypes.join(", ")}`);
    const types = candidateTypes.filter(allowed);

    const typeFilters = new Map<string, SearchRequest[]>();
    for (const value of params.get("_typeFilter") ?? []) {
      for (const filter of splitTypeFilters(value)) {
        let searchRequest: SearchRequest;
        try {
          searchRequest = parseSearchRequest(filter);
        } catch {
          return sendOutcome(res, 400, `Cannot parse _typeFilter ${filter}`);
        }
        typeFilters.set(searchRequest.resourceType, [...(typeFilters.get(searchRequest.resourceType) ?? []), searchRequest]);
      }
    }

    let patientIds: string[] | undefined;
    if (level.kind === "group") {
      const group = (await repo.readResource<Group>("Group", level.groupId).catch(() => undefined)) as Group | undefined;
      if (!group) return sendOutcome(res, 404, `Group/${level.groupId} not found`);
      patientIds = groupMemberPatientIds(group);
    } else if (level.kind === "patient") {
      patientIds = [...repo.iterateType("Patient")].map((patient) => patient.id);
    }

    this.sweep();
    const job: ExportJob = {
      id: randomBytes(12).toString("hex"),
      clientId: token.clientId,
      request: url.toString(),
      transactionTime: new Date().toISOString(),
      status: "in-progress",
      typesDone: 0,
      typesTotal: types.length,
      outputs: [],
      cancelled: false,
      createdAt: Date.now(),
    };
    this.jobs.set(job.id, job);
    void this.run(job, types, { since, typeFilters, patientIds });
    sendFhir(res, 202, operationOutcome(202, "Export accepted; poll the Content-Location URL"), {
      "Content-Location": `${this.options.origin}${this.statusPrefix}${job.id}`,
    });
  }

  /** Routes /bulk/status/{id} and /bulk/files/{id}/{name}. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const check = this.options.auth.checkAccessToken(req.headers.authorization);
    if (!check.ok) {
      return sendOutcome(res, 401, check.reason === "expired" ? "The access token expired" : "Bearer token required", {
        "WWW-Authenticate": 'Bearer realm="sandbox"',
      });
    }
    if (url.pathname.startsWith(this.statusPrefix)) {
      const job = this.jobs.get(url.pathname.slice(this.statusPrefix.length));
      if (!job || job.clientId !== check.token.clientId) return sendOutcome(res, 404, "Unknown or deleted export job");
      if (req.method === "DELETE") {
        job.cancelled = true;
        this.jobs.delete(job.id);
        return sendOutcome(res, 202, "Export job cancelled");
      }
      if (req.method !== "GET") return sendOutcome(res, 405, "Status accepts GET or DELETE");
      return this.status(res, job);
    }
    const [jobId, fileName] = url.pathname.slice(this.filePrefix.length).split("/");
    const job = jobId ? this.jobs.get(jobId) : undefined;
    const file = job?.outputs.find((output) => output.name === fileName);
    if (!job || !file || job.clientId !== check.token.clientId) return sendOutcome(res, 404, "Unknown export file");
    const text = this.options.faults.truncateNdjson() ? truncateNdjsonText(file.text) : file.text;
    res.writeHead(200, { "Content-Type": "application/fhir+ndjson", "Cache-Control": "no-store" });
    res.end(text);
  }

  private status(res: ServerResponse, job: ExportJob): void {
    if (job.status === "in-progress") {
      const percent = job.typesTotal === 0 ? 0 : Math.floor((job.typesDone / job.typesTotal) * 100);
      res.writeHead(202, { "X-Progress": `in-progress ${percent}% (${job.typesDone}/${job.typesTotal} types)`, "Retry-After": "1" });
      res.end();
      return;
    }
    if (job.status === "failed") return sendOutcome(res, 500, job.error ?? "Export failed");
    const expires = new Date(job.createdAt + JOB_RETENTION_MS).toUTCString();
    const manifest = {
      transactionTime: job.transactionTime,
      request: job.request,
      requiresAccessToken: true,
      output: job.outputs.map((output) => ({
        type: output.type,
        url: `${this.options.origin}${this.filePrefix}${job.id}/${output.name}`,
        count: output.count,
      })),
      error: [],
    };
    res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", Expires: expires, "Cache-Control": "no-store" });
    res.end(JSON.stringify(manifest));
  }

  private async run(
    job: ExportJob,
    types: string[],
    filters: { since?: string; typeFilters: Map<string, SearchRequest[]>; patientIds?: string[] },
  ): Promise<void> {
    const { repo } = this.options;
    const sinceMs = filters.since ? Date.parse(filters.since) : undefined;
    // Nothing modified after transactionTime goes out, so the next _since=transactionTime export picks it up.
    const untilMs = Date.parse(job.transactionTime);
    try {
      for (const type of types) {
        // Yield between types so the server keeps answering (and status shows progress).
        await new Promise((resolve) => setImmediate(resolve));
        if (job.cancelled) return;
        const typeFilter = filters.typeFilters.get(type);
        const lines: string[] = [];
        const seen = new Set<string>();
        const candidates: Iterable<Resource> = !filters.patientIds
          ? repo.iterateType(type)
          : repo.isCompartmentType(type)
            ? flatten(filters.patientIds.map((patientId) => repo.iterateCompartment(patientId, type)))
            : await this.referencedByPatients(filters.patientIds, type);
        for (const resource of candidates) {
          const key = resource.id ?? "";
          if (seen.has(key)) continue;
          seen.add(key);
          const lastUpdatedMs = Date.parse(resource.meta?.lastUpdated ?? "");
          if (sinceMs !== undefined && !(lastUpdatedMs > sinceMs)) continue;
          if (lastUpdatedMs > untilMs) continue;
          if (typeFilter && !typeFilter.some((searchRequest) => matchesSearchRequest(resource, searchRequest))) continue;
          lines.push(JSON.stringify(resource));
        }
        for (let start = 0, part = 1; start < lines.length; start += MAX_LINES_PER_FILE, part++) {
          const chunk = lines.slice(start, start + MAX_LINES_PER_FILE);
          job.outputs.push({ type, name: `${type}-${part}.ndjson`, text: `${chunk.join("\n")}\n`, count: chunk.length });
        }
        job.typesDone++;
      }
      const remaining = job.createdAt + (this.options.minJobDurationMs ?? 500) - Date.now();
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
      job.status = "complete";
    } catch (error) {
      job.status = "failed";
      job.error = error instanceof Error ? error.message : "Export failed";
    }
  }

  /** Patient and Group exports include the Medications the patients' medication resources reference (as EHRs do). */
  private async referencedByPatients(patientIds: string[], type: string): Promise<Resource[]> {
    if (type !== "Medication") return [];
    const { repo } = this.options;
    const ids = new Set<string>();
    for (const patientId of patientIds) {
      for (const resource of repo.iterateCompartment(patientId)) {
        const reference = (resource as { medicationReference?: { reference?: string } }).medicationReference?.reference ?? "";
        const id = /^(?:.*\/)?Medication\/([A-Za-z0-9\-.]{1,64})$/.exec(reference)?.[1];
        if (id) ids.add(id);
      }
    }
    const medications: Resource[] = [];
    for (const id of ids) {
      const medication = await repo.readResource("Medication", id).catch(() => undefined);
      if (medication) medications.push(medication);
    }
    return medications;
  }

  private sweep(): void {
    const cutoff = Date.now() - JOB_RETENTION_MS;
    for (const [id, job] of this.jobs) if (job.createdAt < cutoff) this.jobs.delete(id);
  }
}

function* flatten<T>(iterables: Iterable<T>[]): Iterable<T> {
  for (const iterable of iterables) yield* iterable;
}

/** Splits a _typeFilter value on the commas that separate queries (a comma followed by a resource type and ?). */
export function splitTypeFilters(value: string): string[] {
  return value
    .split(/,(?=[A-Z][A-Za-z]+\?)/)
    .map((part) => decodeURIComponentSafe(part.trim()))
    .filter((part) => /^[A-Z][A-Za-z]+\?/.test(part));
}

function decodeURIComponentSafe(text: string): string {
  // Queries arrive URL-encoded once more inside _typeFilter (e.g. code%3Dx); a plain query stays as is.
  if (!/%[0-9A-Fa-f]{2}/.test(text)) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
