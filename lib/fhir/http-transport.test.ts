import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeHttpTransport } from "./http-transport";

let server: http.Server;
let other: http.Server;
let base = "";
let otherBase = "";
const seen: Array<{ url: string; authorization: string | undefined }> = [];

function listen(s: http.Server): Promise<string> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    if (req.url === "/gzip") {
      const body = gzipSync(JSON.stringify({ resourceType: "Patient", id: "ü" }));
      res.writeHead(200, { "content-type": "application/fhir+json", "content-encoding": "gzip" }).end(body);
    } else if (req.url === "/moved") res.writeHead(302, { location: "/gzip" }).end();
    else if (req.url === "/elsewhere") res.writeHead(302, { location: `${otherBase}/gzip` }).end();
    else if (req.url === "/slow") setTimeout(() => res.writeHead(200).end("{}"), 2000);
    else if (req.url === "/post" && req.method === "POST") {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => res.writeHead(201, { location: "Observation/1", "retry-after": "3" }).end(body));
    } else res.writeHead(404).end();
  });
  other = http.createServer((req, res) => {
    seen.push({ url: `other${req.url ?? ""}`, authorization: req.headers.authorization });
    res.writeHead(200).end("{}");
  });
  [base, otherBase] = await Promise.all([listen(server), listen(other)]);
});

afterAll(async () => {
  await Promise.all([server, other].map((s) => new Promise((resolve) => s.close(resolve))));
});

const get = { method: "GET" as const, headers: { authorization: "Bearer t" }, timeoutMs: 1000 };

describe("nodeHttpTransport", () => {
  it("decodes a gzip answer and counts the bytes received", async () => {
    const res = await nodeHttpTransport(`${base}/gzip`, get);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ resourceType: "Patient", id: "ü" });
    expect(res.bytes).toBe(gzipSync(JSON.stringify({ resourceType: "Patient", id: "ü" })).length);
    expect(res.header("Content-Type")).toBe("application/fhir+json");
    expect(res.header("x-missing")).toBeNull();
  });

  it("follows a redirect on the same origin, and not one to another origin (the token stays where it was issued)", async () => {
    seen.length = 0;
    expect((await nodeHttpTransport(`${base}/moved`, get)).status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(["/moved", "/gzip"]);
    seen.length = 0;
    const away = await nodeHttpTransport(`${base}/elsewhere`, get);
    expect(away.status).toBe(302);
    expect(seen.map((s) => s.url)).toEqual(["/elsewhere"]);
  });

  it("fails with a TimeoutError when the server does not answer in time", async () => {
    await expect(nodeHttpTransport(`${base}/slow`, { ...get, timeoutMs: 100 })).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("sends a POST body and returns the answer's headers", async () => {
    const res = await nodeHttpTransport(`${base}/post`, { method: "POST", headers: { "content-type": "application/fhir+json" }, body: '{"a":"é"}', timeoutMs: 1000 });
    expect(res.status).toBe(201);
    expect(res.text).toBe('{"a":"é"}');
    expect(res.header("location")).toBe("Observation/1");
    expect(res.header("retry-after")).toBe("3");
  });

  it("reports a refused connection as an error", async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    await expect(nodeHttpTransport(`${url}/x`, get)).rejects.toThrow();
  });
});
