/**
 * The CDS Hooks 2.0 service as functions of a Web Request (the route files only wire the real dependencies in):
 * discovery, and a hook call: the client's JWT first (401 with no data otherwise), then the body (zod; 400 with a
 * reason), then the patient's record (prefetch first, else fetched with the client's own authorisation), the engine's
 * evaluation at the clinic's today with the site's code mappings, the cards (built by lib/cds/cards and order-sign),
 * stored by uuid for feedback, one audit row per call, and `{ cards }`. Every answer carries the CORS headers the
 * spec asks for, since browser-based clients call too.
 */
import { randomUUID } from "node:crypto";
import type { Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { z } from "zod";
import { evaluatePatient } from "../clinical";
import type { CodeMapping, PatientEvaluation } from "../clinical/types";
import { hashId } from "../app/log";
import { auditOrigin } from "../audit/audit";
import { auditCds, rememberJti, storeIssuedCards } from "../db/cds-store";
import { readCodeMappings } from "../db/code-mappings";
import { verifyCdsRequest, type CdsAuthFailure } from "./auth";
import type { CardContext, RuledCard } from "./card-types";
import { cdsServiceUrl, fhirServerAllowed, type CdsClientConfig } from "./config";
import { discoveryResponse, findCdsService, type CdsHook, type CdsServiceDefinition } from "./discovery";
import { gatherPatientRecord, type FhirAccess, type GatheredRecord } from "./prefetch";

// ---------- HTTP ----------

/** CORS as CDS Hooks asks: any origin (calls carry a bearer JWT, never cookies), the headers a client sends. */
export const CDS_CORS_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "Authorization, Content-Type, Accept",
  "access-control-expose-headers": "Origin, Accept, Content-Location, Location, X-Requested-With",
  "access-control-max-age": "600",
};

export function cdsJson(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...CDS_CORS_HEADERS } });
}

/** The preflight answer for every /cds-services path. */
export function cdsPreflight(): Response {
  return new Response(null, { status: 204, headers: { ...CDS_CORS_HEADERS } });
}

/** The one answer to a refused client: no reason, no data (the reason goes to the audit log). */
export function cdsUnauthorized(): Response {
  return cdsJson(401, { error: "unauthorized" });
}

export interface CdsIssue {
  path: string;
  message: string;
}

export function cdsBadRequest(message: string, issues: CdsIssue[] = []): Response {
  return cdsJson(400, { error: "bad-request", message, ...(issues.length > 0 ? { issues } : {}) });
}

/** Largest request body read (prefetch of a patient with years of diaries is a few MB). */
export const CDS_MAX_BODY_BYTES = 20 * 1024 * 1024;

/** Reads and validates a JSON body: the value, or the 400/413/415 response to return. */
export async function readCdsBody<T extends z.ZodType>(request: Request, schema: T): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
  const type = request.headers.get("content-type");
  if (type !== null && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    return { ok: false, response: cdsJson(415, { error: "unsupported-media-type", message: "Send the request body as application/json." }) };
  }
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > CDS_MAX_BODY_BYTES) return { ok: false, response: cdsJson(413, { error: "too-large", message: `The request body is larger than ${CDS_MAX_BODY_BYTES} bytes.` }) };
  let text: string;
  try {
    text = await request.text();
  } catch {
    return { ok: false, response: cdsBadRequest("The request body could not be read.") };
  }
  if (Buffer.byteLength(text, "utf8") > CDS_MAX_BODY_BYTES) return { ok: false, response: cdsJson(413, { error: "too-large", message: `The request body is larger than ${CDS_MAX_BODY_BYTES} bytes.` }) };
  if (text.trim() === "") return { ok: false, response: cdsBadRequest("The request body is empty; send the hook request as JSON.") };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, response: cdsBadRequest("The request body is not valid JSON.") };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(body)", message: issue.message }));
  return { ok: false, response: cdsBadRequest(`The request is not valid: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}.`, issues) };
}

// ---------- Request schemas (CDS Hooks 2.0) ----------

const FHIR_ID = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, "is not a FHIR id");
const USER_REFERENCE = z
  .string()
  .regex(/^(Practitioner|PractitionerRole|Patient|RelatedPerson)\/[A-Za-z0-9\-.]{1,64}$/, "is not a reference to a Practitioner, PractitionerRole, Patient or RelatedPerson");
const RESOURCE = z.looseObject({ resourceType: z.string().regex(/^[A-Z][A-Za-z]{1,63}$/, "is not a FHIR resource type") });

export const fhirAuthorizationSchema = z.looseObject({
  access_token: z.string().min(1, "is empty"),
  token_type: z.string().refine((value) => value.toLowerCase() === "bearer", 'must be "Bearer"'),
  expires_in: z.number().int("must be whole seconds").nonnegative("must not be negative"),
  scope: z.string().min(1, "is empty"),
  subject: z.string().min(1, "is empty"),
  patient: FHIR_ID.optional(),
});

export const draftOrdersSchema = z.looseObject({
  resourceType: z.literal("Bundle", 'must be a Bundle (context.draftOrders is a FHIR Bundle)'),
  entry: z.array(z.looseObject({ resource: RESOURCE.optional() })).optional(),
});

const patientViewContext = z.looseObject({ userId: USER_REFERENCE, patientId: FHIR_ID, encounterId: FHIR_ID.optional() });
const orderSignContext = patientViewContext.extend({ draftOrders: draftOrdersSchema });
const orderSelectContext = orderSignContext.extend({ selections: z.array(z.string().min(1)).min(1, "must name at least one selected order") });

const CONTEXT_SCHEMAS: Record<CdsHook, z.ZodType> = {
  "patient-view": patientViewContext,
  "order-sign": orderSignContext,
  "order-select": orderSelectContext,
};

const requestSchemas = new Map<CdsHook, ReturnType<typeof buildHookRequestSchema>>();

/** The hook request body for a service's hook. */
export function hookRequestSchema(hook: CdsHook): ReturnType<typeof buildHookRequestSchema> {
  let schema = requestSchemas.get(hook);
  if (!schema) {
    schema = buildHookRequestSchema(hook);
    requestSchemas.set(hook, schema);
  }
  return schema;
}

function buildHookRequestSchema(hook: CdsHook) {
  return z
    .looseObject({
      hook: z.string().min(1, "is empty"),
      hookInstance: z.uuid("is not a UUID"),
      fhirServer: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
      fhirAuthorization: fhirAuthorizationSchema.optional(),
      context: CONTEXT_SCHEMAS[hook],
      prefetch: z.record(z.string(), z.union([z.null(), RESOURCE], "must be a FHIR resource, a Bundle or null")).optional(),
    })
    .superRefine((body, ctx) => {
      if (body.hook !== hook) ctx.addIssue({ code: "custom", path: ["hook"], message: `is "${body.hook}", but this service answers "${hook}"` });
      if (body.fhirAuthorization && !body.fhirServer) ctx.addIssue({ code: "custom", path: ["fhirServer"], message: "is required with fhirAuthorization" });
    });
}

export interface HookContext {
  userId: string;
  patientId: string;
  encounterId?: string;
  draftOrders?: { resourceType: "Bundle"; entry?: Array<{ resource?: Record<string, unknown> }> };
  selections?: string[];
}

export interface HookRequest {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: z.infer<typeof fhirAuthorizationSchema>;
  context: HookContext;
  prefetch?: Record<string, Record<string, unknown> | null>;
}

// ---------- Dependencies ----------

export type LogFn = (event: string, fields: Record<string, string | number | boolean | null>) => void;

/** What every authenticated CDS endpoint needs. */
export interface CdsDeps {
  pool: pg.Pool;
  /** The allowed clients (CDS_CLIENTS); may throw CdsConfigError. */
  clients: () => readonly CdsClientConfig[];
  /** The base of the service URLs (the JWT aud): CDS_SERVICE_BASE_URL, else APP_BASE_URL, else the request origin. */
  serviceBase: (request: Request) => string;
  now?: () => Date;
  /** For the clients' JWKS and the EHR's FHIR server (tests). */
  fetch?: typeof fetch;
  log?: LogFn;
}

export type PatientViewCardsFn = (evaluation: PatientEvaluation, ctx: CardContext) => RuledCard[];
export type OrderSignCardsFn = (
  input: { resources: readonly unknown[]; draftOrders: readonly unknown[]; codeMappings?: CodeMapping[] },
  ctx: CardContext,
) => { cards: RuledCard[]; drafts: { recognised: readonly unknown[] } };

export interface CdsServiceDeps extends CdsDeps {
  /** The clinic's today (clinicToday()). */
  asOf: () => string;
  /** The app's SMART launch URL for the cards' smart links. */
  appLaunchUrl: (request: Request) => string;
  /** lib/cds/cards.ts patientViewCards and lib/cds/order-sign.ts orderSignCards. */
  patientViewCards: PatientViewCardsFn;
  orderSignCards: OrderSignCardsFn;
  /** Default: the code_mappings table. */
  codeMappings?: () => Promise<CodeMapping[]>;
  uuid?: () => string;
}

// ---------- Authentication shared by hooks and feedback ----------

export type Authenticated = { ok: true; iss: string; client: CdsClientConfig } | { ok: false; response: Response };

/**
 * The client's JWT against the URLs being called; a refusal is audited (the reason code only) and answered 401 with
 * no data. A configuration or database failure is a 500/503 (still no data).
 */
export async function authenticateCdsCall(request: Request, audience: string | readonly string[], action: string, entity: string, deps: CdsDeps): Promise<Authenticated> {
  let clients: readonly CdsClientConfig[];
  try {
    clients = deps.clients();
  } catch (error) {
    deps.log?.("cds-config-invalid", { error: error instanceof Error ? error.name : "error" });
    return { ok: false, response: cdsJson(500, { error: "server-error", message: "The CDS client configuration (CDS_CLIENTS) is not valid." }) };
  }
  let reason: CdsAuthFailure;
  try {
    const result = await verifyCdsRequest(request.headers.get("authorization"), {
      audience,
      clients,
      seenJti: (iss, jti, expiresAt) => rememberJti(deps.pool, iss, jti, expiresAt),
      ...(deps.now ? { now: deps.now() } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (result.ok) return { ok: true, iss: result.iss, client: result.client };
    reason = result.reason;
  } catch (error) {
    deps.log?.("cds-auth-unavailable", { error: error instanceof Error ? error.name : "error" });
    return { ok: false, response: cdsJson(503, { error: "unavailable", message: "The service cannot check requests right now; try again." }) };
  }
  deps.log?.("cds-unauthorized", { action, reason });
  await auditCds(deps.pool, { origin: auditOrigin(request), actor: "unauthenticated", action, outcome: "refused", entity, detail: { reason } });
  return { ok: false, response: cdsUnauthorized() };
}

// ---------- GET /cds-services ----------

export function handleCdsDiscovery(): Response {
  return cdsJson(200, discoveryResponse());
}

// ---------- POST /cds-services/{id} ----------

function draftResources(request: HookRequest): Record<string, unknown>[] {
  return (request.context.draftOrders?.entry ?? []).map((entry) => entry.resource).filter((r): r is Record<string, unknown> => r !== undefined);
}

/** order-select: only the selected drafts ("MedicationRequest/abc" in context.selections); null when a selection names none. */
function selectedDrafts(drafts: Record<string, unknown>[], selections: readonly string[]): Record<string, unknown>[] | null {
  const wanted = new Set(selections);
  const chosen = drafts.filter((d) => typeof d.id === "string" && wanted.has(`${String(d.resourceType)}/${d.id}`));
  return chosen.length === 0 ? null : chosen;
}

function fhirAccess(body: HookRequest, client: CdsClientConfig): { access: FhirAccess | null; reason?: string } {
  if (!body.fhirServer || !body.fhirAuthorization) return { access: null };
  if (!fhirServerAllowed(client, body.fhirServer)) return { access: null, reason: "the FHIR server the request named is not one this client is registered for" };
  return { access: { server: body.fhirServer, accessToken: body.fhirAuthorization.access_token } };
}

const joinShort = (values: readonly string[], max = 500): string => {
  const text = values.join(",");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

export async function handleCdsHookRequest(request: Request, serviceId: string, deps: CdsServiceDeps): Promise<Response> {
  const service: CdsServiceDefinition | undefined = findCdsService(serviceId);
  if (!service) return cdsJson(404, { error: "unknown-service", message: "There is no CDS service with this id; GET /cds-services lists them." });
  const action = `cds.${service.hook}`;
  const entity = `cds-service:${service.id}`;
  const auth = await authenticateCdsCall(request, cdsServiceUrl(deps.serviceBase(request), service.id), action, entity, deps);
  if (!auth.ok) return auth.response;

  const parsed = await readCdsBody(request, hookRequestSchema(service.hook));
  if (!parsed.ok) {
    await auditCds(deps.pool, { origin: auditOrigin(request), actor: auth.iss, action, outcome: "refused", entity, detail: { reason: "bad-request" } });
    return parsed.response;
  }
  const body = parsed.value as unknown as HookRequest;

  let drafts: Record<string, unknown>[] = [];
  if (service.hook !== "patient-view") {
    drafts = draftResources(body);
    if (service.hook === "order-select") {
      const chosen = selectedDrafts(drafts, body.context.selections ?? []);
      if (!chosen) {
        await auditCds(deps.pool, { origin: auditOrigin(request), actor: auth.iss, action, outcome: "refused", entity, detail: { reason: "bad-request" } });
        return cdsBadRequest("The request is not valid: context.selections names no order in context.draftOrders.", [
          { path: "context.selections", message: "names no order in context.draftOrders" },
        ]);
      }
      drafts = chosen;
    }
  }

  const started = performance.now();
  const uuid = deps.uuid ?? randomUUID;
  try {
    const codeMappings = await (deps.codeMappings ?? (() => readCodeMappings(deps.pool)))().catch((error: unknown) => {
      deps.log?.("cds-code-mappings-unavailable", { error: error instanceof Error ? error.name : "error" });
      return [] as CodeMapping[];
    });
    const { access, reason } = fhirAccess(body, auth.client);
    const record: GatheredRecord = await gatherPatientRecord({
      patientId: body.context.patientId,
      prefetch: body.prefetch,
      fhir: access,
      ...(reason ? { noAccessReason: reason } : {}),
      alsoReferencing: drafts,
      extraObservationCodes: codeMappings.filter((m) => m.concept.startsWith("measure:")).map((m) => `${m.system}|${m.code}`),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    const ctx: CardContext = {
      asOf: deps.asOf(),
      patientId: body.context.patientId,
      appLaunchUrl: deps.appLaunchUrl(request),
      uuid,
      ...(record.unreadable.length > 0 ? { unreadable: record.unreadable } : {}),
    };
    let ruled: RuledCard[];
    let recognised = 0;
    if (service.hook === "patient-view") {
      const evaluation = evaluatePatient(record.resources as Resource[], { asOf: ctx.asOf, patientId: ctx.patientId, codeMappings });
      ruled = deps.patientViewCards(evaluation, ctx);
    } else {
      const result = deps.orderSignCards({ resources: record.resources, draftOrders: drafts, codeMappings }, ctx);
      ruled = result.cards;
      recognised = result.drafts.recognised.length;
    }
    // Every card gets a uuid: feedback names cards by it.
    const cards = ruled.map(({ card }) => (card.uuid ? card : { ...card, uuid: uuid() }));
    const ruleIds = ruled.map((r) => r.ruleIds);
    const ms = Math.round(performance.now() - started);
    // Stored and audited together (one round trip each, in parallel): the clinician is waiting for the cards.
    await Promise.all([
      storeIssuedCards(
        deps.pool,
        cards.map((card, i) => ({ uuid: card.uuid!, serviceId: service.id, ruleIds: ruleIds[i] ?? [], indicator: card.indicator, client: auth.iss })),
      ).catch((error: unknown) => {
        // The cards still go to the clinician; only their feedback will not link to rules.
        deps.log?.("cds-cards-not-stored", { error: error instanceof Error ? error.name : "error" });
      }),
      auditCds(deps.pool, {
        origin: auditOrigin(request),
        actor: auth.iss,
        action,
        outcome: "success",
        entity,
        detail: {
          hookInstance: body.hookInstance,
          patient: hashId(body.context.patientId),
          cards: cards.length,
          ruleIds: joinShort([...new Set(ruleIds.flat())]),
          prefetched: record.prefetched.join(","),
          fetched: record.fetched.join(","),
          unread: record.missing.join(","),
          fhirRequests: record.requests,
          ...(service.hook === "patient-view" ? {} : { drafts: drafts.length, recognised }),
          ms,
        },
      }),
    ]);
    deps.log?.("cds-hook", { hook: service.hook, cards: cards.length, prefetched: record.prefetched.length, fetched: record.fetched.length, unread: record.missing.length, fhirRequests: record.requests, ms });
    return cdsJson(200, { cards });
  } catch (error) {
    const kind = error instanceof Error ? error.name : "error";
    deps.log?.("cds-hook-failed", { hook: service.hook, error: kind });
    await auditCds(deps.pool, { origin: auditOrigin(request), actor: auth.iss, action, outcome: "failure", entity, detail: { hookInstance: body.hookInstance, patient: hashId(body.context.patientId), error: kind } });
    return cdsJson(500, { error: "server-error", message: "The CDS service failed on this request." });
  }
}
