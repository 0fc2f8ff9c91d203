import { describe, expect, it } from "vitest";
import { CDS_SERVICES, discoveryResponse, findCdsService } from "./discovery";
import { feedbackRequestSchema } from "./feedback";
import { CDS_CORS_HEADERS, cdsPreflight, handleCdsDiscovery, hookRequestSchema, readCdsBody } from "./service";

const HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";

function patientView(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: "patient-view",
    hookInstance: HOOK_INSTANCE,
    context: { userId: "Practitioner/dr-1", patientId: "patient-1" },
    ...overrides,
  };
}

const draftOrders = {
  resourceType: "Bundle",
  entry: [{ resource: { resourceType: "MedicationRequest", id: "draft-1", status: "draft" } }],
};

const messages = (result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }): string[] =>
  (result.error?.issues ?? []).map((i) => `${i.path.map(String).join(".")} ${i.message}`);

describe("hook request schema", () => {
  it("accepts a patient-view call with prefetch and the client's FHIR authorisation", () => {
    const result = hookRequestSchema("patient-view").safeParse(
      patientView({
        fhirServer: "https://ehr.example.org/fhir",
        fhirAuthorization: { access_token: "t", token_type: "Bearer", expires_in: 300, scope: "patient/*.rs", subject: "cds-service" },
        prefetch: { patient: { resourceType: "Patient", id: "patient-1" }, observations: null },
      }),
    );
    expect(result.success).toBe(true);
  });

  it("rejects a hookInstance that is not a UUID", () => {
    expect(messages(hookRequestSchema("patient-view").safeParse(patientView({ hookInstance: "42" })))).toEqual(["hookInstance is not a UUID"]);
  });

  it("rejects a call for another hook than the service's", () => {
    expect(messages(hookRequestSchema("patient-view").safeParse(patientView({ hook: "order-sign" })))).toEqual(['hook is "order-sign", but this service answers "patient-view"']);
  });

  it("rejects a context without a patient id or with a userId that is not a user reference", () => {
    const result = hookRequestSchema("patient-view").safeParse(patientView({ context: { userId: "dr-1" } }));
    expect(messages(result)).toEqual(expect.arrayContaining([expect.stringMatching(/^context.userId is not a reference/), expect.stringMatching(/^context.patientId/)]));
  });

  it("rejects fhirAuthorization without fhirServer, and a token type other than Bearer", () => {
    const result = hookRequestSchema("patient-view").safeParse(
      patientView({ fhirAuthorization: { access_token: "t", token_type: "MAC", expires_in: 300, scope: "s", subject: "x" } }),
    );
    expect(messages(result)).toEqual(expect.arrayContaining(['fhirAuthorization.token_type must be "Bearer"', "fhirServer is required with fhirAuthorization"]));
  });

  it("rejects a prefetch value that is not a resource", () => {
    expect(messages(hookRequestSchema("patient-view").safeParse(patientView({ prefetch: { patient: "Patient/1" } })))[0]).toMatch(/^prefetch.patient/);
  });

  it("requires draftOrders as a Bundle for order-sign", () => {
    const schema = hookRequestSchema("order-sign");
    const context = { userId: "Practitioner/dr-1", patientId: "patient-1" };
    expect(messages(schema.safeParse({ hook: "order-sign", hookInstance: HOOK_INSTANCE, context }))[0]).toMatch(/^context.draftOrders/);
    expect(messages(schema.safeParse({ hook: "order-sign", hookInstance: HOOK_INSTANCE, context: { ...context, draftOrders: { resourceType: "List" } } }))[0]).toMatch(
      /^context.draftOrders.resourceType must be a Bundle/,
    );
    expect(schema.safeParse({ hook: "order-sign", hookInstance: HOOK_INSTANCE, context: { ...context, draftOrders } }).success).toBe(true);
  });

  it("requires selections for order-select", () => {
    const schema = hookRequestSchema("order-select");
    const context = { userId: "Practitioner/dr-1", patientId: "patient-1", draftOrders };
    expect(messages(schema.safeParse({ hook: "order-select", hookInstance: HOOK_INSTANCE, context }))[0]).toMatch(/^context.selections/);
    expect(schema.safeParse({ hook: "order-select", hookInstance: HOOK_INSTANCE, context: { ...context, selections: ["MedicationRequest/draft-1"] } }).success).toBe(true);
  });
});

describe("feedback schema", () => {
  const entry = { card: "0a8b1c2d-0000-4000-8000-000000000001", outcome: "overridden", outcomeTimestamp: "2026-11-01T10:00:00Z" };

  it("accepts an override with a coded reason and a comment", () => {
    const result = feedbackRequestSchema.safeParse({ feedback: [{ ...entry, overrideReason: { reason: { code: "patient-declined", system: "urn:x" }, userComment: "free text" } }] });
    expect(result.success).toBe(true);
  });

  it("accepts an acceptance with the suggestions taken", () => {
    expect(feedbackRequestSchema.safeParse({ feedback: [{ ...entry, outcome: "accepted", acceptedSuggestions: [{ id: "s-1" }] }] }).success).toBe(true);
  });

  it("rejects an override reason on an accepted card and accepted suggestions on an overridden one", () => {
    expect(messages(feedbackRequestSchema.safeParse({ feedback: [{ ...entry, outcome: "accepted", overrideReason: { reason: { code: "x" } } }] }))).toEqual([
      "feedback.0.overrideReason is only for overridden cards",
    ]);
    expect(messages(feedbackRequestSchema.safeParse({ feedback: [{ ...entry, acceptedSuggestions: [{ id: "s-1" }] }] }))).toEqual([
      "feedback.0.acceptedSuggestions is only for accepted cards",
    ]);
  });

  it("rejects an unknown outcome, a missing timestamp and an empty list", () => {
    expect(messages(feedbackRequestSchema.safeParse({ feedback: [{ ...entry, outcome: "ignored" }] }))).toEqual(['feedback.0.outcome must be "accepted" or "overridden"']);
    expect(messages(feedbackRequestSchema.safeParse({ feedback: [{ card: entry.card, outcome: "accepted" }] }))[0]).toMatch(/^feedback.0.outcomeTimestamp/);
    expect(messages(feedbackRequestSchema.safeParse({ feedback: [] }))).toEqual(["feedback must hold at least one entry"]);
  });
});

describe("readCdsBody", () => {
  const post = (body: string, type: string | null = "application/json") =>
    new Request("http://app.test/cds-services/x", { method: "POST", body, headers: type ? { "content-type": type } : {} });
  const schema = hookRequestSchema("patient-view");

  it("answers 400 with a reason for a body that is not JSON", async () => {
    const result = await readCdsBody(post("{not json"), schema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.response.status).toBe(400);
    expect(await result.response.json()).toEqual({ error: "bad-request", message: "The request body is not valid JSON." });
  });

  it("answers 400 for an empty body", async () => {
    const result = await readCdsBody(post(""), schema);
    expect(!result.ok && result.response.status).toBe(400);
  });

  it("answers 400 listing each invalid field", async () => {
    const result = await readCdsBody(post(JSON.stringify(patientView({ hookInstance: "x" }))), schema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const body = (await result.response.json()) as { message: string; issues: unknown[] };
    expect(body.message).toBe("The request is not valid: hookInstance is not a UUID.");
    expect(body.issues).toEqual([{ path: "hookInstance", message: "is not a UUID" }]);
  });

  it("answers 415 for a body sent as something other than JSON", async () => {
    const result = await readCdsBody(post("a=b", "application/x-www-form-urlencoded"), schema);
    expect(!result.ok && result.response.status).toBe(415);
  });

  it("reads a valid body", async () => {
    const result = await readCdsBody(post(JSON.stringify(patientView()), "application/json; charset=utf-8"), schema);
    expect(result.ok).toBe(true);
  });
});

describe("discovery", () => {
  it("lists the patient-view, order-sign and order-select services with the same prefetch templates", () => {
    const { services } = discoveryResponse();
    expect(services.map((s) => [s.id, s.hook])).toEqual([
      ["jak-monitor-patient-view", "patient-view"],
      ["jak-monitor-order-sign", "order-sign"],
      ["jak-monitor-order-select", "order-select"],
    ]);
    for (const service of services) {
      expect(service.title.length).toBeGreaterThan(0);
      expect(service.description.length).toBeGreaterThan(0);
      expect(service.prefetch).toMatchObject({
        patient: "Patient/{{context.patientId}}",
        observations: "Observation?patient={{context.patientId}}",
        medicationRequests: "MedicationRequest?patient={{context.patientId}}",
        medicationStatements: "MedicationStatement?patient={{context.patientId}}",
        medicationDispenses: "MedicationDispense?patient={{context.patientId}}",
        immunizations: "Immunization?patient={{context.patientId}}",
        conditions: "Condition?patient={{context.patientId}}",
      });
    }
  });

  it("finds a service by id and nothing for an unknown id", () => {
    expect(findCdsService("jak-monitor-order-sign")?.hook).toBe("order-sign");
    expect(findCdsService("nope")).toBeUndefined();
    expect(CDS_SERVICES).toHaveLength(3);
  });

  it("answers discovery and preflight with the CORS headers browsers need", async () => {
    const response = handleCdsDiscovery();
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect((await response.json()).services).toHaveLength(3);
    const preflight = cdsPreflight();
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toBe(CDS_CORS_HEADERS["access-control-allow-headers"]);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
  });
});
