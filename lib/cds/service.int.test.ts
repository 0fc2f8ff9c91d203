// The CDS service end to end without Next: real Request objects into the handlers, the sandbox EHR over HTTP as the
// FHIR server (fetch with the client's token when prefetch is missing), real PostgreSQL for jti, cards, feedback and
// audit rows. Covers discovery, both hooks with and without prefetch, JWT refusals, malformed bodies, feedback and
// the override rates the panel reads.
import { FIXTURE_IDS, sandboxFixtureResources, startSandbox, type RunningSandbox } from "../sandbox";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatePatient } from "../clinical";
import type { TestDatabase } from "../db/testing";
import { readCdsFeedbackSummary } from "../panel/cds-feedback";
import type { CdsCard } from "./card-types";
import { patientViewCards } from "./cards";
import type { CdsClientConfig } from "./config";
import { CDS_SERVICE_IDS } from "./discovery";
import { handleCdsFeedback } from "./feedback";
import { orderSignCards } from "./order-sign";
import { handleCdsDiscovery, handleCdsHookRequest, type CdsServiceDeps } from "./service";
import { fhirAuthorizationFor, prefetchResources, sandboxPrefetch, sandboxSystemToken, signCdsClientJwt, signingKey, withoutUuids, type SigningKey } from "./service.test-helper";

const APP = "http://127.0.0.1:3999";
const AS_OF = "2026-11-01";
const EHR_ISS = "https://ehr.sandbox.test";
const ROGUE_ISS = "https://rogue.example.net";
const RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm";
const { patientA, patientC, dermatologist } = FIXTURE_IDS;

/** Patient A's latest neutrophil count is below the label's limit: a critical card that only the Observations give. */
const lowNeutrophils: Resource = {
  resourceType: "Observation",
  id: "cds-test-anc-low",
  status: "final",
  category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] }],
  code: { coding: [{ system: "http://loinc.org", code: "751-8", display: "Neutrophils [#/volume] in Blood by Automated count" }] },
  subject: { reference: `Patient/${patientA}` },
  effectiveDateTime: "2026-10-20",
  valueQuantity: { value: 0.8, unit: "10*3/uL", system: "http://unitsofmeasure.org", code: "10*3/uL" },
};

let sandbox: RunningSandbox;
let db: TestDatabase;
let pool: pg.Pool;
let jwksServer: Server;
let jwksOrigin = "";
let ehrKey: SigningKey;
let jkuKey: SigningKey;
let strangerKey: SigningKey;
let fhirToken = "";
let clients: CdsClientConfig[];
const fhirCalls: Array<{ url: string; authorization: string | null }> = [];
const logs: Array<{ event: string; fields: Record<string, unknown> }> = [];

/** The fetch the service uses, counting what it asks of the sandbox (and with which token). */
const countingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  fhirCalls.push({ url: String(input), authorization: new Headers(init?.headers).get("authorization") });
  return fetch(input, init);
}) as typeof fetch;

function deps(overrides: Partial<CdsServiceDeps> = {}): CdsServiceDeps {
  return {
    pool,
    clients: () => clients,
    serviceBase: () => APP,
    asOf: () => AS_OF,
    appLaunchUrl: () => `${APP}/launch`,
    patientViewCards,
    orderSignCards,
    fetch: countingFetch,
    log: (event, fields) => void logs.push({ event, fields }),
    ...overrides,
  };
}

interface JwtOptions {
  key?: SigningKey;
  iss?: string;
  aud?: string;
  exp?: number;
  jti?: string;
  jku?: string;
}

function serviceUrl(id: string): string {
  return `${APP}/cds-services/${id}`;
}

function jwt(serviceId: string, options: JwtOptions = {}): Promise<string> {
  return signCdsClientJwt({
    key: options.key ?? ehrKey,
    iss: options.iss ?? EHR_ISS,
    aud: options.aud ?? serviceUrl(serviceId),
    ...(options.exp !== undefined ? { exp: options.exp } : {}),
    ...(options.jti ? { jti: options.jti } : {}),
    ...(options.jku ? { jku: options.jku } : {}),
  });
}

function post(url: string, body: unknown, token: string | null): Request {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function callHook(serviceId: string, body: unknown, options: JwtOptions & { token?: string | null } = {}, overrides: Partial<CdsServiceDeps> = {}): Promise<Response> {
  const token = options.token === undefined ? await jwt(serviceId, options) : options.token;
  return handleCdsHookRequest(post(serviceUrl(serviceId), body, token), serviceId, deps(overrides));
}

function fullPrefetch(patientId: string) {
  return sandboxPrefetch(sandbox, fhirToken, patientId);
}

function authorization(): Record<string, unknown> {
  return fhirAuthorizationFor(sandbox, fhirToken);
}

function patientViewBody(patientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { hook: "patient-view", hookInstance: randomUUID(), context: { userId: `Practitioner/${dermatologist}`, patientId }, ...extra };
}

function upadacitinibDraft(patientId: string): Record<string, unknown> {
  return {
    resourceType: "MedicationRequest",
    id: "draft-upa-1",
    status: "draft",
    intent: "order",
    subject: { reference: `Patient/${patientId}` },
    authoredOn: AS_OF,
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: "2196092", display: "upadacitinib 15 MG Extended Release Oral Tablet" }], text: "upadacitinib 15 mg" },
    dosageInstruction: [{ text: "15 mg once daily", route: { coding: [{ system: "http://snomed.info/sct", code: "26643006", display: "Oral route" }] } }],
  };
}

function orderBody(hook: "order-sign" | "order-select", patientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const draft = upadacitinibDraft(patientId);
  return {
    hook,
    hookInstance: randomUUID(),
    context: {
      userId: `Practitioner/${dermatologist}`,
      patientId,
      draftOrders: { resourceType: "Bundle", type: "collection", entry: [{ resource: draft }] },
      ...(hook === "order-select" ? { selections: ["MedicationRequest/draft-upa-1"] } : {}),
    },
    ...extra,
  };
}

async function cardsOf(response: Response): Promise<CdsCard[]> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { cards: CdsCard[] };
  return body.cards;
}

/** What a clinician reads, without the uuids that differ between calls. */
const readable = withoutUuids;

async function count(table: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return rows[0]!.n;
}

async function lastAudit(action: string): Promise<{ actor: string; outcome: string; detail: Record<string, unknown> }> {
  const { rows } = await pool.query(`select actor, outcome, detail from audit_events where action = $1 order by id desc limit 1`, [action]);
  return rows[0] as { actor: string; outcome: string; detail: Record<string, unknown> };
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, resources: [...sandboxFixtureResources(), lowNeutrophils] });
  fhirToken = await sandboxSystemToken(sandbox);

  ehrKey = await signingKey();
  jkuKey = await signingKey();
  strangerKey = await signingKey();
  jwksServer = createServer((req, res) => {
    if (req.url === "/allowed/jwks.json" || req.url === "/other/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jkuKey.publicJwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  jwksOrigin = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  // The EHR's iss is not the sandbox's origin: its FHIR server is registered for it.
  clients = [{ iss: EHR_ISS, jwks: { keys: [ehrKey.publicJwk] }, jkuAllow: [`${jwksOrigin}/allowed/jwks.json`], fhirServerAllow: [sandbox.fhirBase] }];

  // Prisma's generated client (behind lib/db) loads only after the sandbox has started (README: import order).
  const { startTestDatabase } = await import("../db/testing");
  const { createPool } = await import("../db/pool");
  db = await startTestDatabase();
  pool = createPool(db.url, 4);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
  await sandbox?.stop();
});

describe("discovery", () => {
  it("lists the three services with their prefetch templates", async () => {
    const response = handleCdsDiscovery();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { services: Array<{ id: string; hook: string; prefetch: Record<string, string> }> };
    expect(body.services.map((s) => `${s.hook}:${s.id}`)).toEqual([
      "patient-view:jak-monitor-patient-view",
      "order-sign:jak-monitor-order-sign",
      "order-select:jak-monitor-order-select",
    ]);
    expect(body.services[0]!.prefetch.patient).toBe("Patient/{{context.patientId}}");
  });
});

describe("patient-view", () => {
  let withPrefetch: CdsCard[];

  it("answers the patient page's concerns from a full prefetch without calling the EHR, and stores and audits the cards", async () => {
    const cardsBefore = await count("cds_cards");
    fhirCalls.length = 0;
    const response = await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, { prefetch: await fullPrefetch(patientA), ...authorization() }));
    withPrefetch = await cardsOf(response);
    expect(fhirCalls).toEqual([]);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");

    // The same cards as the engine gives for the sandbox's own copy of the patient on the same date.
    const expected = patientViewCards(evaluatePatient(prefetchResources(await fullPrefetch(patientA)), { asOf: AS_OF, patientId: patientA }), {
      asOf: AS_OF,
      patientId: patientA,
      appLaunchUrl: `${APP}/launch`,
      uuid: randomUUID,
    });
    expect(readable(withPrefetch)).toEqual(readable(expected.map((r) => r.card)));
    expect(withPrefetch.map((c) => c.summary).join("\n")).toMatch(/baseline/i);
    // Most severe first: the low neutrophil count leads.
    expect(withPrefetch[0]!.indicator).toBe("critical");
    for (const card of withPrefetch) {
      expect(card.uuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(card.links).toContainEqual(expect.objectContaining({ type: "smart", url: `${APP}/launch` }));
      expect(card.source.url).toMatch(/^https:\/\//);
      expect(card.detail ?? "").not.toMatch(/could not be read/);
    }

    expect(await count("cds_cards")).toBe(cardsBefore + withPrefetch.length);
    const { rows } = await pool.query<{ rule_ids: string[]; client: string; service_id: string; indicator: string }>(
      `select rule_ids, client, service_id, indicator from cds_cards where uuid = $1`,
      [withPrefetch[0]!.uuid],
    );
    expect(rows[0]).toEqual({ rule_ids: expected[0]!.ruleIds, client: EHR_ISS, service_id: CDS_SERVICE_IDS.patientView, indicator: withPrefetch[0]!.indicator });

    const audit = await lastAudit("cds.patient-view");
    expect(audit).toMatchObject({ actor: EHR_ISS, outcome: "success", detail: { cards: withPrefetch.length, fhirRequests: 0, fetched: "", unread: "" } });
    expect(String(audit.detail.prefetched)).toContain("observations");
    expect(JSON.stringify(audit)).not.toContain(patientA);
  });

  it("fetches from the EHR with the client's token when there is no prefetch, and gives the same cards", async () => {
    fhirCalls.length = 0;
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization())));
    expect(readable(cards)).toEqual(readable(withPrefetch));
    expect(fhirCalls.length).toBeGreaterThan(0);
    expect(fhirCalls.every((c) => c.url.startsWith(sandbox.fhirBase) && c.authorization === `Bearer ${fhirToken}`)).toBe(true);
    const audit = await lastAudit("cds.patient-view");
    expect(audit.detail).toMatchObject({ prefetched: "", unread: "" });
    expect(String(audit.detail.fetched)).toContain("observations");
  });

  it("fetches only what the prefetch left out", async () => {
    const prefetch = await fullPrefetch(patientA);
    delete prefetch.observations;
    fhirCalls.length = 0;
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, { prefetch, ...authorization() })));
    expect(readable(cards)).toEqual(readable(withPrefetch));
    expect(fhirCalls.length).toBeGreaterThan(0);
    expect(fhirCalls.every((c) => new URL(c.url).pathname.endsWith("/Observation"))).toBe(true);
  });

  it("says in the cards which data could not be read when the call gives neither prefetch nor a FHIR server, and calls nobody", async () => {
    fhirCalls.length = 0;
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA)));
    expect(fhirCalls).toEqual([]);
    expect(cards.length).toBeGreaterThan(0);
    expect(cards.every((c) => /could not be read/.test(c.detail ?? ""))).toBe(true);
    expect(cards[0]!.detail).toContain("Scores and laboratory results (Observation) could not be read");
    const audit = await lastAudit("cds.patient-view");
    expect(String(audit.detail.unread)).toContain("observations");
  });

  it("does not call a FHIR server off its iss's origin for a client that lists none", async () => {
    fhirCalls.length = 0;
    const unlisted = [{ iss: EHR_ISS, jwks: clients[0]!.jwks! }];
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization()), {}, { clients: () => unlisted }));
    expect(fhirCalls).toEqual([]);
    expect(cards[0]!.detail).toContain("not one this client is registered for");
  });

  it("does not call a FHIR server the client is not registered for", async () => {
    fhirCalls.length = 0;
    const restricted = [{ ...clients[0]!, fhirServerAllow: ["https://ehr.example.org/fhir"] }];
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization()), {}, { clients: () => restricted }));
    expect(fhirCalls).toEqual([]);
    expect(cards[0]!.detail).toContain("not one this client is registered for");
  });
});

describe("order-sign and order-select", () => {
  it("warns about missing baseline screening for an upadacitinib draft, with draft lab orders and override reasons", async () => {
    fhirCalls.length = 0;
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.orderSign, orderBody("order-sign", patientC, { prefetch: await fullPrefetch(patientC), ...authorization() })));
    expect(fhirCalls).toEqual([]);
    const screening = cards.find((c) => /baseline screening/i.test(c.summary));
    expect(screening).toBeDefined();
    expect(screening!.overrideReasons?.length).toBeGreaterThan(0);
    const actions = (screening!.suggestions ?? []).flatMap((s) => s.actions ?? []);
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) {
      expect(action.type).toBe("create");
      expect(action.resource).toMatchObject({ resourceType: "ServiceRequest", status: "draft", intent: "proposal" });
    }
    const loinc = actions.flatMap((a) => ((a.resource as { code?: { coding?: Array<{ system?: string; code?: string }> } }).code?.coding ?? []).filter((c) => c.system === "http://loinc.org").map((c) => c.code));
    expect(loinc).toContain("71773-6");
    const audit = await lastAudit("cds.order-sign");
    expect(audit.detail).toMatchObject({ drafts: 1, recognised: 1, cards: cards.length });
  });

  it("gives the same cards when it fetches the record itself", async () => {
    const prefetched = await cardsOf(await callHook(CDS_SERVICE_IDS.orderSign, orderBody("order-sign", patientC, { prefetch: await fullPrefetch(patientC) })));
    fhirCalls.length = 0;
    const fetched = await cardsOf(await callHook(CDS_SERVICE_IDS.orderSign, orderBody("order-sign", patientC, authorization())));
    expect(fhirCalls.length).toBeGreaterThan(0);
    expect(readable(fetched)).toEqual(readable(prefetched));
  });

  it("answers order-select for the selected draft", async () => {
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.orderSelect, orderBody("order-select", patientC, authorization())));
    expect(cards.some((c) => /baseline screening/i.test(c.summary))).toBe(true);
  });

  it("answers 400 when order-select's selections name no draft order", async () => {
    const body = orderBody("order-select", patientC, authorization());
    (body.context as Record<string, unknown>).selections = ["MedicationRequest/unknown"];
    const response = await callHook(CDS_SERVICE_IDS.orderSelect, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/selections names no order/);
  });

  it("says nothing about a draft that is not a JAK inhibitor", async () => {
    const body = orderBody("order-sign", patientC, { prefetch: await fullPrefetch(patientC) });
    const draft = (body.context as { draftOrders: Bundle }).draftOrders.entry![0]!.resource as unknown as Record<string, unknown>;
    draft.medicationCodeableConcept = { coding: [{ system: RXNORM, code: "197361", display: "amlodipine 5 MG Oral Tablet" }] };
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.orderSign, body));
    expect(cards).toEqual([]);
  });
});

describe("refused calls", () => {
  async function expectRefused(response: Response, reason: string): Promise<void> {
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "unauthorized" });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const audit = await lastAudit("cds.patient-view");
    expect(audit).toMatchObject({ actor: "unauthenticated", outcome: "refused", detail: { reason } });
  }

  const cases: Array<[string, () => Promise<JwtOptions & { token?: string | null }>, string]> = [
    ["a missing Authorization header", async () => ({ token: null }), "missing-authorization"],
    ["a bad signature", async () => ({ token: await jwt(CDS_SERVICE_IDS.patientView, { key: { ...strangerKey, kid: ehrKey.kid } }) }), "bad-signature"],
    ["an unknown iss", async () => ({ iss: ROGUE_ISS }), "unknown-iss"],
    ["a wrong aud (another service's URL)", async () => ({ aud: serviceUrl(CDS_SERVICE_IDS.orderSign) }), "wrong-aud"],
    ["an expired token", async () => ({ exp: Math.floor(Date.now() / 1000) - 600 }), "expired"],
    ["a jku that is not allow-listed", async () => ({ key: jkuKey, jku: `${jwksOrigin}/other/jwks.json` }), "jku-not-allowed"],
  ];

  for (const [what, options, reason] of cases) {
    it(`answers 401 with no data for ${what}, before reading the EHR or storing cards`, async () => {
      const cardsBefore = await count("cds_cards");
      fhirCalls.length = 0;
      const response = await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization()), await options());
      await expectRefused(response, reason);
      expect(fhirCalls).toEqual([]);
      expect(await count("cds_cards")).toBe(cardsBefore);
    });
  }

  it("answers 401 to a replayed token (same jti), after answering it once", async () => {
    const token = await jwt(CDS_SERVICE_IDS.patientView);
    const first = await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization()), { token });
    expect(first.status).toBe(200);
    const again = await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization()), { token });
    await expectRefused(again, "replayed-jti");
    const { rows } = await pool.query(`select count(*)::int as n from cds_jti where iss = $1`, [EHR_ISS]);
    expect((rows[0] as { n: number }).n).toBeGreaterThan(0);
  });

  it("accepts a key from an allow-listed jku", async () => {
    const response = await callHook(CDS_SERVICE_IDS.patientView, patientViewBody(patientA, authorization()), { key: jkuKey, jku: `${jwksOrigin}/allowed/jwks.json` });
    expect(response.status).toBe(200);
  });
});

describe("malformed requests", () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ["a body that is not JSON", "{ not json", /not valid JSON/],
    ["a hookInstance that is not a UUID", { ...patientViewBody("x"), hookInstance: "abc" }, /hookInstance is not a UUID/],
    ["another hook than the service's", { ...patientViewBody(patientA), hook: "order-sign" }, /hook is "order-sign", but this service answers "patient-view"/],
    ["a context without patientId", { ...patientViewBody(patientA), context: { userId: `Practitioner/${dermatologist}` } }, /context.patientId/],
    ["fhirAuthorization without fhirServer", { ...patientViewBody(patientA), fhirAuthorization: { access_token: "t", token_type: "Bearer", expires_in: 60, scope: "s", subject: "x" } }, /fhirServer is required/],
  ];

  for (const [what, body, message] of cases) {
    it(`answers 400 with a reason for ${what}`, async () => {
      const response = await callHook(CDS_SERVICE_IDS.patientView, body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: string; message: string };
      expect(answer.error).toBe("bad-request");
      expect(answer.message).toMatch(message);
    });
  }

  it("answers 400 for order-sign without draftOrders", async () => {
    const body = orderBody("order-sign", patientC);
    delete (body.context as Record<string, unknown>).draftOrders;
    const response = await callHook(CDS_SERVICE_IDS.orderSign, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/context.draftOrders/);
  });

  it("answers 404 for a service that does not exist", async () => {
    const response = await callHook("no-such-service", patientViewBody(patientA));
    expect(response.status).toBe(404);
  });
});

describe("feedback", () => {
  let overriddenCard: CdsCard;
  let acceptedCard: CdsCard;
  const COMMENT = "Patient Alex said the IGRA was done at the other clinic";

  async function sendFeedback(serviceId: string, feedback: unknown, options: JwtOptions = {}): Promise<Response> {
    const url = `${serviceUrl(serviceId)}/feedback`;
    const token = await jwt(serviceId, { aud: url, ...options });
    return handleCdsFeedback(post(url, { feedback }, token), serviceId, deps());
  }

  beforeAll(async () => {
    const cards = await cardsOf(await callHook(CDS_SERVICE_IDS.orderSign, orderBody("order-sign", patientC, { prefetch: await fullPrefetch(patientC) })));
    overriddenCard = cards.find((c) => /baseline screening/i.test(c.summary))!;
    acceptedCard = cards.find((c) => c !== overriddenCard)!;
    expect(overriddenCard).toBeDefined();
    expect(acceptedCard).toBeDefined();
  });

  it("stores an override with its coded reason but never the user's comment, and audits it", async () => {
    const reason = overriddenCard.overrideReasons![0]!;
    const response = await sendFeedback(CDS_SERVICE_IDS.orderSign, [
      { card: overriddenCard.uuid, outcome: "overridden", overrideReason: { reason, userComment: COMMENT }, outcomeTimestamp: "2026-11-01T09:30:00Z" },
      { card: acceptedCard.uuid, outcome: "accepted", outcomeTimestamp: "2026-11-01T09:31:00Z" },
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ stored: 2 });
    const { rows } = await pool.query(`select * from cds_feedback where card_uuid = any($1::text[]) order by outcome`, [[overriddenCard.uuid, acceptedCard.uuid]]);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ outcome: "overridden", rule_id: "labs.baseline-missing", override_code: reason.code, override_display: reason.display ?? null, client: EHR_ISS, service_id: CDS_SERVICE_IDS.orderSign });
    expect(JSON.stringify(rows)).not.toContain("IGRA was done");
    const audit = await lastAudit("cds.feedback");
    expect(audit).toMatchObject({ actor: EHR_ISS, outcome: "success", detail: { entries: 2, stored: 2, accepted: 1, overridden: 1, unknownCards: 0 } });
    expect(JSON.stringify(audit)).not.toContain("IGRA was done");
  });

  it("stores a retried feedback post once", async () => {
    const response = await sendFeedback(CDS_SERVICE_IDS.orderSign, [{ card: acceptedCard.uuid, outcome: "accepted", outcomeTimestamp: "2026-11-01T09:31:00Z" }]);
    expect(await response.json()).toEqual({ stored: 0 });
  });

  it("keeps feedback on a card it never issued without counting it for a rule", async () => {
    const unknown = randomUUID();
    const response = await sendFeedback(CDS_SERVICE_IDS.orderSign, [{ card: unknown, outcome: "accepted", outcomeTimestamp: "2026-11-01T09:40:00Z" }]);
    expect(response.status).toBe(200);
    const { rows } = await pool.query(`select rule_id from cds_feedback where card_uuid = $1`, [unknown]);
    expect(rows).toEqual([{ rule_id: null }]);
  });

  it("accepts the service URL as aud too, and refuses a token for another service", async () => {
    const entry = [{ card: acceptedCard.uuid, outcome: "accepted", outcomeTimestamp: "2026-11-01T09:45:00Z" }];
    expect((await sendFeedback(CDS_SERVICE_IDS.orderSign, entry, { aud: serviceUrl(CDS_SERVICE_IDS.orderSign) })).status).toBe(200);
    const refused = await sendFeedback(CDS_SERVICE_IDS.orderSign, entry, { aud: serviceUrl(CDS_SERVICE_IDS.patientView) });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "unauthorized" });
  });

  it("answers 400 with a reason for malformed feedback", async () => {
    const response = await sendFeedback(CDS_SERVICE_IDS.orderSign, [{ card: acceptedCard.uuid, outcome: "ignored", outcomeTimestamp: "2026-11-01T09:31:00Z" }]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/feedback.0.outcome must be "accepted" or "overridden"/);
  });

  it("gives the panel each rule's cards, outcomes, override rate and top reasons", async () => {
    const summary = await readCdsFeedbackSummary(pool, { days: 90, now: new Date("2026-11-30T00:00:00Z") });
    const { rows } = await pool.query<{ rule_id: string; n: number }>(`select rule_ids[1] as rule_id, count(*)::int as n from cds_cards group by 1`);
    // Cards are issued "now" (the machine's clock), so count them over a window that surely holds them.
    const issuedNow = await readCdsFeedbackSummary(pool, { days: 3650 });
    for (const row of rows) expect(issuedNow.rules.find((r) => r.ruleId === row.rule_id)?.cardsIssued).toBe(row.n);

    const screening = summary.rules.find((r) => r.ruleId === "labs.baseline-missing")!;
    expect(screening).toMatchObject({ overridden: 1, accepted: 0, overrideRate: 1 });
    expect(screening.topOverrideReasons).toEqual([{ code: overriddenCard.overrideReasons![0]!.code, display: overriddenCard.overrideReasons![0]!.display ?? null, count: 1 }]);
    expect(screening.sourceUrl).toMatch(/^https:\/\//);
    const accepted = summary.rules.find((r) => r.overridden === 0 && r.accepted > 0)!;
    expect(accepted.overrideRate).toBe(0);
    expect(summary.rules[0]!.ruleId).toBe("labs.baseline-missing");
    expect(summary.unattributedFeedback).toBe(1);
  });
});

