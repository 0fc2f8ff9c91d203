import { describe, expect, it } from "vitest";
import { FhirHttpError, FhirRequester } from "./requester";

const body = { resourceType: "Observation", status: "final", code: { text: "x" } } as const;

function requesterWith(responses: (() => Response | Promise<Response>)[]): { requester: FhirRequester; calls: () => number } {
  let calls = 0;
  const fetchStub: typeof fetch = async () => {
    const next = responses[calls++];
    if (!next) throw new Error("no more responses");
    return next();
  };
  return { requester: new FhirRequester({ baseUrl: "https://ehr.test/fhir", fetch: fetchStub, sleep: async () => undefined, random: () => 0 }), calls: () => calls };
}

describe("FhirRequester.post", () => {
  it("retries a 429 (nothing was created) and returns the created resource", async () => {
    const { requester, calls } = requesterWith([
      () => new Response("", { status: 429, headers: { "retry-after": "0" } }),
      () => new Response(JSON.stringify({ ...body, id: "1" }), { status: 201 }),
    ]);
    const result = await requester.post("Observation", body);
    expect(result.status).toBe(201);
    expect((result.body as { id?: string }).id).toBe("1");
    expect(calls()).toBe(2);
  });

  it("does not repeat a create after a 503 or a network error", async () => {
    const failing = requesterWith([() => new Response("", { status: 503 }), () => new Response("{}", { status: 201 })]);
    await expect(failing.requester.post("Observation", body)).rejects.toMatchObject({ status: 503 });
    expect(failing.calls()).toBe(1);
    const network = requesterWith([() => Promise.reject(new TypeError("fetch failed"))]);
    await expect(network.requester.post("Observation", body)).rejects.toBeInstanceOf(FhirHttpError);
    expect(network.calls()).toBe(1);
  });

  it("carries the OperationOutcome of a refusal", async () => {
    const outcome = { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "forbidden", diagnostics: "not allowed" }] };
    const { requester } = requesterWith([() => new Response(JSON.stringify(outcome), { status: 403 })]);
    const error = await requester.post("Observation", body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirHttpError);
    expect((error as FhirHttpError).status).toBe(403);
    expect((error as FhirHttpError).message).toBe("not allowed");
  });
});
