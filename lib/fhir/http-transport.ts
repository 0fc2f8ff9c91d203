/**
 * The FHIR requester's HTTP transport. The default is node:http/https over keep-alive agents, not the global fetch:
 * in the app's server the global fetch is Next's instrumented wrapper around undici's web-streams fetch, which
 * cost about three times the CPU per request (a patient view makes eleven). Same behaviour where it matters:
 * gzip/deflate/br answers decoded, same-origin redirects followed (a redirect elsewhere is not: the Bearer token
 * stays with the server it was issued for), a timeout per attempt that fails with a TimeoutError.
 * `fetchTransport` adapts any fetch (tests inject one to fake a server).
 */
import http from "node:http";
import https from "node:https";
import { promisify } from "node:util";
import zlib from "node:zlib";

export interface TransportRequest {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface TransportResponse {
  status: number;
  statusText: string;
  /** A response header (case-insensitive), or null. */
  header(name: string): string | null;
  /** The decoded body as text (UTF-8). */
  text: string;
  /** The body's size in bytes as received (before any content decoding). */
  bytes: number;
}

export type FhirTransport = (url: string, request: TransportRequest) => Promise<TransportResponse>;

const MAX_REDIRECTS = 5;
/** Answers larger than this are refused: a FHIR page is at most a few MB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

const decoders: Record<string, (buffer: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  "x-gzip": promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

function timeoutError(ms: number): Error {
  const error = new Error(`no answer within ${ms} ms`);
  error.name = "TimeoutError";
  return error;
}

function once(url: URL, request: TransportRequest, deadline: number): Promise<{ status: number; statusText: string; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const client = url.protocol === "https:" ? https : http;
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.reject(timeoutError(request.timeoutMs));
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: request.method,
        agent: url.protocol === "https:" ? agents.https : agents.http,
        headers: {
          "accept-encoding": "gzip, deflate, br",
          ...request.headers,
          ...(request.body !== undefined ? { "content-length": String(Buffer.byteLength(request.body)) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_BODY_BYTES) req.destroy(new Error("answer too large"));
          else chunks.push(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: res.headers, body: Buffer.concat(chunks, bytes) }));
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => req.destroy(timeoutError(request.timeoutMs)), remaining);
    req.on("close", () => clearTimeout(timer));
    req.on("error", reject);
    req.end(request.body);
  });
}

/** node:http(s) with keep-alive: the default transport. */
export const nodeHttpTransport: FhirTransport = async (url, request) => {
  const deadline = Date.now() + request.timeoutMs;
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    const answer = await once(target, request, deadline);
    const location = answer.headers.location;
    if (answer.status >= 300 && answer.status < 400 && location && request.method === "GET" && hop < MAX_REDIRECTS) {
      const next = new URL(location, target);
      if (next.origin === target.origin) {
        target = next;
        continue;
      }
    }
    const encoding = String(answer.headers["content-encoding"] ?? "").trim().toLowerCase();
    const decode = decoders[encoding];
    const body = decode && answer.body.length > 0 ? await decode(answer.body) : answer.body;
    return {
      status: answer.status,
      statusText: answer.statusText,
      header: (name) => {
        const value = answer.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
      text: body.toString("utf8"),
      bytes: answer.body.length,
    };
  }
};

/** A transport over a fetch function (tests pass a fake server's). */
export function fetchTransport(fetchFn: typeof fetch): FhirTransport {
  return async (url, request) => {
    const res = await fetchFn(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, statusText: res.statusText, header: (name) => res.headers.get(name), text: body.toString("utf8"), bytes: body.length };
  };
}
