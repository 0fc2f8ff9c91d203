// The sandbox as a CDS Hooks client against a stub CDS service: the stub verifies every call's JWT with jose against
// the sandbox's JWKS, answers one fixed card, and records what it was sent; the launcher's views must render that card
// (escaped), launch the app from its smart link, and post feedback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CDS_CLIENT_JWKS_PATH, CDS_SERVICE_CLIENT_ID, CDS_SERVICE_IDS } from "./cds-client";
import { FIXTURE_IDS, startSandbox, type RunningSandbox } from "./index";

const APP_LAUNCH_URL = "http://127.0.0.1:3999/launch";
const PRACTITIONER = FIXTURE_IDS.dermatologist;
const PATIENT = FIXTURE_IDS.patientA;

interface ReceivedCall {
  method: string;
  path: string;
  claims?: JWTPayload;
  body?: Record<string, unknown>;
}

const FIXED_CARD = {
  uuid: "card-0001",
  summary: "Baseline TB screening missing <script>alert(1)</script>",
  detail: "No **IGRA** on record before the start.\n- order `71773-6`\n- <img src=x onerror=alert(2)>",
  indicator: "warning",
  source: { label: "Rinvoq (upadacitinib) US Prescribing Information, section 5.1", url: "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=upadacitinib" },
  selectionBehavior: "any",
  suggestions: [
    {
      label: "Order TB screening (IGRA)",
      uuid: "suggestion-tb",
      isRecommended: true,
      actions: [
        {
          type: "create",
          description: "Draft order: IGRA",
          resource: {
            resourceType: "ServiceRequest",
            status: "draft",
            intent: "proposal",
            code: { coding: [{ system: "http://loinc.org", code: "71773-6", display: "Mycobacterium tuberculosis stimulated gamma interferon [Interpretation] in Blood" }] },
          },
        },
      ],
    },
  ],
  overrideReasons: [
    { system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/cds-override-reason", code: "done-elsewhere", display: "Screening done elsewhere" },
  ],
  links: [
    { label: "Open JAK Monitor", url: APP_LAUNCH_URL, type: "smart" },
    { label: "Scripted link", url: "javascript:alert(3)", type: "absolute" },
  ],
};

let stub: Server;
let stubOrigin = "";
let sandbox: RunningSandbox;
let calls: ReceivedCall[] = [];
let answerStatus = 200;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

/** The stub CDS service: discovery (public), hook and feedback calls (JWT verified against the sandbox's JWKS). */
async function handleStub(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", stubOrigin).pathname;
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.method === "GET" && path === "/cds-services") {
    return send(200, {
      services: [
        {
          id: CDS_SERVICE_IDS.patientView,
          hook: "patient-view",
          title: "stub",
          description: "stub",
          prefetch: { patient: "Patient/{{context.patientId}}", observations: "Observation?patient={{context.patientId}}", encounter: "Encounter/{{context.encounterId}}" },
        },
        { id: CDS_SERVICE_IDS.orderSign, hook: "order-sign", title: "stub", description: "stub", prefetch: { patient: "Patient/{{context.patientId}}" } },
      ],
    });
  }
  const call: ReceivedCall = { method: req.method ?? "", path };
  calls.push(call);
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  try {
    const { payload } = await jwtVerify(token ?? "", createRemoteJWKSet(new URL(`${sandbox.origin}${CDS_CLIENT_JWKS_PATH}`)), {
      issuer: sandbox.origin,
      audience: `${stubOrigin}${path}`,
      algorithms: ["ES384"],
      requiredClaims: ["exp", "iat", "jti"],
    });
    call.claims = payload;
  } catch {
    return send(401, { error: "unauthorized" });
  }
  call.body = await readJson(req);
  if (answerStatus !== 200) return send(answerStatus, { error: "bad-request", message: "stub refuses this call" });
  if (path.endsWith("/feedback")) return send(200, {});
  return send(200, { cards: [FIXED_CARD] });
}

beforeAll(async () => {
  stub = createServer((req, res) => {
    handleStub(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  stubOrigin = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  sandbox = await startSandbox({ port: 0, appLaunchUrl: APP_LAUNCH_URL, cdsServiceBase: `${stubOrigin}/cds-services` });
});

afterAll(async () => {
  await sandbox?.stop();
  await new Promise<void>((resolve) => {
    stub.close(() => resolve());
    stub.closeAllConnections();
  });
});

beforeEach(() => {
  calls = [];
  answerStatus = 200;
});

const hookCalls = (): ReceivedCall[] => calls.filter((call) => call.method === "POST" && !call.path.endsWith("/feedback"));

async function openChart(query = ""): Promise<{ status: number; html: string }> {
  const res = await fetch(`${sandbox.origin}/cds/chart?practitioner=${PRACTITIONER}&cds_patient=${PATIENT}${query}`);
  return { status: res.status, html: await res.text() };
}

async function postForm(path: string, form: Record<string, string | string[]>): Promise<{ status: number; html: string }> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  const res = await fetch(`${sandbox.origin}${path}`, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  return { status: res.status, html: await res.text() };
}

/** Hidden inputs of the first form posting to `action` (name -> value, entities decoded). */
function formFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*action="${action.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1] ?? "";
  const fields: Record<string, string> = {};
  for (const match of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] ?? ""] = (match[2] ?? "").replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
  }
  return fields;
}

describe("the launcher links the CDS Hooks views", () => {
  it("offers Open chart and Order a JAK inhibitor for each patient, and names the client's JWKS", async () => {
    const html = await (await fetch(sandbox.launcherUrl)).text();
    expect(html).toContain(`formaction="/cds/chart" name="cds_patient" value="${PATIENT}"`);
    expect(html).toContain(`formaction="/cds/order" name="cds_patient" value="${PATIENT}"`);
    expect(html).toContain(`${sandbox.origin}${CDS_CLIENT_JWKS_PATH}`);
  });

  it("serves the public ES384 key the calls are signed with", async () => {
    const jwks = (await (await fetch(`${sandbox.origin}${CDS_CLIENT_JWKS_PATH}`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: "EC", crv: "P-384", alg: "ES384" })]);
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });
});

describe("Open chart (patient-view)", () => {
  it("sends a signed patient-view call with the filled prefetch and renders the card escaped", async () => {
    const { status, html } = await openChart();
    expect(status).toBe(200);
    const [call] = hookCalls();
    expect(call?.path).toBe(`/cds-services/${CDS_SERVICE_IDS.patientView}`);
    expect(call?.claims).toMatchObject({ iss: sandbox.origin, aud: `${stubOrigin}/cds-services/${CDS_SERVICE_IDS.patientView}` });
    expect((call?.claims?.exp ?? 0) - (call?.claims?.iat ?? 0)).toBe(300);
    const body = call?.body as { hook: string; hookInstance: string; context: unknown; prefetch: Record<string, { resourceType: string; id?: string; type?: string }> };
    expect(body.hook).toBe("patient-view");
    expect(body.hookInstance).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.context).toEqual({ userId: `Practitioner/${PRACTITIONER}`, patientId: PATIENT });
    expect(body.prefetch.patient).toMatchObject({ resourceType: "Patient", id: PATIENT });
    expect(body.prefetch.observations).toMatchObject({ resourceType: "Bundle", type: "searchset" });
    // No encounter in context: that key is left out rather than sent empty.
    expect(Object.keys(body.prefetch).sort()).toEqual(["observations", "patient"]);

    expect(html).toContain("Baseline TB screening missing &#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).not.toMatch(/<script>alert|<img src=x/);
    expect(html).toContain("No <strong>IGRA</strong> on record");
    expect(html).toContain('class="cds-card indicator-warning"');
    expect(html).toMatch(/Source: <a href="https:\/\/dailymed\.nlm\.nih\.gov[^"]*" target="_blank" rel="noopener noreferrer">Rinvoq \(upadacitinib\) US Prescribing Information, section 5\.1<\/a>/);
    expect(html).toContain('LOINC <code>71773-6</code> Mycobacterium tuberculosis');
    expect(html).toContain(">Screening done elsewhere</option>");
    expect(html).not.toContain('href="javascript:');
  });

  it("gives the service a patient-scoped token it can read this patient's record with, and nobody else's", async () => {
    await openChart();
    const auth = hookCalls()[0]?.body?.fhirAuthorization as { access_token: string; token_type: string; scope: string; subject: string; expires_in: number };
    expect(hookCalls()[0]?.body?.fhirServer).toBe(sandbox.fhirBase);
    expect(auth).toMatchObject({ token_type: "Bearer", scope: "patient/*.rs", subject: CDS_SERVICE_CLIENT_ID, expires_in: 300 });
    const headers = { Authorization: `Bearer ${auth.access_token}`, Accept: "application/fhir+json" };
    expect((await fetch(`${sandbox.fhirBase}/Observation?patient=${PATIENT}`, { headers })).status).toBe(200);
    expect((await fetch(`${sandbox.fhirBase}/Observation?patient=${FIXTURE_IDS.patientB}`, { headers })).status).toBe(403);
  });

  it("sends no prefetch when asked, leaving the service to read the FHIR server", async () => {
    const { status, html } = await openChart("&prefetch=0");
    expect(status).toBe(200);
    const body = hookCalls()[0]?.body ?? {};
    expect(body).not.toHaveProperty("prefetch");
    expect(body).toHaveProperty("fhirAuthorization");
    expect(html).toContain("no prefetch sent");
  });

  it("turns the card's smart link into an EHR launch of that app for this patient and practitioner", async () => {
    const { html } = await openChart();
    const fields = formFields(html, "/launcher/launch");
    expect(fields).toEqual({ practitioner: PRACTITIONER, patient: PATIENT, mode: "ehr", launch_url: APP_LAUNCH_URL });
    const launch = await fetch(`${sandbox.origin}/launcher/launch?${new URLSearchParams(fields)}`, { redirect: "manual" });
    expect(launch.status).toBe(302);
    const target = new URL(launch.headers.get("location") ?? "");
    expect(`${target.origin}${target.pathname}`).toBe(APP_LAUNCH_URL);
    expect(target.searchParams.get("iss")).toBe(sandbox.fhirBase);
    expect(target.searchParams.get("launch")).toMatch(/^[A-Za-z0-9_-]{16,}$/);
  });

  it("says why there are no cards when the service refuses the call", async () => {
    answerStatus = 400;
    const { status, html } = await openChart();
    expect(status).toBe(502);
    expect(html).toMatch(/role="alert"[^>]*>No cards: The CDS service answered 400: bad-request/);
  });

  it("asks for a practitioner and a patient instead of calling the service without them", async () => {
    const res = await fetch(`${sandbox.origin}/cds/chart?cds_patient=${PATIENT}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Choose the signed-in practitioner");
    expect(hookCalls()).toHaveLength(0);
  });
});

describe("Order a JAK inhibitor (order-sign)", () => {
  it("offers the four JAK inhibitors", async () => {
    const html = await (await fetch(`${sandbox.origin}/cds/order?practitioner=${PRACTITIONER}&cds_patient=${PATIENT}`)).text();
    for (const value of ["upadacitinib-15", "abrocitinib-100", "baricitinib-2", "ruxolitinib-cream-1.5"]) expect(html).toContain(`<option value="${value}"`);
  });

  it("sends the draft MedicationRequest in context.draftOrders and shows the card's suggested order", async () => {
    const { status, html } = await postForm("/cds/order", { practitioner: PRACTITIONER, patient: PATIENT, drug: "upadacitinib-15", prefetch: "1" });
    expect(status).toBe(200);
    const [call] = hookCalls();
    expect(call?.path).toBe(`/cds-services/${CDS_SERVICE_IDS.orderSign}`);
    const body = call?.body as { hook: string; context: { draftOrders: { resourceType: string; entry: Array<{ resource: Record<string, unknown> }> } }; prefetch: Record<string, unknown> };
    expect(body.hook).toBe("order-sign");
    expect(body.context.draftOrders.resourceType).toBe("Bundle");
    expect(body.context.draftOrders.entry[0]?.resource).toMatchObject({
      resourceType: "MedicationRequest",
      status: "draft",
      subject: { reference: `Patient/${PATIENT}` },
      medicationCodeableConcept: { coding: expect.arrayContaining([expect.objectContaining({ code: "L04AF03" })]) },
    });
    expect(Object.keys(body.prefetch)).toEqual(["patient"]);
    expect(html).toContain("Order-sign: Upadacitinib (Rinvoq) 15 mg");
    expect(html).toContain('LOINC <code>71773-6</code>');
    expect(html).toContain('value="suggestion-tb" checked');
  });

  it("refuses a drug the form does not offer without calling the service", async () => {
    const { status, html } = await postForm("/cds/order", { practitioner: PRACTITIONER, patient: PATIENT, drug: "tofacitinib-5" });
    expect(status).toBe(400);
    expect(html).toContain("Choose one of the listed JAK inhibitors");
    expect(hookCalls()).toHaveLength(0);
  });
});

describe("card feedback", () => {
  const feedbackCalls = (): ReceivedCall[] => calls.filter((call) => call.path.endsWith("/feedback"));

  it("posts an accepted card with its accepted suggestions, signed for the feedback endpoint", async () => {
    const { html: chart } = await postForm("/cds/order", { practitioner: PRACTITIONER, patient: PATIENT, drug: "abrocitinib-100", prefetch: "1" });
    const fields = formFields(chart, "/cds/feedback");
    expect(fields).toEqual({ practitioner: PRACTITIONER, patient: PATIENT, service: CDS_SERVICE_IDS.orderSign, card: "card-0001" });
    const { status, html } = await postForm("/cds/feedback", { ...fields, accepted: "suggestion-tb", outcome: "accepted" });
    expect(status).toBe(200);
    expect(html).toContain("Feedback sent to the CDS service: card accepted with 1 suggestion.");
    const [call] = feedbackCalls();
    expect(call?.path).toBe(`/cds-services/${CDS_SERVICE_IDS.orderSign}/feedback`);
    expect(call?.claims?.aud).toBe(`${stubOrigin}/cds-services/${CDS_SERVICE_IDS.orderSign}/feedback`);
    const entry = (call?.body as { feedback: Array<Record<string, unknown>> }).feedback[0];
    expect(entry).toEqual({ card: "card-0001", outcome: "accepted", acceptedSuggestions: [{ id: "suggestion-tb" }], outcomeTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it("posts an overridden card with the chosen reason and the comment", async () => {
    const { html: chart } = await openChart();
    const reason = /<option value="(\{[^"]+\})">Screening done elsewhere<\/option>/.exec(chart)?.[1]?.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
    expect(reason).toBeDefined();
    const fields = formFields(chart, "/cds/feedback");
    const { status, html } = await postForm("/cds/feedback", { ...fields, reason: reason ?? "", comment: "IGRA at the GP last month", outcome: "overridden" });
    expect(status).toBe(200);
    expect(html).toContain("card overridden (Screening done elsewhere)");
    const entry = (feedbackCalls()[0]?.body as { feedback: Array<Record<string, unknown>> }).feedback[0];
    expect(entry).toMatchObject({
      card: "card-0001",
      outcome: "overridden",
      overrideReason: { reason: FIXED_CARD.overrideReasons[0], userComment: "IGRA at the GP last month" },
    });
    expect(entry).not.toHaveProperty("acceptedSuggestions");
  });

  it("says so when the service does not record the feedback", async () => {
    answerStatus = 400;
    const { status, html } = await postForm("/cds/feedback", {
      practitioner: PRACTITIONER,
      patient: PATIENT,
      service: CDS_SERVICE_IDS.patientView,
      card: "card-0001",
      outcome: "accepted",
    });
    expect(status).toBe(502);
    expect(html).toContain("Feedback was not recorded: The CDS service answered 400");
  });
});
