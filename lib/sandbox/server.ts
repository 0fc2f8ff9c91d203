import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Resource } from "@medplum/fhirtypes";
import { AuthServer } from "./auth";
import { BulkExportService } from "./bulk";
import { CDS_CLIENT_JWKS_PATH, CdsClient } from "./cds-client";
import { CdsPages } from "./cds-pages";
import { ClientRegistry, defaultClients, mergeClients, type SandboxClient } from "./clients";
import { DEFAULT_AS_OF } from "./cohort/index";
import { FaultInjector, type FaultConfig } from "./faults";
import { FhirApi } from "./fhir-api";
import { sandboxFixtureResources } from "./fixtures";
import { HttpError, isLoopback, readBody, redirect, sendJson, sendOutcome } from "./http-util";
import { Launcher } from "./launcher";
import { SandboxRepository } from "./repository";
import { seedGeneratedCohort, seedNdjsonDirectory } from "./seed";

export const FHIR_BASE_PATH = "/fhir/r4";

export interface SandboxOptions {
  /** 0 = a free port. Default 4100. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Origin used in URLs the sandbox hands out, when it differs from http://host:port (e.g. behind a proxy). */
  publicOrigin?: string;
  /** Synthetic cohort from the generator, or a folder of Bulk-style NDJSON files. */
  cohort?: { patients: number; seed: number; asOf?: string } | { dir: string };
  /** Extra resources to load (ids kept). With neither cohort nor resources, a tiny built-in clinic is loaded. */
  resources?: Resource[];
  /** Registered clients; replace the defaults with the same clientId. */
  clients?: SandboxClient[];
  /** The app's SMART launch URL opened by the launcher. Default http://localhost:3000/launch. */
  appLaunchUrl?: string;
  faults?: FaultConfig;
  /** Access token lifetime in seconds (default 3600 for users, 300 for backend services). */
  tokenLifetimeSeconds?: number;
  /** Minimum time a bulk export stays in progress, in ms (default 500). */
  bulkMinJobMs?: number;
  /** False plays a server without Bulk Data: no export operation in the CapabilityStatement, $export answers 404. Default true. */
  bulkExport?: boolean;
  /**
   * The CDS Hooks service the sandbox calls as an EHR, e.g. the app's `${appUrl}/cds-services`. The sandbox signs
   * its calls with a key pair made at start (JWKS at /cds-client/jwks.json, iss = the sandbox origin).
   */
  cdsServiceBase?: string;
}

export interface RunningSandbox {
  origin: string;
  fhirBase: string;
  launcherUrl: string;
  /** The sandbox as a CDS Hooks client (its JWKS URL, signed hook calls, feedback). */
  cdsClient: CdsClient;
  /** Number of resources loaded at start. */
  resourceCount: number;
  setFaults(faults: FaultConfig): void;
  /** Registers (or replaces) a client at run time, e.g. a test's backend client with fresh keys. */
  registerClient(client: SandboxClient): void;
  /** Creates an EHR launch context directly (tests): returns the `launch` value. */
  createLaunch(practitionerId: string, patientId?: string): string;
  repository: SandboxRepository;
  stop(): Promise<void>;
}

/** Starts the sandbox EHR: FHIR R4 REST, SMART authorization server, Bulk Data export, launcher, fault injection. */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const host = options.host ?? "127.0.0.1";
  const repo = new SandboxRepository();
  let handler: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | undefined;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://sandbox.invalid");
    if (!handler) return sendOutcome(res, 503, "Sandbox is starting", { "Retry-After": "1" });
    handler(req, res, url).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof HttpError) return sendOutcome(res, error.status, error.message, error.headers);
      // Log the failure kind only: request bodies may hold (synthetic) patient data.
      console.error(`sandbox: ${req.method} ${url.pathname} failed: ${(error as Error)?.name ?? "error"}`);
      sendOutcome(res, 500, "Internal sandbox error");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4100, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = (options.publicOrigin ?? `http://${host.includes(":") ? `[${host}]` : host}:${port}`).replace(/\/$/, "");
  const fhirBase = `${origin}${FHIR_BASE_PATH}`;

  const stop = async (): Promise<void> => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  try {
    let resourceCount = 0;
    if (options.cohort && "dir" in options.cohort) resourceCount += await seedNdjsonDirectory(repo, options.cohort.dir);
    else if (options.cohort) resourceCount += await seedGeneratedCohort(repo, options.cohort);
    if (options.resources) resourceCount += await repo.seed(options.resources);
    if (!options.cohort && !options.resources) resourceCount += await repo.seed(sandboxFixtureResources());

    const faults = new FaultInjector(options.faults, [`${FHIR_BASE_PATH}/`, "/bulk/"]);
    const clients = new ClientRegistry(mergeClients(defaultClients(process.env), options.clients ?? []));
    const auth = new AuthServer({ repo, clients, origin, fhirBase, faults, tokenLifetimeSeconds: options.tokenLifetimeSeconds });
    await auth.init();
    const bulk = new BulkExportService({ repo, auth, origin, faults, minJobDurationMs: options.bulkMinJobMs });
    const fhirApi = new FhirApi({ repo, auth, bulk, fhirBase, basePath: FHIR_BASE_PATH, bulkExport: options.bulkExport });
    const cdsClient = await CdsClient.create({
      serviceBase: options.cdsServiceBase,
      origin,
      fhirBase,
      repo,
      issueAccessToken: (grant, lifetimeSeconds) => auth.issueAccessToken(grant, lifetimeSeconds),
    });
    const launcher = new Launcher({
      repo,
      auth,
      fhirBase,
      appLaunchUrl: options.appLaunchUrl ?? "http://localhost:3000/launch",
      cds: { pagesPath: "/cds", serviceBase: cdsClient.serviceBase, jwksUrl: cdsClient.jwksUrl },
    });
    // Draft orders are written on the cohort's "today" (the app pins the same date in the demo).
    const cohortToday = options.cohort && !("dir" in options.cohort) ? (options.cohort.asOf ?? DEFAULT_AS_OF) : undefined;
    const cdsPages = new CdsPages({
      repo,
      client: cdsClient,
      launcherPath: launcher.path,
      today: () => cohortToday ?? new Date().toISOString().slice(0, 10),
    });

    handler = async (req, res, url) => {
      const path = url.pathname;
      if (path === "/admin/faults") return adminFaults(req, res, faults);
      if (isCorsPath(path)) {
        // Browser-based SMART clients need CORS on discovery, token and FHIR endpoints (tokens are bearer, no cookies).
        res.setHeader("Access-Control-Allow-Origin", "*");
        res.setHeader("Access-Control-Expose-Headers", "Location, Content-Location, ETag, Last-Modified, X-Progress, Retry-After, Expires");
        if (req.method === "OPTIONS") {
          res.writeHead(204, {
            "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Exist",
            "Access-Control-Max-Age": "600",
          });
          res.end();
          return;
        }
      }
      const fault = faults.decide(path);
      if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
      if (fault.kind !== "none") {
        const status = fault.kind === "429" ? 429 : 503;
        return sendOutcome(res, status, status === 429 ? "Too many requests (injected fault)" : "Service unavailable (injected fault)", {
          "Retry-After": String(fault.retryAfterSeconds),
        });
      }
      if (path === FHIR_BASE_PATH || path.startsWith(`${FHIR_BASE_PATH}/`)) return fhirApi.handle(req, res, url);
      if (path.startsWith("/bulk/")) return bulk.handle(req, res, url);
      if (path === auth.authorizePath) return auth.handleAuthorize(req, res, url);
      if (path === auth.tokenPath) {
        if (req.method !== "POST") return sendJson(res, 405, { error: "invalid_request", error_description: "use POST" });
        return auth.handleToken(req, res);
      }
      if (path === auth.introspectPath && req.method === "POST") return auth.handleIntrospect(req, res);
      if (path === auth.jwksPath) return sendJson(res, 200, auth.jwks());
      if (path === launcher.path || path.startsWith(`${launcher.path}/`)) return launcher.handle(req, res, url);
      if (path === CDS_CLIENT_JWKS_PATH) return sendJson(res, 200, cdsClient.jwks());
      if (path.startsWith(`${cdsPages.path}/`)) return cdsPages.handle(req, res, url);
      if (path === "/smart-style.json") return sendJson(res, 200, SMART_STYLE);
      if (path === "/" ) return redirect(res, launcher.path);
      sendOutcome(res, 404, "Not found");
    };

    return {
      origin,
      fhirBase,
      launcherUrl: `${origin}${launcher.path}`,
      cdsClient,
      resourceCount,
      setFaults: (config) => faults.set(config),
      createLaunch: (practitionerId, patientId) => auth.createLaunch(practitionerId, patientId),
      registerClient: (client) => clients.register(client),
      repository: repo,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function isCorsPath(path: string): boolean {
  return path.startsWith(`${FHIR_BASE_PATH}/`) || path === FHIR_BASE_PATH || path.startsWith("/bulk/") || path === "/auth/token" || path === "/auth/jwks" || path === CDS_CLIENT_JWKS_PATH;
}

async function adminFaults(req: IncomingMessage, res: ServerResponse, faults: FaultInjector): Promise<void> {
  // Local use only: fault control must not be reachable from other machines.
  if (!isLoopback(req)) return sendOutcome(res, 403, "The admin endpoint only answers loopback requests");
  if (req.method === "GET") return sendJson(res, 200, faults.get());
  if (req.method !== "POST" && req.method !== "PUT") return sendOutcome(res, 405, "Use GET or POST");
  let config: unknown;
  try {
    config = JSON.parse((await readBody(req)) || "{}");
  } catch {
    return sendOutcome(res, 400, "Body must be JSON");
  }
  const parsed = parseFaultConfig(config);
  if (!parsed) return sendOutcome(res, 400, "Body must be a FaultConfig object");
  faults.set(parsed);
  sendJson(res, 200, faults.get());
}

const FAULT_NUMBER_FIELDS = ["rate429", "retryAfterSeconds", "rate503", "latencyMs", "tokenLifetimeSeconds", "truncateNdjsonRate", "seed"] as const;

export function parseFaultConfig(value: unknown): FaultConfig | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const config: FaultConfig = {};
  for (const field of FAULT_NUMBER_FIELDS) {
    const fieldValue = record[field];
    if (fieldValue === undefined) continue;
    if (typeof fieldValue !== "number" || !Number.isFinite(fieldValue)) return undefined;
    config[field] = fieldValue;
  }
  if (record.paths !== undefined) {
    if (!Array.isArray(record.paths) || !record.paths.every((path) => typeof path === "string")) return undefined;
    config.paths = record.paths as string[];
  }
  return config;
}

const SMART_STYLE = {
  color_background: "#f7f7f7",
  color_error: "#b00020",
  color_highlight: "#1d3d8f",
  color_modal_backdrop: "",
  color_success: "#2e7d32",
  color_text: "#1a1a1a",
  dim_border_radius: "4px",
  dim_font_size: "16px",
  dim_spacing_size: "16px",
  font_family_body: "system-ui, sans-serif",
  font_family_heading: "system-ui, sans-serif",
};
