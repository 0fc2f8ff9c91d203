import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { APP_CLIENT_ID, createBackendClientKeys, DEMO_APP_CLIENT_SECRET, FIXTURE_IDS, startSandbox, type BackendClientKeys, type RunningSandbox } from "./index";
import { browse, startTestApp, type TestApp, type TestAppResult } from "./testing/smart-test-app";

const { dermatologist, clinicLead, patientA, patientB } = FIXTURE_IDS;

let sandbox: RunningSandbox;
const apps: TestApp[] = [];
let asymmetricKeys: BackendClientKeys;
const ASYMMETRIC_CLIENT_ID = "asymmetric-app";

beforeAll(async () => {
  asymmetricKeys = await createBackendClientKeys("ES384");
  sandbox = await startSandbox({
    port: 0,
    clients: [{ clientId: ASYMMETRIC_CLIENT_ID, jwks: asymmetricKeys.publicJwks, redirectUriPrefixes: ["http://127.0.0.1:"] }],
  });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
  await sandbox.stop();
});

async function app(scope: string, probePath?: string): Promise<TestApp> {
  const started = await startTestApp({ clientId: APP_CLIENT_ID, clientSecret: DEMO_APP_CLIENT_SECRET, scope, ...(probePath ? { probePath } : {}) });
  apps.push(started);
  return started;
}

async function ehrLaunch(testApp: TestApp, practitioner: string, patient: string): Promise<TestAppResult> {
  const launcher = `${sandbox.launcherUrl}?practitioner=${practitioner}&patient=${patient}&mode=ehr&go=1&launch_url=${encodeURIComponent(testApp.launchUrl)}`;
  const { response, steps } = await browse(launcher);
  expect(response.status, JSON.stringify(steps)).toBe(200);
  return (await response.json()) as TestAppResult;
}

/** Authorization code flow by hand (no fhirclient), to test the server's checks. */
async function authorizeByHand(params: Record<string, string>, cookie?: string): Promise<URL> {
  const url = new URL(`${sandbox.origin}/auth/authorize`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const response = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
  expect(response.status).toBe(302);
  return new URL(response.headers.get("location") ?? "");
}

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function basicAuth(): string {
  return `Basic ${Buffer.from(`${APP_CLIENT_ID}:${DEMO_APP_CLIENT_SECRET}`).toString("base64")}`;
}

async function tokenRequest(form: Record<string, string>, authorization = basicAuth()): Promise<Response> {
  return fetch(`${sandbox.origin}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", authorization },
    body: new URLSearchParams(form).toString(),
  });
}

describe("SMART EHR launch with fhirclient as the client", () => {
  it("binds the launch's patient and practitioner, returns an id_token with fhirUser and a refresh token, and no role field", async () => {
    const testApp = await app("launch openid fhirUser offline_access patient/*.rs", "Observation?patient={patient}&_count=2");
    const result = await ehrLaunch(testApp, dermatologist, patientA);
    expect(result.patientId).toBe(patientA);
    expect(result.fhirUser).toBe(`Practitioner/${dermatologist}`);
    const token = result.tokenResponse as Record<string, unknown>;
    expect(token.token_type).toBe("Bearer");
    expect(token.expires_in).toBe(3600);
    expect(token.refresh_token).toEqual(expect.any(String));
    // EHRs put no app role in the token response: the role is the fhirUser's PractitionerRole.
    expect(Object.keys(token).filter((key) => /role/i.test(key))).toEqual([]);
    expect(token.need_patient_banner).toBe(false);
    expect(String(token.scope).split(" ")).toEqual(expect.arrayContaining(["launch", "openid", "fhirUser", "patient/*.rs"]));
    const idToken = decodeJwt(String(token.id_token));
    expect(idToken.fhirUser).toBe(`${sandbox.fhirBase}/Practitioner/${dermatologist}`);
    expect(idToken.aud).toBe(APP_CLIENT_ID);
    expect(idToken.iss).toBe(sandbox.fhirBase);
    // The app's own FHIR request with its token: patient A's observations, paged by _count.
    const bundle = result.probe?.body as { total: number; entry: unknown[]; link: { relation: string }[] };
    expect(result.probe?.status).toBe(200);
    expect(bundle.total).toBe(5);
    expect(bundle.entry).toHaveLength(2);
    expect(bundle.link.map((link) => link.relation)).toContain("next");
  });

  it("returns 403 when a patient-scoped token reads or searches another patient", async () => {
    const testApp = await app("launch patient/*.rs");
    const result = await ehrLaunch(testApp, dermatologist, patientA);
    const headers = { authorization: `Bearer ${String(result.tokenResponse.access_token)}` };
    const own = await fetch(`${sandbox.fhirBase}/Patient/${patientA}`, { headers });
    expect(own.status).toBe(200);
    const otherRead = await fetch(`${sandbox.fhirBase}/Patient/${patientB}`, { headers });
    expect(otherRead.status).toBe(403);
    expect(((await otherRead.json()) as { resourceType: string }).resourceType).toBe("OperationOutcome");
    const otherSearch = await fetch(`${sandbox.fhirBase}/Observation?patient=${patientB}`, { headers });
    expect(otherSearch.status).toBe(403);
    const otherObservation = await fetch(`${sandbox.fhirBase}/Observation/fixture-itch-b-1`, { headers });
    expect(otherObservation.status).toBe(403);
    // A search without a patient parameter is confined to the launch patient's compartment.
    const unfiltered = (await (await fetch(`${sandbox.fhirBase}/Observation`, { headers })).json()) as { total: number };
    expect(unfiltered.total).toBe(5);
  });

  it("enforces resource-type scopes: patient/Observation.rs does not reach MedicationRequest", async () => {
    const testApp = await app("launch patient/Observation.rs");
    const result = await ehrLaunch(testApp, dermatologist, patientA);
    const headers = { authorization: `Bearer ${String(result.tokenResponse.access_token)}` };
    expect((await fetch(`${sandbox.fhirBase}/Observation?patient=${patientA}`, { headers })).status).toBe(200);
    expect((await fetch(`${sandbox.fhirBase}/MedicationRequest?patient=${patientA}`, { headers })).status).toBe(403);
    // Read-only scope: writing is refused.
    const write = await fetch(`${sandbox.fhirBase}/Observation`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/fhir+json" },
      body: JSON.stringify({ resourceType: "Observation", status: "final", code: { text: "x" }, subject: { reference: `Patient/${patientA}` } }),
    });
    expect(write.status).toBe(403);
  });
});

describe("the user's role, the way EHRs give it", () => {
  it("lets an EHR-launch token with user/PractitionerRole.rs read the fhirUser's PractitionerRole", async () => {
    const testApp = await app("launch openid fhirUser patient/*.rs user/PractitionerRole.rs", `PractitionerRole?practitioner=Practitioner/${clinicLead}`);
    const result = await ehrLaunch(testApp, clinicLead, patientA);
    expect(result.fhirUser).toBe(`Practitioner/${clinicLead}`);
    expect(result.probe?.status).toBe(200);
    const roles = result.probe?.body as { entry: { resource: { code: { coding: { system: string; code: string }[] }[] } }[] };
    expect(roles.entry.map((e) => e.resource.code[0]?.coding[0])).toEqual([{ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role", code: "clinic-lead", display: "clinic-lead" }]);
  });

  it("answers 403 to that read when the token's scopes do not cover PractitionerRole", async () => {
    const testApp = await app("launch openid fhirUser patient/Patient.rs patient/Observation.rs", `PractitionerRole?practitioner=Practitioner/${dermatologist}`);
    const result = await ehrLaunch(testApp, dermatologist, patientA);
    expect(result.probe?.status).toBe(403);
  });
});

describe("scopes_supported is not exhaustive", () => {
  it("lists no patient-level create, yet grants patient/Observation.c when asked", async () => {
    const discovery = (await (await fetch(`${sandbox.fhirBase}/.well-known/smart-configuration`)).json()) as { scopes_supported: string[] };
    expect(discovery.scopes_supported.filter((scope) => scope.startsWith("patient/") && !/\.(rs|read)$/.test(scope))).toEqual([]);
    const testApp = await app("launch openid fhirUser patient/*.rs patient/Observation.c");
    const result = await ehrLaunch(testApp, dermatologist, patientA);
    expect(String(result.tokenResponse.scope).split(" ")).toContain("patient/Observation.c");
  });
});

describe("confidential asymmetric client (private_key_jwt) in an EHR launch", () => {
  it("authenticates fhirclient's client assertion at the token endpoint", async () => {
    const testApp = await startTestApp({
      clientId: ASYMMETRIC_CLIENT_ID,
      clientPrivateJwk: asymmetricKeys.privateJwk as Parameters<typeof startTestApp>[0]["clientPrivateJwk"],
      scope: "launch patient/*.rs online_access",
    });
    apps.push(testApp);
    const result = await ehrLaunch(testApp, dermatologist, patientB);
    expect(result.patientId).toBe(patientB);
    expect((result.tokenResponse as Record<string, unknown>).refresh_token).toEqual(expect.any(String));
  });
});

describe("SMART standalone launch (user level, no patient)", () => {
  it("signs in the launcher's practitioner and grants user scopes across patients", async () => {
    const testApp = await app("openid fhirUser user/*.rs", `Observation?patient=${patientB}`);
    const launcher = `${sandbox.launcherUrl}?practitioner=${clinicLead}&mode=standalone&go=1&launch_url=${encodeURIComponent(testApp.launchUrl)}`;
    const { response, steps } = await browse(launcher);
    expect(response.status, JSON.stringify(steps)).toBe(200);
    const result = (await response.json()) as TestAppResult;
    expect(result.patientId).toBeNull();
    expect(result.fhirUser).toBe(`Practitioner/${clinicLead}`);
    expect(Object.keys(result.tokenResponse).filter((key) => /role/i.test(key))).toEqual([]);
    expect(result.probe?.status).toBe(200);
    expect((result.probe?.body as { total: number }).total).toBe(3);
  });

  it("shows a practitioner picker when nobody is signed in", async () => {
    const { challenge } = pkcePair();
    const response = await fetch(
      `${sandbox.origin}/auth/authorize?${new URLSearchParams({
        response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: "http://127.0.0.1:9/cb", scope: "user/*.rs",
        state: "s1", aud: sandbox.fhirBase, code_challenge: challenge, code_challenge_method: "S256",
      })}`,
      { redirect: "manual" },
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('name="sandbox_practitioner"');
    expect(html).toContain("clinic-lead");
  });

  it("makes the PractitionerRole searchable so the role can be read the standard way", async () => {
    const cookie = `sandbox_practitioner=${clinicLead}`;
    const { verifier, challenge } = pkcePair();
    const redirectUri = "http://127.0.0.1:9/cb";
    const location = await authorizeByHand(
      { response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: redirectUri, scope: "user/*.rs", state: "st", aud: sandbox.fhirBase, code_challenge: challenge, code_challenge_method: "S256" },
      cookie,
    );
    const tokens = (await (await tokenRequest({ grant_type: "authorization_code", code: location.searchParams.get("code") ?? "", redirect_uri: redirectUri, code_verifier: verifier })).json()) as { access_token: string };
    const roles = (await (
      await fetch(`${sandbox.fhirBase}/PractitionerRole?practitioner=Practitioner/${clinicLead}`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    ).json()) as { entry: { resource: { code: { coding: { system: string; code: string }[] }[] } }[] };
    expect(roles.entry[0]?.resource.code[0]?.coding[0]).toMatchObject({ system: "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role", code: "clinic-lead" });
  });
});

describe("authorization server checks", () => {
  const redirectUri = "http://127.0.0.1:9/cb";

  async function codeFor(challenge: string, scope = "launch patient/*.rs offline_access"): Promise<string> {
    const launch = sandbox.createLaunch(dermatologist, patientA);
    const location = await authorizeByHand({
      response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: redirectUri, scope, state: "xyz", aud: sandbox.fhirBase,
      launch, code_challenge: challenge, code_challenge_method: "S256",
    });
    expect(location.searchParams.get("state")).toBe("xyz");
    return location.searchParams.get("code") ?? "";
  }

  it("rejects a token request without a PKCE verifier, and with a wrong one", async () => {
    const { challenge } = pkcePair();
    const missing = await tokenRequest({ grant_type: "authorization_code", code: await codeFor(challenge), redirect_uri: redirectUri });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toBe("invalid_grant");
    const wrong = await tokenRequest({ grant_type: "authorization_code", code: await codeFor(challenge), redirect_uri: redirectUri, code_verifier: pkcePair().verifier });
    expect(wrong.status).toBe(400);
  });

  it("refuses an authorization request without an S256 code_challenge", async () => {
    const launch = sandbox.createLaunch(dermatologist, patientA);
    const base = { response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: redirectUri, scope: "launch patient/*.rs", state: "abc", aud: sandbox.fhirBase, launch };
    const noChallenge = await authorizeByHand(base);
    expect(noChallenge.searchParams.get("error")).toBe("invalid_request");
    expect(noChallenge.searchParams.get("state")).toBe("abc");
    const plain = await authorizeByHand({ ...base, code_challenge: "a".repeat(43), code_challenge_method: "plain" });
    expect(plain.searchParams.get("error")).toBe("invalid_request");
  });

  it("does not redirect to an unregistered redirect_uri, and rejects a wrong client secret", async () => {
    const { challenge } = pkcePair();
    const response = await fetch(
      `${sandbox.origin}/auth/authorize?${new URLSearchParams({ response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: "https://evil.example/cb", scope: "user/*.rs", state: "s", aud: sandbox.fhirBase, code_challenge: challenge, code_challenge_method: "S256" })}`,
      { redirect: "manual" },
    );
    expect(response.status).toBe(400);
    const badSecret = await tokenRequest(
      { grant_type: "authorization_code", code: await codeFor(challenge), redirect_uri: redirectUri, code_verifier: "x".repeat(43) },
      `Basic ${Buffer.from(`${APP_CLIENT_ID}:wrong`).toString("base64")}`,
    );
    expect(badSecret.status).toBe(401);
  });

  it("issues codes that work once, and refresh tokens that mint new access tokens", async () => {
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(challenge);
    const first = await tokenRequest({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as { access_token: string; refresh_token: string; patient: string };
    expect(tokens.patient).toBe(patientA);
    const replay = await tokenRequest({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(replay.status).toBe(400);
    const refreshed = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    const renewed = (await refreshed.json()) as { access_token: string; patient: string; refresh_token: string };
    expect(renewed.access_token).not.toBe(tokens.access_token);
    expect(renewed.patient).toBe(patientA);
    // Refresh tokens are single use and rotated: the spent one is refused, the new one works.
    expect(renewed.refresh_token).not.toBe(tokens.refresh_token);
    const spent = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(spent.status).toBe(400);
    expect(((await spent.json()) as { error: string }).error).toBe("invalid_grant");
    expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: renewed.refresh_token })).status).toBe(200);
    const read = await fetch(`${sandbox.fhirBase}/Patient/${patientA}`, { headers: { authorization: `Bearer ${renewed.access_token}` } });
    expect(read.status).toBe(200);
  });
});

describe("token expiry", () => {
  it("answers 401 once an access token has expired", async () => {
    const shortLived = await startSandbox({ port: 0, tokenLifetimeSeconds: 1 });
    try {
      const { verifier, challenge } = pkcePair();
      const redirectUri = "http://127.0.0.1:9/cb";
      const launch = shortLived.createLaunch(dermatologist, patientA);
      const authorize = new URL(`${shortLived.origin}/auth/authorize`);
      for (const [name, value] of Object.entries({ response_type: "code", client_id: APP_CLIENT_ID, redirect_uri: redirectUri, scope: "launch patient/*.rs", state: "s", aud: shortLived.fhirBase, launch, code_challenge: challenge, code_challenge_method: "S256" })) {
        authorize.searchParams.set(name, value);
      }
      const code = new URL((await fetch(authorize, { redirect: "manual" })).headers.get("location") ?? "").searchParams.get("code") ?? "";
      const tokens = (await (
        await fetch(`${shortLived.origin}/auth/token`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", authorization: basicAuth() },
          body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier }).toString(),
        })
      ).json()) as { access_token: string; expires_in: number };
      expect(tokens.expires_in).toBe(1);
      const headers = { authorization: `Bearer ${tokens.access_token}` };
      expect((await fetch(`${shortLived.fhirBase}/Patient/${patientA}`, { headers })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const expired = await fetch(`${shortLived.fhirBase}/Patient/${patientA}`, { headers });
      expect(expired.status).toBe(401);
      expect(expired.headers.get("www-authenticate")).toContain("invalid_token");
    } finally {
      await shortLived.stop();
    }
  });
});
