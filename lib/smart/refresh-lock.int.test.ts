/**
 * Token refresh across app instances: two instances (each its own module state and PostgreSQL pool) refreshing
 * one session at once spend its single-use refresh token once, and both end with a working access token.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { PrismaClient } from "../generated/prisma/client";
import type { TestDatabase } from "../db/testing";
import { FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { smartConfig } from "./config";
import { deriveKey } from "./crypto";
import { handleCallback, handleLaunch } from "./launch";
import { SessionStore } from "./session-store";

const APP = "http://127.0.0.1:3998";
const KEY = deriveKey("refresh-lock-test-secret-0123456789abcdef");
const { dermatologist, patientA } = FIXTURE_IDS;

let sandbox: RunningSandbox;
let db: TestDatabase;
let secondPool: PrismaClient;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  const { startTestDatabase } = await import("../db/testing");
  const { createPrisma } = await import("../db/client");
  db = await startTestDatabase();
  secondPool = createPrisma(db.url);
});

afterAll(async () => {
  await secondPool?.$disconnect();
  await sandbox?.stop();
  await db?.stop();
});

const cookieOf = (res: Response): string => (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";

async function launchSession(store: SessionStore): Promise<string> {
  const deps = { store, config: smartConfig({}) };
  const params = new URLSearchParams({ iss: sandbox.fhirBase, launch: sandbox.createLaunch(dermatologist, patientA) });
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`), deps);
  const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
  const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie: cookieOf(start) } }), deps);
  expect(done.headers.get("location")).toBe(`${APP}/patients/${patientA}`);
  return cookieOf(done);
}

/** The app's requests to the sandbox, counting refresh grants; token answers are held back a little so both instances read the session first. */
function countingFetch(): typeof fetch & { refreshes: number } {
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const isRefresh = new URLSearchParams(String(init?.body ?? "")).get("grant_type") === "refresh_token";
    if (isRefresh) {
      f.refreshes++;
      await new Promise((r) => setTimeout(r, 200));
    }
    return fetch(input, init);
  }) as typeof fetch & { refreshes: number };
  f.refreshes = 0;
  return f;
}

/** getSessionAccess from a fresh copy of the module: an instance's in-memory state is its own. */
async function instanceAccess(): Promise<typeof import("./access").getSessionAccess> {
  vi.resetModules();
  return (await import("./access")).getSessionAccess;
}

describe("token refresh across instances", () => {
  it("spends the refresh token once when two instances refresh one session at the same moment, and both get a working token", async () => {
    const storeA = new SessionStore(db.prisma, KEY);
    const storeB = new SessionStore(secondPool, KEY);
    const cookie = await launchSession(storeA);
    const [accessA, accessB] = [await instanceAccess(), await instanceAccess()];
    const ehr = countingFetch();
    const config = smartConfig({});
    const afterExpiry = () => Math.floor(Date.now() / 1000) + 7200;
    const request = () => new Request(`${APP}/api/patients/${patientA}`, { headers: { cookie } });
    const [a, b] = await Promise.all([
      accessA(request(), { store: storeA, config, fetch: ehr, nowSeconds: afterExpiry }),
      accessB(request(), { store: storeB, config, fetch: ehr, nowSeconds: afterExpiry }),
    ]);
    expect(a.ok && b.ok).toBe(true);
    expect(ehr.refreshes).toBe(1);
    if (!a.ok || !b.ok) return;
    expect(b.accessToken).toBe(a.accessToken);
    const read = await fetch(`${sandbox.fhirBase}/Patient/${patientA}`, { headers: { authorization: `Bearer ${a.accessToken}` } });
    expect(read.status).toBe(200);
    // The rotated refresh token is the one kept: the session can refresh again.
    const stored = (await storeA.load(a.session.id))!;
    const state = stored.data[stored.data.SMART_KEY as string] as { tokenResponse: { access_token: string; refresh_token?: string } };
    expect(state.tokenResponse.access_token).toBe(a.accessToken);
    expect(state.tokenResponse.refresh_token).toEqual(expect.any(String));
    const again = await accessB(request(), { store: storeB, config, fetch: ehr, nowSeconds: () => Math.floor(Date.now() / 1000) + 3 * 7200 });
    expect(again.ok).toBe(true);
    expect(ehr.refreshes).toBe(2);
  });
});
