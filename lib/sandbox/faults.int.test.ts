import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type BackendClientKeys, type RunningSandbox } from "./index";
import { requestBackendToken, signClientAssertion } from "./testing/backend-client";

let sandbox: RunningSandbox;
let keys: BackendClientKeys;

beforeAll(async () => {
  keys = await createBackendClientKeys("ES384");
  sandbox = await startSandbox({ port: 0, bulkMinJobMs: 0 });
  sandbox.registerClient({ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks });
});

afterAll(async () => {
  await sandbox.stop();
});

async function systemToken(): Promise<string> {
  const endpoint = `${sandbox.origin}/auth/token`;
  const response = await requestBackendToken(endpoint, await signClientAssertion(BULK_CLIENT_ID, keys.privateJwk, endpoint), "system/*.rs");
  return ((await response.json()) as { access_token: string }).access_token;
}

async function statuses(token: string, count: number): Promise<Response[]> {
  const responses: Response[] = [];
  for (let index = 0; index < count; index++) {
    const response = await fetch(`${sandbox.fhirBase}/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    responses.push(response);
  }
  return responses;
}

describe("fault injection", () => {
  it("is off by default", async () => {
    const token = await systemToken();
    expect((await statuses(token, 20)).every((response) => response.status === 200)).toBe(true);
  });

  it("answers 429 with Retry-After and 503 at the configured rates, the same sequence for the same seed", async () => {
    const token = await systemToken();
    sandbox.setFaults({ rate429: 0.3, rate503: 0.2, retryAfterSeconds: 2, seed: 7 });
    const first = await statuses(token, 200);
    const codes = first.map((response) => response.status);
    const share = (status: number): number => codes.filter((code) => code === status).length / codes.length;
    expect(share(429)).toBeGreaterThan(0.2);
    expect(share(429)).toBeLessThan(0.4);
    expect(share(503)).toBeGreaterThan(0.12);
    expect(share(503)).toBeLessThan(0.28);
    expect(first.find((response) => response.status === 429)?.headers.get("retry-after")).toBe("2");
    sandbox.setFaults({ rate429: 0.3, rate503: 0.2, retryAfterSeconds: 2, seed: 7 });
    const again = (await statuses(token, 200)).map((response) => response.status);
    expect(again).toEqual(codes);
    sandbox.setFaults({});
  });

  it("adds latency", async () => {
    const token = await systemToken();
    sandbox.setFaults({ latencyMs: 150 });
    const started = Date.now();
    await statuses(token, 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    sandbox.setFaults({});
  });

  it("makes tokens expire early while expires_in still advertises the normal lifetime", async () => {
    sandbox.setFaults({ tokenLifetimeSeconds: 0 });
    const endpoint = `${sandbox.origin}/auth/token`;
    const response = await requestBackendToken(endpoint, await signClientAssertion(BULK_CLIENT_ID, keys.privateJwk, endpoint), "system/*.rs");
    const body = (await response.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(300);
    const read = await fetch(`${sandbox.fhirBase}/Patient`, { headers: { authorization: `Bearer ${body.access_token}` } });
    expect(read.status).toBe(401);
    sandbox.setFaults({});
  });

  it("truncates NDJSON downloads mid-line", async () => {
    const token = await systemToken();
    const kickOff = await fetch(`${sandbox.fhirBase}/$export?_type=Observation`, { headers: { authorization: `Bearer ${token}`, prefer: "respond-async" } });
    const statusUrl = kickOff.headers.get("content-location") ?? "";
    let manifest: { output: { url: string }[] } | undefined;
    for (let attempt = 0; attempt < 40 && !manifest; attempt++) {
      const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
      if (status.status === 200) manifest = (await status.json()) as { output: { url: string }[] };
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const fileUrl = manifest?.output[0]?.url ?? "";
    const whole = await (await fetch(fileUrl, { headers: { authorization: `Bearer ${token}` } })).text();
    sandbox.setFaults({ truncateNdjsonRate: 1 });
    const cut = await (await fetch(fileUrl, { headers: { authorization: `Bearer ${token}` } })).text();
    sandbox.setFaults({});
    expect(cut.length).toBeLessThan(whole.length);
    expect(whole.startsWith(cut)).toBe(true);
    const lastLine = cut.split("\n").pop() ?? "";
    expect(() => JSON.parse(lastLine)).toThrow();
  });

  it("can be set at run time through the loopback-only admin endpoint", async () => {
    const token = await systemToken();
    const set = await fetch(`${sandbox.origin}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rate503: 1 }) });
    expect(set.status).toBe(200);
    expect((await statuses(token, 3)).map((response) => response.status)).toEqual([503, 503, 503]);
    const bad = await fetch(`${sandbox.origin}/admin/faults`, { method: "POST", body: JSON.stringify({ rate503: "lots" }) });
    expect(bad.status).toBe(400);
    await fetch(`${sandbox.origin}/admin/faults`, { method: "POST", body: "{}" });
    expect((await statuses(token, 3)).map((response) => response.status)).toEqual([200, 200, 200]);
  });
});
