import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BULK_CLIENT_ID, createBackendClientKeys, FIXTURE_IDS, sandboxFixtureResources, startSandbox, type BackendClientKeys, type RunningSandbox } from "./index";
import { requestBackendToken, signClientAssertion } from "./testing/backend-client";

let sandbox: RunningSandbox;
let esKeys: BackendClientKeys;
let rsKeys: BackendClientKeys;
let tokenEndpoint: string;

beforeAll(async () => {
  esKeys = await createBackendClientKeys("ES384");
  rsKeys = await createBackendClientKeys("RS384");
  sandbox = await startSandbox({
    port: 0,
    bulkMinJobMs: 300,
    clients: [
      { clientId: BULK_CLIENT_ID, jwks: { keys: [...esKeys.publicJwks.keys, ...rsKeys.publicJwks.keys] } },
      { clientId: "read-only-bulk", jwks: rsKeys.publicJwks, allowedScopes: ["system/Patient.rs"] },
    ],
  });
  tokenEndpoint = `${sandbox.origin}/auth/token`;
});

afterAll(async () => {
  await sandbox.stop();
});

async function systemToken(scope = "system/*.rs", keys = esKeys, clientId = BULK_CLIENT_ID): Promise<string> {
  const response = await requestBackendToken(tokenEndpoint, await signClientAssertion(clientId, keys.privateJwk, tokenEndpoint), scope);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number; scope: string };
  expect(body.token_type).toBe("Bearer");
  expect(body.expires_in).toBeLessThanOrEqual(300);
  return body.access_token;
}

interface Manifest {
  transactionTime: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

async function runExport(token: string, path: string): Promise<{ manifest: Manifest; polls: number; progressSeen: string[] }> {
  const kickOff = await fetch(`${sandbox.fhirBase}/${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/fhir+json", prefer: "respond-async" },
  });
  expect(kickOff.status).toBe(202);
  const statusUrl = kickOff.headers.get("content-location") ?? "";
  expect(statusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/bulk\/status\//);
  const progressSeen: string[] = [];
  for (let polls = 1; polls < 50; polls++) {
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    if (status.status === 202) {
      progressSeen.push(status.headers.get("x-progress") ?? "");
      expect(Number(status.headers.get("retry-after"))).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    expect(status.status).toBe(200);
    return { manifest: (await status.json()) as Manifest, polls, progressSeen };
  }
  throw new Error("export did not complete");
}

async function download(url: string, token: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("ndjson");
  return (await response.text()).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("SMART Backend Services (private_key_jwt)", () => {
  it("issues system tokens for ES384 and RS384 client assertions", async () => {
    expect(await systemToken("system/*.rs", esKeys)).toEqual(expect.any(String));
    expect(await systemToken("system/*.rs", rsKeys)).toEqual(expect.any(String));
  });

  it("rejects assertions signed by an unregistered key, replayed, or for another audience", async () => {
    const stranger = await createBackendClientKeys("ES384");
    const unknownKey = await requestBackendToken(tokenEndpoint, await signClientAssertion(BULK_CLIENT_ID, { ...stranger.privateJwk, kid: esKeys.kid }, tokenEndpoint), "system/*.rs");
    expect(unknownKey.status).toBe(401);
    const assertion = await signClientAssertion(BULK_CLIENT_ID, esKeys.privateJwk, tokenEndpoint);
    expect((await requestBackendToken(tokenEndpoint, assertion, "system/*.rs")).status).toBe(200);
    expect((await requestBackendToken(tokenEndpoint, assertion, "system/*.rs")).status).toBe(401);
    const foreignJku = await new SignJWT({ jti: "jku-test" })
      .setProtectedHeader({ alg: "ES384", kid: esKeys.kid, jku: "https://attacker.example/jwks.json" })
      .setIssuer(BULK_CLIENT_ID)
      .setSubject(BULK_CLIENT_ID)
      .setAudience(tokenEndpoint)
      .setExpirationTime("2m")
      .sign(await importJWK(esKeys.privateJwk, "ES384"));
    expect((await requestBackendToken(tokenEndpoint, foreignJku, "system/*.rs")).status).toBe(401);
    const wrongAudience = await signClientAssertion(BULK_CLIENT_ID, esKeys.privateJwk, tokenEndpoint, { audience: "https://elsewhere.example/token" });
    expect((await requestBackendToken(tokenEndpoint, wrongAudience, "system/*.rs")).status).toBe(401);
  });

  it("grants only registered scopes and refuses exports beyond them", async () => {
    const token = await systemToken("system/Patient.rs system/Observation.rs", rsKeys, "read-only-bulk");
    const kickOff = await fetch(`${sandbox.fhirBase}/Group/jak-panel/$export?_type=Observation`, {
      headers: { authorization: `Bearer ${token}`, prefer: "respond-async" },
    });
    expect(kickOff.status).toBe(403);
  });
});

describe("Bulk Data export", () => {
  it("exports the JAK panel Group: kick-off, progress, manifest, NDJSON files with the members' data only", async () => {
    const token = await systemToken();
    const { manifest, progressSeen } = await runExport(token, "Group/jak-panel/$export");
    expect(progressSeen.length).toBeGreaterThan(0);
    expect(manifest.requiresAccessToken).toBe(true);
    const patientFile = manifest.output.find((output) => output.type === "Patient");
    expect(patientFile?.count).toBe(2);
    const patients = await download(patientFile?.url ?? "", token);
    expect(patients.map((patient) => patient.id).sort()).toEqual([FIXTURE_IDS.patientA, FIXTURE_IDS.patientB]);
    const observations = await download(manifest.output.find((output) => output.type === "Observation")?.url ?? "", token);
    expect(observations).toHaveLength(8);
    // Files require a token.
    expect((await fetch(patientFile?.url ?? "")).status).toBe(401);
  });

  it("applies _type, _typeFilter and _since", async () => {
    const token = await systemToken();
    const typeFilter = encodeURIComponent("Observation?category=laboratory");
    const { manifest } = await runExport(token, `$export?_type=Observation,Patient&_typeFilter=${typeFilter}`);
    expect(manifest.output.map((output) => output.type).sort()).toEqual(["Observation", "Patient"]);
    expect(manifest.output.find((output) => output.type === "Observation")?.count).toBe(3);
    expect(manifest.output.find((output) => output.type === "Patient")?.count).toBe(3);

    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const write = await fetch(`${sandbox.fhirBase}/Observation`, {
      method: "POST",
      headers: { authorization: `Bearer ${await systemToken("system/*.cruds")}`, "content-type": "application/fhir+json" },
      body: JSON.stringify({ resourceType: "Observation", status: "final", code: { text: "new" }, subject: { reference: `Patient/${FIXTURE_IDS.patientA}` } }),
    });
    expect(write.status).toBe(201);
    const { manifest: recent } = await runExport(token, `$export?_since=${encodeURIComponent(since)}`);
    expect(recent.output).toEqual([expect.objectContaining({ type: "Observation", count: 1 })]);
  });

  it("requires Prefer: respond-async and cancels with DELETE", async () => {
    const token = await systemToken();
    const noPrefer = await fetch(`${sandbox.fhirBase}/$export`, { headers: { authorization: `Bearer ${token}` } });
    expect(noPrefer.status).toBe(400);
    const kickOff = await fetch(`${sandbox.fhirBase}/$export`, { headers: { authorization: `Bearer ${token}`, prefer: "respond-async" } });
    const statusUrl = kickOff.headers.get("content-location") ?? "";
    const cancelled = await fetch(statusUrl, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect(cancelled.status).toBe(202);
    expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it("exports all patients with Patient/$export, and takes POST kick-off parameters", async () => {
    const token = await systemToken();
    const { manifest } = await runExport(token, "Patient/$export?_type=Patient");
    expect(manifest.output).toEqual([expect.objectContaining({ type: "Patient", count: 3 })]);
    const kickOff = await fetch(`${sandbox.fhirBase}/Group/jak-panel/$export`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, prefer: "respond-async", "content-type": "application/fhir+json" },
      body: JSON.stringify({ resourceType: "Parameters", parameter: [{ name: "_type", valueString: "MedicationRequest" }] }),
    });
    expect(kickOff.status).toBe(202);
    let posted: Manifest | undefined;
    for (let attempt = 0; attempt < 40 && !posted; attempt++) {
      const status = await fetch(kickOff.headers.get("content-location") ?? "", { headers: { authorization: `Bearer ${token}` } });
      if (status.status === 200) posted = (await status.json()) as Manifest;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(posted?.output).toEqual([expect.objectContaining({ type: "MedicationRequest", count: 2 })]);
  });

  it("rejects an unknown _type and a non-NDJSON _outputFormat", async () => {
    const token = await systemToken();
    const headers = { authorization: `Bearer ${token}`, prefer: "respond-async" };
    expect((await fetch(`${sandbox.fhirBase}/$export?_type=Gizmo`, { headers })).status).toBe(400);
    expect((await fetch(`${sandbox.fhirBase}/$export?_outputFormat=text/csv`, { headers })).status).toBe(400);
  });

  it("answers 404 for an unknown Group", async () => {
    const token = await systemToken();
    const response = await fetch(`${sandbox.fhirBase}/Group/nope/$export`, { headers: { authorization: `Bearer ${token}`, prefer: "respond-async" } });
    expect(response.status).toBe(404);
  });
});

describe("server variants", () => {
  let variant: RunningSandbox | undefined;

  afterAll(async () => {
    await variant?.stop();
  });

  async function variantToken(): Promise<string> {
    const endpoint = `${variant!.origin}/auth/token`;
    const response = await requestBackendToken(endpoint, await signClientAssertion(BULK_CLIENT_ID, esKeys.privateJwk, endpoint), "system/*.rs");
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it("Group and Patient exports include the Medications the patients' resources reference, and no other", async () => {
    variant = await startSandbox({
      port: 0,
      bulkMinJobMs: 0,
      clients: [{ clientId: BULK_CLIENT_ID, jwks: esKeys.publicJwks }],
      resources: [
        ...sandboxFixtureResources(),
        { resourceType: "Medication", id: "med-referenced", code: { text: "upadacitinib 15 mg" } },
        { resourceType: "Medication", id: "med-unreferenced", code: { text: "unused" } },
        {
          resourceType: "MedicationRequest",
          id: "mr-by-reference",
          status: "active",
          intent: "order",
          subject: { reference: `Patient/${FIXTURE_IDS.patientA}` },
          medicationReference: { reference: "Medication/med-referenced" },
        },
      ],
    });
    const token = await variantToken();
    for (const path of ["Group/jak-panel/$export?_type=Medication", "Patient/$export?_type=Medication"]) {
      const kickOff = await fetch(`${variant.fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}`, prefer: "respond-async" } });
      let manifest: Manifest | undefined;
      for (let attempt = 0; attempt < 40 && !manifest; attempt++) {
        const status = await fetch(kickOff.headers.get("content-location") ?? "", { headers: { authorization: `Bearer ${token}` } });
        if (status.status === 200) manifest = (await status.json()) as Manifest;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(manifest?.output).toEqual([expect.objectContaining({ type: "Medication", count: 1 })]);
      const file = await fetch(manifest?.output[0]?.url ?? "", { headers: { authorization: `Bearer ${token}` } });
      expect(JSON.parse((await file.text()).trim()).id).toBe("med-referenced");
    }
    await variant.stop();
    variant = undefined;
  });

  it("with bulkExport: false plays a server without Bulk Data: no export operation, $export answers 404", async () => {
    variant = await startSandbox({ port: 0, bulkExport: false, clients: [{ clientId: BULK_CLIENT_ID, jwks: esKeys.publicJwks }] });
    const metadata = (await (await fetch(`${variant.fhirBase}/metadata`)).json()) as { instantiates?: string[]; rest: { operation?: unknown[]; resource: { operation?: unknown[] }[] }[] };
    expect(metadata.instantiates).toBeUndefined();
    expect(metadata.rest[0]?.operation).toBeUndefined();
    expect(metadata.rest[0]?.resource.some((resource) => resource.operation)).toBe(false);
    const token = await variantToken();
    for (const path of ["$export", "Patient/$export", "Group/jak-panel/$export"]) {
      const response = await fetch(`${variant.fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}`, prefer: "respond-async" } });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { resourceType: string }).resourceType).toBe("OperationOutcome");
    }
    // The FHIR REST API still answers.
    const patients = await fetch(`${variant.fhirBase}/Patient`, { headers: { authorization: `Bearer ${token}` } });
    expect(patients.status).toBe(200);
  });
});
