/**
 * The sandbox EHR as a CDS Hooks 2.0 client: it registers one CDS service base (like an EHR's CDS configuration),
 * signs every call with its own ES384 key (JWKS at /cds-client/jwks.json), fills the service's prefetch templates
 * from its repository, hands the service a patient-scoped fhirAuthorization for what it did not prefetch, and
 * posts feedback. Draft orders for order-sign are built here too (the EHR's order entry).
 */
import { randomUUID } from "node:crypto";
import { getSearchParameter, parseSearchRequest } from "@medplum/core";
import type { Bundle, BundleEntry, MedicationRequest, Resource } from "@medplum/fhirtypes";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from "jose";
import { z } from "zod";
import { ATC, JAK_PRODUCTS, NDC, ROUTE_ORAL, ROUTE_TOPICAL, type JakDrug } from "./cohort/codes";
import type { SandboxRepository } from "./repository";

export const CDS_CLIENT_JWKS_PATH = "/cds-client/jwks.json";
/** The CDS service's OAuth client id at this EHR: the `subject` of the fhirAuthorization the sandbox hands it. */
export const CDS_SERVICE_CLIENT_ID = "eczema-jak-monitor-cds";
/** The service ids of the app's CDS service (its discovery document). */
export const CDS_SERVICE_IDS = {
  patientView: "jak-monitor-patient-view",
  orderSign: "jak-monitor-order-sign",
  orderSelect: "jak-monitor-order-select",
} as const;
export const CDS_JWT_ALG = "ES384";
/** JWT lifetime: CDS Hooks asks for a short one; five minutes as the SMART client assertions use. */
const JWT_LIFETIME_SECONDS = 300;
const FHIR_AUTHORIZATION_SECONDS = 300;
const FHIR_AUTHORIZATION_SCOPE = "patient/*.rs";
const DISCOVERY_CACHE_MS = 30_000;
const CALL_TIMEOUT_MS = 15_000;
/** A prefetch search matching more than this is left out: the service pages it from fhirServer itself. */
const MAX_PREFETCH_ENTRIES = 5000;
const HOOK_OF_SERVICE: Record<string, string> = {
  [CDS_SERVICE_IDS.patientView]: "patient-view",
  [CDS_SERVICE_IDS.orderSign]: "order-sign",
  [CDS_SERVICE_IDS.orderSelect]: "order-select",
};

// ------------------------------------------------------------------------------------------------ signing

export interface CdsSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A fresh ES384 key pair for the sandbox's CDS client (made at every sandbox start). */
export async function createCdsSigningKey(): Promise<CdsSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(CDS_JWT_ALG);
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: CDS_JWT_ALG, use: "sig" } };
}

/**
 * The CDS Hooks 2.0 client JWT: header alg ES384, kid, typ JWT; claims iss (the sandbox origin), sub (the same),
 * aud (the endpoint being called), iat, exp (five minutes), jti (a random uuid, never reused).
 */
export async function signCdsJwt(key: CdsSigningKey, claims: { issuer: string; audience: string; now?: Date }): Promise<string> {
  const issuedAt = Math.floor((claims.now ?? new Date()).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: CDS_JWT_ALG, kid: key.kid, typ: "JWT" })
    .setIssuer(claims.issuer)
    .setSubject(claims.issuer)
    .setAudience(claims.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + JWT_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

// ------------------------------------------------------------------------------------------------ draft orders

export type OrderableJakDrugId = "upadacitinib-15" | "abrocitinib-100" | "baricitinib-2" | "ruxolitinib-cream-1.5";

interface OrderableJakDrug {
  id: OrderableJakDrugId;
  drug: JakDrug;
  strength: string;
  route: "oral" | "topical";
  /** What the order form shows. */
  label: string;
  /** The label's starting dose for atopic dermatitis. */
  dosageText: string;
  dose?: { value: number; unit: string; code: string };
  timesPerDay: number;
}

/** The orders the launcher's form offers, with the labels' starting doses for atopic dermatitis. */
export const ORDERABLE_JAK_DRUGS: readonly OrderableJakDrug[] = [
  {
    id: "upadacitinib-15", drug: "upadacitinib", strength: "15", route: "oral", timesPerDay: 1,
    label: "Upadacitinib (Rinvoq) 15 mg extended-release tablet, once daily",
    dosageText: "15 mg by mouth once daily", dose: { value: 15, unit: "mg", code: "mg" },
  },
  {
    id: "abrocitinib-100", drug: "abrocitinib", strength: "100", route: "oral", timesPerDay: 1,
    label: "Abrocitinib (Cibinqo) 100 mg tablet, once daily",
    dosageText: "100 mg by mouth once daily", dose: { value: 100, unit: "mg", code: "mg" },
  },
  {
    id: "baricitinib-2", drug: "baricitinib", strength: "2", route: "oral", timesPerDay: 1,
    label: "Baricitinib (Olumiant) 2 mg tablet, once daily",
    dosageText: "2 mg by mouth once daily", dose: { value: 2, unit: "mg", code: "mg" },
  },
  {
    id: "ruxolitinib-cream-1.5", drug: "ruxolitinib-cream", strength: "1.5", route: "topical", timesPerDay: 2,
    label: "Ruxolitinib (Opzelura) 1.5% cream, twice daily",
    dosageText: "Apply a thin layer to affected areas twice daily (at most 20% of body surface area)",
  },
];

export function findOrderableDrug(id: string): OrderableJakDrug | undefined {
  return ORDERABLE_JAK_DRUGS.find((drug) => drug.id === id);
}

/**
 * The draft MedicationRequest the EHR's order entry holds while the prescriber signs: status draft, intent order,
 * coded as the engine recognises JAK inhibitors (ATC for the tablets, NDC for Rinvoq and the cream, brand and
 * ingredient in the text; RxNorm codes are not used: clinical-reference 3 left them unverified), with the route.
 */
export function buildDraftMedicationRequest(input: {
  drug: OrderableJakDrugId;
  patientId: string;
  practitionerId: string;
  /** YYYY-MM-DD: the day the order is written (the EHR's today). */
  authoredOn: string;
  id?: string;
}): MedicationRequest {
  const orderable = findOrderableDrug(input.drug);
  if (!orderable) throw new Error(`Unknown orderable JAK inhibitor: ${input.drug}`);
  const product = JAK_PRODUCTS[orderable.drug];
  const text =
    orderable.route === "topical"
      ? `${product.brand} (${product.ingredient}) ${orderable.strength}% cream`
      : `${product.brand} (${product.ingredient}) ${orderable.strength} mg ${product.form}`;
  const coding: NonNullable<NonNullable<MedicationRequest["medicationCodeableConcept"]>["coding"]> = [];
  if (product.atc) coding.push({ system: ATC, code: product.atc, display: product.ingredient });
  const ndc = product.ndc?.[orderable.strength];
  if (ndc) coding.push({ system: NDC, code: ndc, display: text });
  const route = orderable.route === "topical" ? ROUTE_TOPICAL : ROUTE_ORAL;
  return {
    resourceType: "MedicationRequest",
    id: input.id ?? randomUUID(),
    status: "draft",
    intent: "order",
    medicationCodeableConcept: { ...(coding.length > 0 ? { coding } : {}), text },
    subject: { reference: `Patient/${input.patientId}` },
    requester: { reference: `Practitioner/${input.practitionerId}` },
    authoredOn: input.authoredOn,
    dosageInstruction: [
      {
        text: orderable.dosageText,
        route: { coding: [{ ...route }], text: route.display },
        timing: { repeat: { frequency: orderable.timesPerDay, period: 1, periodUnit: "d", boundsPeriod: { start: input.authoredOn } } },
        ...(orderable.dose
          ? { doseAndRate: [{ doseQuantity: { value: orderable.dose.value, unit: orderable.dose.unit, system: "http://unitsofmeasure.org", code: orderable.dose.code } }] }
          : {}),
      },
    ],
  };
}

/** context.draftOrders: a Bundle of the draft orders (CDS Hooks order-sign / order-select). */
export function draftOrdersBundle(orders: readonly Resource[]): Bundle {
  return { resourceType: "Bundle", type: "collection", entry: orders.map((resource) => ({ resource })) };
}

// ------------------------------------------------------------------------------------------------ wire types

const codingSchema = z.looseObject({ system: z.string().optional(), code: z.string(), display: z.string().optional() });
const actionSchema = z.looseObject({
  type: z.string(),
  description: z.string().optional(),
  resource: z.unknown().optional(),
  resourceId: z.unknown().optional(),
});
const cardSchema = z.looseObject({
  uuid: z.string().optional(),
  summary: z.string(),
  detail: z.string().optional(),
  indicator: z.enum(["info", "warning", "critical"]),
  source: z.looseObject({ label: z.string(), url: z.string().optional(), topic: codingSchema.optional() }),
  suggestions: z.array(z.looseObject({ label: z.string(), uuid: z.string().optional(), isRecommended: z.boolean().optional(), actions: z.array(actionSchema).optional() })).optional(),
  selectionBehavior: z.string().optional(),
  overrideReasons: z.array(codingSchema).optional(),
  links: z.array(z.looseObject({ label: z.string(), url: z.string(), type: z.string(), appContext: z.string().optional() })).optional(),
});
const hookResponseSchema = z.looseObject({ cards: z.array(cardSchema), systemActions: z.array(z.unknown()).optional() });
const discoverySchema = z.looseObject({
  services: z.array(
    z.looseObject({
      id: z.string(),
      hook: z.string(),
      title: z.string().optional(),
      description: z.string().optional(),
      prefetch: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

export type CdsCardView = z.infer<typeof cardSchema>;
export type CdsCoding = z.infer<typeof codingSchema>;
export type CdsDiscovery = z.infer<typeof discoverySchema>;
export type CdsServiceDescription = CdsDiscovery["services"][number];

export interface HookContext {
  /** "Practitioner/<id>" */
  userId: string;
  patientId: string;
  encounterId?: string;
  /** order-sign / order-select: a Bundle of draft orders. */
  draftOrders?: Bundle;
  /** order-select: ids of the orders just selected ("MedicationRequest/<id>"). */
  selections?: string[];
}

export interface HookCallOptions {
  /** Fill the service's prefetch templates (default true); false: the service fetches from fhirServer. */
  prefetch?: boolean;
  /** Hand the service fhirServer + fhirAuthorization (default true); false: it cannot read what is missing. */
  fhirAuthorization?: boolean;
}

export interface PreparedHookCall {
  url: string;
  hook: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** Prefetch keys filled, and keys left out (template not fillable or result too large). */
  prefetchKeys: string[];
  prefetchOmitted: string[];
}

export type HookCallResult =
  | { ok: true; status: number; cards: CdsCardView[]; ms: number; call: PreparedHookCall }
  | { ok: false; status?: number; error: string; ms: number; call?: PreparedHookCall };

export interface FeedbackEntry {
  card: string;
  outcome: "accepted" | "overridden";
  acceptedSuggestions?: Array<{ id: string }>;
  overrideReason?: { reason?: CdsCoding; userComment?: string };
  outcomeTimestamp: string;
}

export type FeedbackResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

// ------------------------------------------------------------------------------------------------ client

export interface CdsClientOptions {
  /** The registered CDS service base, e.g. http://127.0.0.1:3000/cds-services; undefined: none registered. */
  serviceBase?: string;
  /** The sandbox origin: the JWT's iss. */
  origin: string;
  fhirBase: string;
  repo: SandboxRepository;
  /** Issues an access token the sandbox's FHIR API accepts (AuthServer.issueAccessToken). */
  issueAccessToken: (grant: { clientId: string; scopes: string[]; patientId?: string; practitionerId?: string }, lifetimeSeconds: number) => {
    access_token: string;
    token_type: "Bearer";
    expires_in: number;
    scope: string;
  };
  fetch?: typeof fetch;
}

export class CdsClient {
  private discovery: { value: CdsDiscovery; at: number } | undefined;

  private constructor(
    private readonly options: CdsClientOptions,
    private readonly key: CdsSigningKey,
  ) {}

  static async create(options: CdsClientOptions): Promise<CdsClient> {
    return new CdsClient(options, await createCdsSigningKey());
  }

  get serviceBase(): string | undefined {
    return this.options.serviceBase?.replace(/\/+$/, "");
  }

  get issuer(): string {
    return this.options.origin;
  }

  get jwksUrl(): string {
    return `${this.options.origin}${CDS_CLIENT_JWKS_PATH}`;
  }

  jwks(): JSONWebKeySet {
    return { keys: [this.key.publicJwk] };
  }

  serviceUrl(serviceId: string): string {
    const base = this.requireBase();
    return `${base}/${encodeURIComponent(serviceId)}`;
  }

  signJwt(audience: string, now?: Date): Promise<string> {
    return signCdsJwt(this.key, { issuer: this.options.origin, audience, now });
  }

  /** Uses this discovery document instead of fetching one (benchmarks call the service's handlers in-process). */
  useDiscovery(discovery: { services: ReadonlyArray<{ id: string; hook: string; prefetch?: Record<string, string> }> }): void {
    this.discovery = { value: discoverySchema.parse(discovery), at: Number.POSITIVE_INFINITY };
  }

  /** GET {base} (signed, aud = the discovery URL); cached for 30 seconds. */
  async discover(): Promise<CdsDiscovery> {
    if (this.discovery && (this.discovery.at === Number.POSITIVE_INFINITY || Date.now() - this.discovery.at < DISCOVERY_CACHE_MS)) {
      return this.discovery.value;
    }
    const base = this.requireBase();
    let response: Response;
    try {
      response = await this.fetcher(base, {
        headers: { Accept: "application/json", Authorization: `Bearer ${await this.signJwt(base)}` },
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      throw new Error(`The CDS service's discovery at ${base} could not be reached: ${errorMessage(error)}`);
    }
    if (!response.ok) throw new Error(`CDS discovery at ${base} answered ${response.status}`);
    const parsed = discoverySchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new Error(`CDS discovery at ${base} is not a CDS Hooks discovery document`);
    this.discovery = { value: parsed.data, at: Date.now() };
    return parsed.data;
  }

  /** The request an EHR sends for this hook call: URL, signed headers and body (prefetch filled unless asked not to). */
  async prepareHookCall(serviceId: string, context: HookContext, options: HookCallOptions = {}): Promise<PreparedHookCall> {
    const url = this.serviceUrl(serviceId);
    const wantsPrefetch = options.prefetch !== false;
    let service: CdsServiceDescription | undefined;
    try {
      service = (await this.discover()).services.find((candidate) => candidate.id === serviceId);
    } catch (error) {
      // Without discovery the hook name is known for the app's own services; prefetch templates are not.
      if (wantsPrefetch || !HOOK_OF_SERVICE[serviceId]) throw error;
    }
    const hook = service?.hook ?? HOOK_OF_SERVICE[serviceId];
    if (!hook) throw new Error(`The CDS service does not offer a service "${serviceId}"`);
    const prefetchKeys: string[] = [];
    const prefetchOmitted: string[] = [];
    let prefetch: Record<string, Resource | null> | undefined;
    if (wantsPrefetch && service?.prefetch) {
      prefetch = {};
      for (const [key, template] of Object.entries(service.prefetch)) {
        const query = fillPrefetchTemplate(template, context);
        const result = query === undefined ? undefined : await runPrefetchQuery(this.options.repo, this.options.fhirBase, query);
        if (result === undefined) {
          prefetchOmitted.push(key);
          continue;
        }
        prefetch[key] = result;
        prefetchKeys.push(key);
      }
    }
    const body: Record<string, unknown> = {
      hook,
      hookInstance: randomUUID(),
      context: withoutUndefined({ ...context }),
    };
    if (options.fhirAuthorization !== false) {
      const practitionerId = context.userId.startsWith("Practitioner/") ? context.userId.slice("Practitioner/".length) : undefined;
      const token = this.options.issueAccessToken(
        { clientId: CDS_SERVICE_CLIENT_ID, scopes: [FHIR_AUTHORIZATION_SCOPE], patientId: context.patientId, practitionerId },
        FHIR_AUTHORIZATION_SECONDS,
      );
      body.fhirServer = this.options.fhirBase;
      body.fhirAuthorization = { ...token, subject: CDS_SERVICE_CLIENT_ID, patient: context.patientId };
    }
    if (prefetch) body.prefetch = prefetch;
    return {
      url,
      hook,
      headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${await this.signJwt(url)}` },
      body,
      prefetchKeys,
      prefetchOmitted,
    };
  }

  /** POST {base}/{serviceId}: the cards, or why there are none (never throws). */
  async callHook(serviceId: string, context: HookContext, options: HookCallOptions = {}): Promise<HookCallResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let call: PreparedHookCall;
    try {
      call = await this.prepareHookCall(serviceId, context, options);
    } catch (error) {
      return { ok: false, error: errorMessage(error), ms: elapsed() };
    }
    let response: Response;
    try {
      response = await this.fetcher(call.url, {
        method: "POST",
        headers: call.headers,
        body: JSON.stringify(call.body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      return { ok: false, error: `The CDS service could not be reached: ${errorMessage(error)}`, ms: elapsed(), call };
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      return { ok: false, status: response.status, error: `The CDS service answered ${response.status}${describeErrorBody(text)}`, ms: elapsed(), call };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, status: response.status, error: "The CDS service answered with something that is not JSON", ms: elapsed(), call };
    }
    const parsed = hookResponseSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        ok: false,
        status: response.status,
        error: `The CDS service's answer is not a CDS Hooks response (${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "invalid"})`,
        ms: elapsed(),
        call,
      };
    }
    return { ok: true, status: response.status, cards: parsed.data.cards, ms: elapsed(), call };
  }

  /** POST {base}/{serviceId}/feedback (aud = that feedback URL: the endpoint being invoked). */
  async sendFeedback(serviceId: string, feedback: FeedbackEntry[]): Promise<FeedbackResult> {
    let url: string;
    try {
      url = `${this.serviceUrl(serviceId)}/feedback`;
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
    try {
      const response = await this.fetcher(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${await this.signJwt(url)}` },
        body: JSON.stringify({ feedback }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await response.text().catch(() => "");
      if (!response.ok) return { ok: false, status: response.status, error: `The CDS service answered ${response.status}${describeErrorBody(text)}` };
      return { ok: true, status: response.status };
    } catch (error) {
      return { ok: false, error: `The CDS service could not be reached: ${errorMessage(error)}` };
    }
  }

  private requireBase(): string {
    const base = this.serviceBase;
    if (!base) throw new Error("No CDS service is registered with this sandbox (start it with cdsServiceBase)");
    return base;
  }

  private fetcher(input: string, init: RequestInit): Promise<Response> {
    return (this.options.fetch ?? fetch)(input, init);
  }
}

// ------------------------------------------------------------------------------------------------ prefetch

/**
 * Fills a prefetch template's tokens ({{context.patientId}}, {{context.userId}}, {{userPractitionerId}}, ...).
 * A token the client cannot fill leaves the key out (undefined), as the spec allows.
 */
export function fillPrefetchTemplate(template: string, context: HookContext): string | undefined {
  const userId = context.userId;
  const userType = userId.split("/")[0];
  const userLocalId = userId.split("/")[1];
  const tokens: Record<string, string | undefined> = {
    "context.patientId": context.patientId,
    "context.userId": userId,
    "context.encounterId": context.encounterId,
    userPractitionerId: userType === "Practitioner" ? userLocalId : undefined,
    userPractitionerRoleId: userType === "PractitionerRole" ? userLocalId : undefined,
    userPatientId: userType === "Patient" ? userLocalId : undefined,
    userRelatedPersonId: userType === "RelatedPerson" ? userLocalId : undefined,
  };
  let unfilled = false;
  const filled = template.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_match, name: string) => {
    const value = tokens[name];
    if (value === undefined) {
      unfilled = true;
      return "";
    }
    // Slashes stay: "{{context.userId}}" may be a read ("Practitioner/x").
    return encodeURIComponent(value).replace(/%2F/gi, "/");
  });
  return unfilled ? undefined : filled;
}

/**
 * Runs one filled prefetch query against the repository, as the EHR's own FHIR layer would: "Type/id" reads
 * (null when absent), "Type?params" searches give the whole result as a searchset Bundle (unknown parameters
 * ignored, paging parameters too). Undefined when the query cannot be run or is too large to send.
 */
export async function runPrefetchQuery(repo: SandboxRepository, fhirBase: string, query: string): Promise<Resource | null | undefined> {
  const relative = query.replace(/^\/+/, "").replace(`${fhirBase.replace(/\/+$/, "")}/`, "");
  const read = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(relative);
  if (read?.[1] && read[2]) {
    try {
      return await repo.readResource(read[1], read[2]);
    } catch {
      return null;
    }
  }
  if (!/^[A-Z][A-Za-z]+(\?|$)/.test(relative)) return undefined;
  try {
    const request = parseSearchRequest(relative);
    request.filters = (request.filters ?? []).filter((filter) => getSearchParameter(request.resourceType, filter.code.split(".")[0] ?? ""));
    // The EHR sends the whole result: paging parameters of the template are not applied.
    request.count = undefined;
    request.offset = undefined;
    const bundle = await repo.searchWithin(request);
    if ((bundle.total ?? 0) > MAX_PREFETCH_ENTRIES) return undefined;
    const entry: BundleEntry[] = (bundle.entry ?? []).map((item) => ({
      fullUrl: `${fhirBase}/${item.resource?.resourceType}/${item.resource?.id}`,
      ...item,
    }));
    return { resourceType: "Bundle", type: "searchset", total: bundle.total ?? entry.length, ...(entry.length > 0 ? { entry } : {}) };
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ helpers

function withoutUndefined<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
  return String(error);
}

/** The service's own reason (`{ error }` / `{ reason }` / OperationOutcome), shortened, for the page. */
function describeErrorBody(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const issue = Array.isArray(body.issue) ? (body.issue[0] as Record<string, unknown> | undefined) : undefined;
    const reason = [body.error, body.reason, body.message, issue?.diagnostics].find((value) => typeof value === "string" && value.length > 0);
    return typeof reason === "string" ? `: ${reason.slice(0, 300)}` : "";
  } catch {
    return "";
  }
}
