import type { IncomingMessage, ServerResponse } from "node:http";
import type { OperationOutcome } from "@medplum/fhirtypes";

export const FHIR_JSON = "application/fhir+json; charset=utf-8";

/** Largest request body accepted (transaction bundles for loading data can be large). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "Request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(req));
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = "application/json; charset=utf-8",
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": contentType, "Cache-Control": "no-store", ...headers });
  res.end(text);
}

export function sendFhir(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, headers, FHIR_JSON);
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", ...headers });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(302, { Location: location, "Cache-Control": "no-store", ...headers });
  res.end();
}

const ISSUE_CODE_BY_STATUS: Record<number, NonNullable<OperationOutcome["issue"]>[number]["code"]> = {
  400: "invalid",
  401: "login",
  403: "forbidden",
  404: "not-found",
  405: "not-supported",
  409: "conflict",
  410: "deleted",
  412: "conflict",
  413: "too-costly",
  422: "processing",
  429: "throttled",
  500: "exception",
  503: "transient",
};

export function operationOutcome(status: number, diagnostics: string): OperationOutcome {
  return {
    resourceType: "OperationOutcome",
    issue: [
      {
        severity: status >= 500 || status === 429 ? "error" : status >= 400 ? "error" : "information",
        code: ISSUE_CODE_BY_STATUS[status] ?? (status >= 400 ? "processing" : "informational"),
        diagnostics,
      },
    ],
  };
}

export function sendOutcome(res: ServerResponse, status: number, diagnostics: string, headers: Record<string, string> = {}): void {
  sendFhir(res, status, operationOutcome(status, diagnostics), headers);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function isLoopback(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? "";
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

export function parseCookies(req: IncomingMessage): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index > 0) cookies[part.slice(0, index).trim()] = decodeURIComponent(part.slice(index + 1).trim());
  }
  return cookies;
}
