/** A small node:http server on a free loopback port for the FHIR clients' unit tests; records every request. */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export type TestHandler = (request: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface LocalTestServer {
  origin: string;
  requests: RecordedRequest[];
  /** Replaces the handler (one server can serve several scenarios). */
  handle(handler: TestHandler): void;
  stop(): Promise<void>;
}

export async function startLocalTestServer(initial: TestHandler = (_request, res) => sendJson(res, 404, {})): Promise<LocalTestServer> {
  const requests: RecordedRequest[] = [];
  let handler = initial;
  let origin = "";
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = { method: req.method ?? "GET", url: new URL(req.url ?? "/", origin), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res)).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: "test handler failed" });
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    handle: (next) => {
      handler = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export function outcome(diagnostics: string, code = "processing"): Record<string, unknown> {
  return { resourceType: "OperationOutcome", issue: [{ severity: "error", code, diagnostics }] };
}
