import { describe, expect, it } from "vitest";
import { FhirHttpError, FhirRequester, parseRetryAfter } from "./requester";

type Handler = (url: URL, init?: RequestInit) => Response | Promise<Response>;
const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/fhir+json", ...headers } });

function fakeFetch(handler: Handler): typeof fetch & { calls: Array<{ url: string; auth: string | null }> } {
  const calls: Array<{ url: string; auth: string | null }> = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push({ url: url.href, auth: new Headers(init?.headers).get("authorization") });
    return handler(url, init);
  }) as typeof fetch & { calls: typeof calls };
  f.calls = calls;
  return f;
}

const sleeps: number[] = [];
const base = { baseUrl: "http://fhir.test/r4", accessToken: "tok", sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5 };

describe("parseRetryAfter", () => {
  it("reads delta seconds and HTTP dates", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter("0.5")).toBe(500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:03 GMT", now)).toBe(3000);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe("FhirRequester", () => {
  it("sends the bearer token and FHIR accept header, counts requests and bytes", async () => {
    const f = fakeFetch(() => json({ resourceType: "Patient", id: "p1" }));
    const r = new FhirRequester({ ...base, fetch: f });
    const p = await r.get<{ id: string }>("Patient/p1");
    expect(p.id).toBe("p1");
    expect(f.calls[0]).toEqual({ url: "http://fhir.test/r4/Patient/p1", auth: "Bearer tok" });
    expect(r.stats.requests).toBe(1);
    expect(r.stats.bytes).toBe(JSON.stringify({ resourceType: "Patient", id: "p1" }).length);
  });

  it("retries 429 honouring Retry-After, then succeeds", async () => {
    sleeps.length = 0;
    let n = 0;
    const f = fakeFetch(() => (n++ < 2 ? json({}, 429, { "retry-after": "1" }) : json({ resourceType: "Patient", id: "p" })));
    const r = new FhirRequester({ ...base, fetch: f });
    await r.get("Patient/p");
    expect(r.stats.requests).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it("backs off exponentially on 503 without Retry-After and gives up with a typed error", async () => {
    sleeps.length = 0;
    const outcome = { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "transient", diagnostics: "down for maintenance" }] };
    const f = fakeFetch(() => json(outcome, 503));
    const r = new FhirRequester({ ...base, fetch: f, maxRetries: 3, baseDelayMs: 100 });
    const err = await r.get("Patient/p").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirHttpError);
    expect((err as FhirHttpError).status).toBe(503);
    expect((err as FhirHttpError).message).toBe("down for maintenance");
    expect((err as FhirHttpError).outcome?.issue?.[0]?.code).toBe("transient");
    expect(r.stats.requests).toBe(4);
    expect(sleeps).toEqual([75, 150, 300]);
  });

  it("does not wait for a Retry-After beyond the cap", async () => {
    sleeps.length = 0;
    const f = fakeFetch(() => json({}, 429, { "retry-after": "3600" }));
    const r = new FhirRequester({ ...base, fetch: f, maxRetryAfterMs: 5000 });
    await expect(r.get("Patient/p")).rejects.toMatchObject({ status: 429 });
    expect(r.stats.requests).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("does not retry other errors", async () => {
    const f = fakeFetch(() => json({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "forbidden" }] }, 403));
    const r = new FhirRequester({ ...base, fetch: f });
    await expect(r.get("Patient/p")).rejects.toMatchObject({ status: 403, message: "forbidden" });
    expect(r.stats.requests).toBe(1);
  });

  it("follows next links and collects every page", async () => {
    const f = fakeFetch((url) => {
      const page = Number(url.searchParams.get("page") ?? "1");
      return json({
        resourceType: "Bundle",
        type: "searchset",
        entry: [{ resource: { resourceType: "Observation", id: `o${page}` } }],
        link: page < 3 ? [{ relation: "next", url: `http://fhir.test/r4/Observation?page=${page + 1}` }] : [],
      });
    });
    const r = new FhirRequester({ ...base, fetch: f });
    const { resources, pages } = await r.searchAll("Observation?patient=p");
    expect(pages).toBe(3);
    expect(resources.map((x) => x.id)).toEqual(["o1", "o2", "o3"]);
  });

  it("refuses a next link to another origin (the token stays with the server)", async () => {
    const f = fakeFetch(() => json({ resourceType: "Bundle", type: "searchset", link: [{ relation: "next", url: "http://evil.test/steal" }] }));
    const r = new FhirRequester({ ...base, fetch: f });
    await expect(r.searchAll("Observation?patient=p")).rejects.toThrow(/another origin/);
    expect(f.calls.every((c) => c.url.startsWith("http://fhir.test/"))).toBe(true);
  });
});
