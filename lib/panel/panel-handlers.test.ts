import type pg from "pg";
import { describe, expect, it } from "vitest";
import { handleCodeMappingDelete, handleCodeMappingPost, handleSyncNowPost, handleSyncRunDelete, handleSyncRunGet, type PanelHandlerDeps } from "./panel-handlers";

const APP = "http://127.0.0.1:3000";

/** Dependencies whose database and queue fail the test if a refused request reaches them. */
function refusingDeps(options: { authorize?: PanelHandlerDeps["authorize"] } = {}) {
  const calls: string[] = [];
  const unreachable = (what: string) => () => {
    calls.push(what);
    throw new Error(`${what} must not be reached`);
  };
  const deps: PanelHandlerDeps = {
    pool: { query: unreachable("database") } as unknown as pg.Pool,
    authorize: options.authorize ?? (async () => ({ practitionerId: "Practitioner/lead-1", role: "clinic-lead" })),
    appOrigin: () => APP,
    queue: { requestSync: unreachable("requestSync"), requestCancel: unreachable("requestCancel"), requestEvaluation: unreachable("requestEvaluation") },
  };
  return { deps, calls };
}

function request(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`${APP}${path}`, { method, headers: { "content-type": "application/json", origin: APP, ...headers }, body: body === undefined ? null : JSON.stringify(body) });
}

describe("panel API refusals happen before any database or queue work", () => {
  it("refuses a cross-site sync request with 403 without asking for the session", async () => {
    let asked = false;
    const { deps, calls } = refusingDeps({ authorize: async () => ((asked = true), { practitionerId: "p", role: "clinic-lead" }) });
    const response = await handleSyncNowPost(request("POST", "/api/panel/sync", {}, { origin: "https://evil.example" }), deps);
    expect(response.status).toBe(403);
    expect(asked).toBe(false);
    expect(calls).toEqual([]);
  });

  it("returns the session check's response for a user without the clinic-lead role", async () => {
    const forbidden = new Response(JSON.stringify({ error: "forbidden" }), { status: 403 });
    const { deps, calls } = refusingDeps({ authorize: async () => forbidden });
    expect((await handleSyncNowPost(request("POST", "/api/panel/sync", {}), deps)).status).toBe(403);
    expect((await handleSyncRunGet(request("GET", "/api/panel/sync/1", undefined), "1", deps)).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("answers 400 for an invalid sync body and an invalid run id", async () => {
    const { deps, calls } = refusingDeps();
    const bad = await handleSyncNowPost(request("POST", "/api/panel/sync", { full: "please" }), deps);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid-request", issues: [{ path: "full" }] });
    expect((await handleSyncRunDelete(request("DELETE", "/api/panel/sync/x", undefined), "DROP TABLE", deps)).status).toBe(400);
    expect(calls).toEqual([]);
  });

  it("refuses a cross-site cancel and a cross-site mapping change", async () => {
    const { deps, calls } = refusingDeps();
    const evil = { origin: "https://evil.example" };
    expect((await handleSyncRunDelete(request("DELETE", "/api/panel/sync/3", undefined, evil), "3", deps)).status).toBe(403);
    expect((await handleCodeMappingPost(request("POST", "/api/panel/code-mappings", { system: "urn:x:1", code: "1", concept: "measure:itch" }, evil), deps)).status).toBe(403);
    expect((await handleCodeMappingDelete(request("DELETE", "/api/panel/code-mappings", { id: "1" }, evil), deps)).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("answers 400 for a mapping to a concept the engine does not know", async () => {
    const { deps, calls } = refusingDeps();
    const response = await handleCodeMappingPost(request("POST", "/api/panel/code-mappings", { system: "urn:x:1", code: "1", concept: "measure:mood" }), deps);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ issues: [{ path: "concept" }] });
    expect(calls).toEqual([]);
  });
});

describe("panel API failures", () => {
  it("turns a database failure into a JSON 503 a page can show", async () => {
    const { deps } = refusingDeps();
    const originalError = console.error;
    const logged: string[] = [];
    console.error = (line: string) => void logged.push(line);
    try {
      const response = await handleSyncNowPost(request("POST", "/api/panel/sync", { sourceId: "sandbox" }), deps);
      expect(response.status).toBe(503);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.json()).toMatchObject({ error: "unavailable" });
    } finally {
      console.error = originalError;
    }
    expect(logged).toEqual(["[panel] sync-now failed: Error"]);
  });
});
