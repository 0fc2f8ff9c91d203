import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BulkClient, BulkExportError, parseProgress, TruncatedNdjsonError, type AccessTokenSource, type ExportProgress } from "./bulk-client";
import { outcome, sendJson, startLocalTestServer, type LocalTestServer, type RecordedRequest } from "./local-test-server";

let server: LocalTestServer;
let fhirBase: string;
const sleeps: number[] = [];
const fakeSleep = async (ms: number): Promise<void> => void sleeps.push(ms);

beforeAll(async () => {
  server = await startLocalTestServer();
  fhirBase = `${server.origin}/fhir`;
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.requests.length = 0;
  sleeps.length = 0;
});

/** Hands out t1, t2, ...: invalidating the current token moves to the next. */
function fakeAuth(): AccessTokenSource & { invalidated: string[] } {
  let generation = 1;
  const invalidated: string[] = [];
  return {
    invalidated,
    token: async () => `t${generation}`,
    invalidate: (token: string) => {
      invalidated.push(token);
      if (token === `t${generation}`) generation++;
    },
  };
}

function client(auth: AccessTokenSource = fakeAuth(), extra: { maxRetries?: number; maxRetryAfterSeconds?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> } = {}): BulkClient {
  return new BulkClient({ fhirBase, auth, sleep: fakeSleep, ...extra });
}

const authorizations = (): Array<string | undefined> => server.requests.map((request) => request.headers.authorization);

function manifestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transactionTime: "2026-11-23T10:00:00.000Z",
    request: `${fhirBase}/Group/jak-panel/$export`,
    requiresAccessToken: true,
    output: [
      { type: "Patient", url: `${server.origin}/files/Patient-1.ndjson`, count: 2 },
      { type: "Observation", url: "/files/Observation-1.ndjson" },
    ],
    error: [],
    ...overrides,
  };
}

/** Answers the given responses in order, one per request (the last one repeats). */
function sequence(...responses: Array<(res: ServerResponse, request: RecordedRequest) => void>): void {
  let index = 0;
  server.handle((request, res) => {
    const respond = responses[Math.min(index, responses.length - 1)];
    index++;
    respond?.(res, request);
  });
}

const accepted = (headers: Record<string, string> = {}) => (res: ServerResponse) => {
  res.writeHead(202, headers);
  res.end();
};
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (res: ServerResponse) => sendJson(res, status, body, headers);
const ndjson = (text: string) => (res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/fhir+ndjson" });
  res.end(text);
};

async function collect(lines: AsyncIterable<string>): Promise<{ lines: string[]; error?: unknown }> {
  const seen: string[] = [];
  try {
    for await (const line of lines) seen.push(line);
    return { lines: seen };
  } catch (error) {
    return { lines: seen, error };
  }
}

describe("parseProgress", () => {
  it("keeps the X-Progress text and reads a percentage from it", () => {
    expect(parseProgress("in-progress 40% (2/5 types)")).toEqual({ text: "in-progress 40% (2/5 types)", percent: 40 });
    expect(parseProgress("Exporting Observation")).toEqual({ text: "Exporting Observation", percent: null });
    expect(parseProgress(null)).toEqual({ text: null, percent: null });
    expect(parseProgress("  ")).toEqual({ text: null, percent: null });
  });
});

describe("BulkClient.kickOff", () => {
  it("kicks off a group export with _type, _since, _typeFilter and NDJSON, asynchronously, with the token", async () => {
    sequence(accepted({ "content-location": "/bulk/status/job-1" }));
    const { statusUrl } = await client().kickOff({
      level: { kind: "group", groupId: "jak-panel" },
      types: ["Patient", "Observation"],
      since: "2026-11-01T00:00:00.000Z",
      typeFilter: ["Observation?category=laboratory", "MedicationRequest?status=active&intent=order"],
    });
    expect(statusUrl).toBe(`${server.origin}/bulk/status/job-1`);
    const [request] = server.requests;
    expect(request?.method).toBe("GET");
    expect(request?.url.pathname).toBe("/fhir/Group/jak-panel/$export");
    expect(request?.url.searchParams.get("_type")).toBe("Patient,Observation");
    expect(request?.url.searchParams.get("_since")).toBe("2026-11-01T00:00:00.000Z");
    expect(request?.url.searchParams.get("_outputFormat")).toBe("application/fhir+ndjson");
    expect(request?.url.searchParams.getAll("_typeFilter")).toEqual(["Observation?category=laboratory", "MedicationRequest?status=active&intent=order"]);
    expect(request?.headers).toMatchObject({ prefer: "respond-async", accept: "application/fhir+json", authorization: "Bearer t1" });
  });

  it("kicks off system and patient level exports at their endpoints", async () => {
    sequence(accepted({ "content-location": `${server.origin}/bulk/status/x` }));
    await client().kickOff({ level: { kind: "system" }, types: [] });
    await client().kickOff({ level: { kind: "patient" }, types: ["Patient"] });
    expect(server.requests.map((request) => request.url.pathname)).toEqual(["/fhir/$export", "/fhir/Patient/$export"]);
    expect(server.requests[0]?.url.searchParams.has("_type")).toBe(false);
  });

  it("waits out 429 and 503 honouring Retry-After, then starts", async () => {
    sequence(json(429, outcome("slow down", "throttled"), { "retry-after": "2" }), json(503, outcome("busy", "transient"), { "retry-after": "1" }), accepted({ "content-location": "/bulk/status/2" }));
    await client().kickOff({ level: { kind: "system" }, types: ["Patient"] });
    expect(sleeps).toEqual([2000, 1000]);
    expect(server.requests).toHaveLength(3);
  });

  it("after a 401 invalidates the token and retries once with a new one", async () => {
    const auth = fakeAuth();
    sequence(json(401, outcome("expired", "login")), accepted({ "content-location": "/bulk/status/3" }));
    await client(auth).kickOff({ level: { kind: "system" }, types: ["Patient"] });
    expect(auth.invalidated).toEqual(["t1"]);
    expect(authorizations()).toEqual(["Bearer t1", "Bearer t2"]);
  });

  it("turns a refusal into a BulkExportError with the OperationOutcome's diagnostics and a hint", async () => {
    sequence(json(400, outcome("Unknown resource type(s) in _type: Gizmo", "invalid")));
    const error = (await client().kickOff({ level: { kind: "system" }, types: ["Gizmo"] }).catch((caught: unknown) => caught)) as BulkExportError;
    expect(error).toBeInstanceOf(BulkExportError);
    expect(error.status).toBe(400);
    expect(error.message).toContain("Unknown resource type(s) in _type: Gizmo");
    expect(error.outcome?.resourceType).toBe("OperationOutcome");
    expect(error.hint).toMatch(/resource types/);
    expect(error.retryable).toBe(false);
  });

  it("an unknown group names the group id to check; missing scopes name the scopes to grant", async () => {
    sequence(json(404, outcome("Group/nope not found", "not-found")));
    const missing = (await client().kickOff({ level: { kind: "group", groupId: "nope" }, types: [] }).catch((caught: unknown) => caught)) as BulkExportError;
    expect(missing.hint).toContain("Group nope");
    sequence(json(403, outcome("The granted scopes do not allow exporting Observation", "forbidden")));
    const forbidden = (await client().kickOff({ level: { kind: "system" }, types: ["Observation"] }).catch((caught: unknown) => caught)) as BulkExportError;
    expect(forbidden.hint).toMatch(/system\/<type>\.rs/);
  });

  it("gives up on a server that stays unavailable, as a retryable error", async () => {
    sequence(json(503, outcome("down"), { "retry-after": "1" }));
    const error = (await client(fakeAuth(), { maxRetries: 2 }).kickOff({ level: { kind: "system" }, types: [] }).catch((caught: unknown) => caught)) as BulkExportError;
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect(server.requests).toHaveLength(3);
  });

  it("refuses a status URL on another origin (the token would go there)", async () => {
    sequence(accepted({ "content-location": "http://elsewhere.example/status/1" }));
    await expect(client().kickOff({ level: { kind: "system" }, types: [] })).rejects.toThrow(/not sent there/);
  });
});

describe("BulkClient.waitForManifest", () => {
  it("polls honouring Retry-After (seconds, HTTP date, default back-off), 429 and 503, and reports X-Progress", async () => {
    const inFiveSeconds = new Date(Date.now() + 5000).toUTCString();
    sequence(
      accepted({ "x-progress": "in-progress 20% (1/5 types)", "retry-after": "3" }),
      accepted({ "x-progress": "Exporting Observation", "retry-after": inFiveSeconds }),
      accepted(),
      json(429, outcome("too many polls", "throttled"), { "retry-after": "1" }),
      json(503, outcome("busy", "transient"), { "retry-after": "2" }),
      json(200, manifestBody()),
    );
    const progress: ExportProgress[] = [];
    const manifest = await client().waitForManifest(`${server.origin}/bulk/status/1`, { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([
      { text: "in-progress 20% (1/5 types)", percent: 20 },
      { text: "Exporting Observation", percent: null },
      { text: null, percent: null },
    ]);
    expect(sleeps[0]).toBe(3000);
    expect(sleeps[1]).toBeGreaterThan(2000);
    expect(sleeps[1]).toBeLessThanOrEqual(5000);
    expect(sleeps[2]).toBeGreaterThanOrEqual(1000);
    expect(sleeps[2]).toBeLessThanOrEqual(4000);
    expect(sleeps.slice(3)).toEqual([1000, 2000]);
    expect(manifest.transactionTime).toBe("2026-11-23T10:00:00.000Z");
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.output).toEqual([
      { type: "Patient", url: `${server.origin}/files/Patient-1.ndjson`, count: 2 },
      { type: "Observation", url: `${server.origin}/files/Observation-1.ndjson` },
    ]);
    expect(manifest.error).toEqual([]);
    expect(authorizations().every((value) => value === "Bearer t1")).toBe(true);
  });

  it("caps a long Retry-After", async () => {
    sequence(accepted({ "retry-after": "86400" }), json(200, manifestBody()));
    await client(fakeAuth(), { maxRetryAfterSeconds: 10 }).waitForManifest(`${server.origin}/bulk/status/1`);
    expect(sleeps).toEqual([10_000]);
  });

  it("renews the token after a 401 and keeps polling; a second 401 in a row is an error", async () => {
    const auth = fakeAuth();
    sequence(accepted({ "retry-after": "1" }), json(401, outcome("expired")), json(200, manifestBody()));
    await client(auth).waitForManifest(`${server.origin}/bulk/status/1`);
    expect(auth.invalidated).toEqual(["t1"]);
    expect(authorizations()).toEqual(["Bearer t1", "Bearer t1", "Bearer t2"]);

    sequence(json(401, outcome("no")));
    const error = (await client().waitForManifest(`${server.origin}/bulk/status/1`).catch((caught: unknown) => caught)) as BulkExportError;
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/registration/);
  });

  it("rejects a manifest that is not Bulk Data 2.0", async () => {
    for (const bad of [manifestBody({ transactionTime: undefined }), manifestBody({ output: "Patient.ndjson" }), manifestBody({ requiresAccessToken: "yes" }), manifestBody({ output: [{ type: "Patient" }] })]) {
      sequence(json(200, bad));
      const error = (await client().waitForManifest(`${server.origin}/bulk/status/1`).catch((caught: unknown) => caught)) as BulkExportError;
      expect(error).toBeInstanceOf(BulkExportError);
      expect(error.message).toMatch(/not Bulk Data 2\.0/);
      expect(error.retryable).toBe(false);
    }
  });

  it("keeps the error and deleted file lists", async () => {
    sequence(json(200, manifestBody({ error: [{ type: "OperationOutcome", url: "/files/err.ndjson" }], deleted: [{ type: "Bundle", url: "/files/del.ndjson" }] })));
    const manifest = await client().waitForManifest(`${server.origin}/bulk/status/1`);
    expect(manifest.error).toEqual([{ type: "OperationOutcome", url: `${server.origin}/files/err.ndjson` }]);
    expect(manifest.deleted).toEqual([{ type: "Bundle", url: `${server.origin}/files/del.ndjson` }]);
  });

  it("reports a failed export with its diagnostics, and a job that is gone as retryable with a new sync", async () => {
    sequence(json(500, outcome("export failed: out of disk", "exception")));
    const failed = (await client().waitForManifest(`${server.origin}/bulk/status/1`).catch((caught: unknown) => caught)) as BulkExportError;
    expect(failed.message).toContain("out of disk");
    sequence(json(404, outcome("Unknown or deleted export job", "not-found")));
    const gone = (await client().waitForManifest(`${server.origin}/bulk/status/1`).catch((caught: unknown) => caught)) as BulkExportError;
    expect(gone.status).toBe(404);
    expect(gone.retryable).toBe(true);
    expect(gone.hint).toMatch(/start a new sync/);
  });

  it("stops waiting when the caller aborts", async () => {
    sequence(accepted({ "retry-after": "600" }));
    const controller = new AbortController();
    const bulk = new BulkClient({ fhirBase, auth: fakeAuth() });
    const waiting = bulk.waitForManifest(`${server.origin}/bulk/status/1`, { signal: controller.signal, onProgress: () => controller.abort(new Error("cancelled by the user")) });
    await expect(waiting).rejects.toThrow("cancelled by the user");
    expect(server.requests).toHaveLength(1);
  });
});

describe("BulkClient.cancel", () => {
  it("sends DELETE to the status URL with the token; an export already gone is fine", async () => {
    sequence(json(202, outcome("cancelled", "informational")), json(404, outcome("gone", "not-found")));
    await client().cancel(`${server.origin}/bulk/status/9`);
    await client().cancel(`${server.origin}/bulk/status/9`);
    expect(server.requests.map((request) => [request.method, request.url.pathname, request.headers.authorization])).toEqual([
      ["DELETE", "/bulk/status/9", "Bearer t1"],
      ["DELETE", "/bulk/status/9", "Bearer t1"],
    ]);
  });

  it("reports a refused cancel", async () => {
    sequence(json(400, outcome("cannot cancel", "invalid")));
    await expect(client().cancel(`${server.origin}/bulk/status/9`)).rejects.toBeInstanceOf(BulkExportError);
  });
});

describe("BulkClient.lines", () => {
  const fileUrl = (): string => `${server.origin}/files/Observation-1.ndjson`;

  it("yields each line without newline, CR or blank lines; a last line without newline that is JSON counts", async () => {
    sequence(ndjson('{"id":"a"}\r\n\n{"id":"b"}\n   \n{"id":"c"}'));
    const { lines, error } = await collect(client().lines(fileUrl(), { requiresAccessToken: true }));
    expect(error).toBeUndefined();
    expect(lines).toEqual(['{"id":"a"}', '{"id":"b"}', '{"id":"c"}']);
    expect(server.requests[0]?.headers).toMatchObject({ authorization: "Bearer t1", accept: "application/fhir+ndjson" });
  });

  it("sends Authorization only when the manifest requires an access token", async () => {
    sequence(ndjson('{"id":"a"}\n'));
    await collect(client().lines(fileUrl(), { requiresAccessToken: false }));
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("detects a file cut in the middle of its last line", async () => {
    sequence(ndjson('{"id":"a"}\n{"id":"b"}\n{"id":"c","sta'));
    const { lines, error } = await collect(client().lines(fileUrl(), { requiresAccessToken: true }));
    expect(lines).toEqual(['{"id":"a"}', '{"id":"b"}']);
    expect(error).toBeInstanceOf(TruncatedNdjsonError);
    expect((error as TruncatedNdjsonError).linesRead).toBe(2);
  });

  it("after a 401 invalidates the token and retries once", async () => {
    const auth = fakeAuth();
    sequence(json(401, outcome("expired")), ndjson('{"id":"a"}\n'));
    const { lines } = await collect(client(auth).lines(fileUrl(), { requiresAccessToken: true }));
    expect(lines).toEqual(['{"id":"a"}']);
    expect(auth.invalidated).toEqual(["t1"]);
    expect(authorizations()).toEqual(["Bearer t1", "Bearer t2"]);
  });

  it("retries 429 and 503 before the first byte, honouring Retry-After", async () => {
    sequence(json(429, outcome("slow"), { "retry-after": "1" }), json(503, outcome("busy"), { "retry-after": "3" }), ndjson('{"id":"a"}\n{"id":"b"}\n'));
    const { lines } = await collect(client().lines(fileUrl(), { requiresAccessToken: true }));
    expect(lines).toHaveLength(2);
    expect(sleeps).toEqual([1000, 3000]);
  });

  it("an expired file is a retryable error that says to start a new sync", async () => {
    sequence(json(404, outcome("Unknown export file", "not-found")));
    const { error } = await collect(client().lines(fileUrl(), { requiresAccessToken: true }));
    expect(error).toBeInstanceOf(BulkExportError);
    expect((error as BulkExportError).retryable).toBe(true);
    expect((error as BulkExportError).hint).toMatch(/new sync/);
  });

  it("streams: the first line arrives before the server has sent the rest, and UTF-8 split across chunks decodes", async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.handle(async (_request, res) => {
      res.writeHead(200, { "content-type": "application/fhir+ndjson" });
      res.write('{"id":"first"}\n');
      // The rest is only sent after the client has handed out the first line: a buffering client would wait forever.
      await released;
      const rest = Buffer.from('{"name":"Zoë"}\n', "utf8");
      const split = rest.indexOf(0xc3) + 1;
      res.write(rest.subarray(0, split));
      await new Promise((resolve) => setImmediate(resolve));
      res.end(rest.subarray(split));
    });
    const iterator = client().lines(fileUrl(), { requiresAccessToken: true })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe('{"id":"first"}');
    release();
    expect((await iterator.next()).value).toBe('{"name":"Zoë"}');
    expect((await iterator.next()).done).toBe(true);
  });

  it("releases the connection when the caller stops early", async () => {
    let closed: () => void = () => undefined;
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    server.handle((_request, res) => {
      res.on("close", () => closed());
      res.writeHead(200, { "content-type": "application/fhir+ndjson" });
      res.write('{"id":"a"}\n{"id":"b"}\n');
    });
    for await (const line of client().lines(fileUrl(), { requiresAccessToken: true })) {
      expect(line).toBe('{"id":"a"}');
      break;
    }
    await connectionClosed;
  });

  it("a connection broken mid-file is a retryable error, not a silent end", async () => {
    server.handle((_request, res) => {
      res.writeHead(200, { "content-type": "application/fhir+ndjson" });
      res.write('{"id":"a"}\n{"id":"b"', () => res.destroy());
    });
    const { error } = await collect(client().lines(fileUrl(), { requiresAccessToken: true }));
    expect(error).toBeInstanceOf(BulkExportError);
    expect((error as BulkExportError).retryable).toBe(true);
  });

  it("does not send the token to a file on another origin", async () => {
    const { error } = await collect(client().lines(fileUrl().replace("127.0.0.1", "localhost"), { requiresAccessToken: true }));
    expect(error).toBeInstanceOf(BulkExportError);
    expect(server.requests).toHaveLength(0);
  });
});
