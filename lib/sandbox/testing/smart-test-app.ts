import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import smart from "fhirclient";
import type { fhirclient } from "fhirclient/lib/types";

/** What the test app's callback reports after fhirclient completes the SMART flow. */
export interface TestAppResult {
  patientId: string | null;
  fhirUser: string | null;
  tokenResponse: fhirclient.TokenResponse;
  /** Body of a FHIR request the app made with its token, when `probePath` was given. */
  probe?: { status: number; body: unknown };
}

export interface TestAppOptions {
  clientId: string;
  clientSecret?: string;
  clientPrivateJwk?: fhirclient.JWK;
  scope: string;
  /** FHIR path (relative to the server) the app requests after ready(), e.g. "Observation?patient={patient}". */
  probePath?: string;
  pkceMode?: "ifSupported" | "required" | "disabled" | "unsafeV1";
}

export interface TestApp {
  origin: string;
  launchUrl: string;
  stop(): Promise<void>;
}

/**
 * A minimal confidential SMART app on fhirclient's Node entry, standing in for the real app in sandbox tests:
 * /launch calls authorize(), /callback calls ready() and reports the outcome as JSON.
 */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const sessions = new Map<string, unknown>();
  // One in-memory session: tests drive one browser at a time.
  const storage: fhirclient.Storage = {
    get: async (key: string) => sessions.get(key),
    set: async (key: string, value: unknown) => {
      sessions.set(key, value);
      return value;
    },
    unset: async (key: string) => sessions.delete(key),
  };
  let origin = "";
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://app.invalid").pathname;
    const run = async (): Promise<void> => {
      if (path === "/launch") {
        await smart(req, res, storage).authorize({
          clientId: options.clientId,
          ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
          ...(options.clientPrivateJwk ? { clientPrivateJwk: options.clientPrivateJwk } : {}),
          scope: options.scope,
          redirectUri: `${origin}/callback`,
          pkceMode: options.pkceMode ?? "ifSupported",
        });
        return;
      }
      if (path === "/callback") {
        const client = await smart(req, res, storage).ready();
        const result: TestAppResult = {
          patientId: client.patient.id,
          fhirUser: client.user.fhirUser,
          tokenResponse: client.state.tokenResponse ?? {},
        };
        if (options.probePath) {
          const probeUrl = options.probePath.replace("{patient}", client.patient.id ?? "");
          try {
            const body = await client.request(probeUrl);
            result.probe = { status: 200, body };
          } catch (error) {
            result.probe = { status: (error as { status?: number }).status ?? 0, body: (error as Error).message };
          }
        }
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(result));
        return;
      }
      res.writeHead(404);
      res.end();
    };
    run().catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`app error: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    launchUrl: `${origin}/launch`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface RedirectStep {
  url: string;
  status: number;
  location?: string;
}

/** Follows redirects like a browser (keeping cookies per origin) and records each hop. */
export async function browse(startUrl: string, cookieJar = new Map<string, string>()): Promise<{ response: Response; steps: RedirectStep[] }> {
  const steps: RedirectStep[] = [];
  let url = startUrl;
  for (let hop = 0; hop < 15; hop++) {
    const origin = new URL(url).origin;
    const cookie = cookieJar.get(origin);
    const response = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
    const setCookie = response.headers.get("set-cookie");
    if (setCookie) cookieJar.set(origin, setCookie.split(";")[0] ?? "");
    const location = response.headers.get("location") ?? undefined;
    steps.push({ url, status: response.status, ...(location ? { location } : {}) });
    if (response.status < 300 || response.status >= 400 || !location) return { response, steps };
    await response.arrayBuffer();
    url = new URL(location, url).toString();
  }
  throw new Error("too many redirects");
}
