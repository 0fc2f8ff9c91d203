import { describe, expect, it } from "vitest";
import { noteDatabaseFailure } from "../db/outage";
import { answerDatabaseOutages, DATABASE_OUTAGE, DATABASE_RETRY_SECONDS, orDatabaseOutage } from "./db-unavailable";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function expectRetry503(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe(String(DATABASE_RETRY_SECONDS));
  expect(response.headers.get("content-type")).toBe("application/json");
  expect(response.headers.get("cache-control")).toBe("no-store");
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ error: "database-unavailable", retryable: true });
  expect(String(body.message)).toMatch(/database is not answering/);
}

describe("answerDatabaseOutages", () => {
  it("answers a thrown outage with a 503 to retry, passing the handler's arguments through", async () => {
    const seen: unknown[] = [];
    const route = answerDatabaseOutages(async (request: Request, context: { params: Promise<{ id: string }> }) => {
      seen.push(request.url, (await context.params).id);
      throw refused();
    });
    await expectRetry503(await route(new Request("http://app/api/x"), { params: Promise.resolve({ id: "p1" }) }));
    expect(seen).toEqual(["http://app/api/x", "p1"]);
  });

  it("answers 503 when the handler caught the outage itself and answered 500", async () => {
    const route = answerDatabaseOutages(async () => {
      noteDatabaseFailure(new Error("Connection terminated unexpectedly"));
      return json(500, { error: "server-error" });
    });
    await expectRetry503(await route());
  });

  it("leaves a success alone even when a side write met the outage", async () => {
    const route = answerDatabaseOutages(async () => {
      noteDatabaseFailure(refused());
      return json(200, { ok: true });
    });
    const response = await route();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("leaves a 500 without an outage alone, and rethrows other errors", async () => {
    expect((await answerDatabaseOutages(async () => json(500, { error: "bug" }))()).status).toBe(500);
    const bug = new TypeError("bug");
    await expect(answerDatabaseOutages(async () => Promise.reject(bug))()).rejects.toBe(bug);
  });

  it("with onlyThrown keeps the handler's own failure answer (a write that failed at the EHR)", async () => {
    const route = answerDatabaseOutages(
      async () => {
        noteDatabaseFailure(refused());
        return json(502, { error: "fhir-write-failed" });
      },
      { onlyThrown: true },
    );
    expect((await route()).status).toBe(502);
    await expectRetry503(await answerDatabaseOutages(() => Promise.reject(refused()), { onlyThrown: true })());
  });
});

describe("orDatabaseOutage", () => {
  it("gives the value, or the outage marker when the database did not answer", async () => {
    expect(await orDatabaseOutage(Promise.resolve(7))).toBe(7);
    expect(await orDatabaseOutage(Promise.reject(refused()))).toBe(DATABASE_OUTAGE);
  });

  it("lets other errors through (a bug, Next's redirect)", async () => {
    const redirect = Object.assign(new Error("NEXT_REDIRECT"), { digest: "NEXT_REDIRECT;replace;/relaunch;307;" });
    await expect(orDatabaseOutage(Promise.reject(redirect))).rejects.toBe(redirect);
  });
});
