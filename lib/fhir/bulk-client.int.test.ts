// The sandbox first (the project's import order), then the clients under test.
import { BULK_CLIENT_ID, createBackendClientKeys, startSandbox, type BackendClientKeys, type RunningSandbox } from "../sandbox";
import { groupMemberPatientIds } from "../sandbox/directory";
import type { Group, Resource } from "@medplum/fhirtypes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendTokenProvider } from "./backend-auth";
import { BulkClient, BulkExportError, TruncatedNdjsonError, type BulkManifest, type ExportProgress } from "./bulk-client";
import { readCapabilities } from "./capabilities";

/** The nine resource types the clinic panel syncs (issue 8). */
const TYPES = ["Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest", "MedicationDispense", "Medication", "Immunization", "Procedure"];
const GROUP_ID = "jak-panel";

let sandbox: RunningSandbox;
let keys: BackendClientKeys;
/** type -> ids the sandbox holds for the Group's members (what a group export must deliver). */
let expectedIds: Map<string, Set<string>>;

beforeAll(async () => {
  keys = await createBackendClientKeys("ES384");
  // The minimum job time outlasts one status poll, so polling (and the one-second token fault below) is exercised.
  sandbox = await startSandbox({ port: 0, cohort: { patients: 12, seed: 42 }, bulkMinJobMs: 1200, clients: [{ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks }] });
  const group = (await sandbox.repository.readResource("Group", GROUP_ID)) as Group;
  const members = groupMemberPatientIds(group);
  expectedIds = new Map(TYPES.map((type) => [type, new Set<string>()]));
  for (const patientId of members) {
    for (const type of TYPES) {
      for (const resource of sandbox.repository.iterateCompartment(patientId, type)) expectedIds.get(type)?.add(resource.id);
    }
  }
});

afterAll(async () => {
  await sandbox?.stop();
});

interface Observed {
  unauthorized: number;
  throttled: number;
}

/** A fetch that counts the 401s and 429/503s the clients saw (and recovered from). */
function countingFetch(observed: Observed): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) observed.unauthorized++;
    if (response.status === 429 || response.status === 503) observed.throttled++;
    return response;
  };
}

function clients(observed: Observed = { unauthorized: 0, throttled: 0 }): { auth: BackendTokenProvider; bulk: BulkClient } {
  const fetchImpl = countingFetch(observed);
  const auth = new BackendTokenProvider(sandbox.fhirBase, { clientId: BULK_CLIENT_ID, privateJwk: keys.privateJwk, scope: "system/*.rs" }, { fetch: fetchImpl });
  return { auth, bulk: new BulkClient({ fhirBase: sandbox.fhirBase, auth, fetch: fetchImpl }) };
}

/** Reads one file; a truncated download is read again from the start (what the sync does), up to twenty times. */
async function readFile(bulk: BulkClient, url: string, manifest: BulkManifest, truncations: { count: number }): Promise<Resource[]> {
  for (let attempt = 0; ; attempt++) {
    const resources: Resource[] = [];
    try {
      for await (const line of bulk.lines(url, { requiresAccessToken: manifest.requiresAccessToken })) resources.push(JSON.parse(line) as Resource);
      return resources;
    } catch (error) {
      if (!(error instanceof TruncatedNdjsonError) || attempt >= 20) throw error;
      truncations.count++;
    }
  }
}

/** Every output file read (three at a time); ids per type. */
async function readAll(bulk: BulkClient, manifest: BulkManifest, truncations = { count: 0 }): Promise<Map<string, string[]>> {
  const idsByType = new Map<string, string[]>();
  const queue = [...manifest.output];
  await Promise.all(
    [0, 1, 2].map(async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const resources = await readFile(bulk, file.url, manifest, truncations);
        expect(resources.every((resource) => resource.resourceType === file.type)).toBe(true);
        if (file.count !== undefined) expect(resources).toHaveLength(file.count);
        idsByType.set(file.type, [...(idsByType.get(file.type) ?? []), ...resources.map((resource) => resource.id ?? "")]);
      }
    }),
  );
  return idsByType;
}

function expectSandboxContents(idsByType: Map<string, string[]>): void {
  for (const type of TYPES) {
    const ids = idsByType.get(type) ?? [];
    expect(ids, type).toHaveLength(expectedIds.get(type)?.size ?? 0);
    expect(new Set(ids), type).toEqual(expectedIds.get(type));
  }
}

describe("Bulk Data client against the sandbox EHR", () => {
  it("gets a system/*.rs token by SMART Backend Services and reads the export levels its CapabilityStatement declares", async () => {
    const { auth } = clients();
    const token = await auth.token();
    expect(token).toEqual(expect.any(String));
    expect(await auth.token()).toBe(token);
    // The sandbox declares system and Group $export (Patient/$export works but is not declared).
    const capabilities = await readCapabilities(sandbox.fhirBase, { accessToken: token });
    expect(capabilities).toEqual({ fhirVersion: "4.0.1", exportLevels: ["system", "patient", "group"] });
  });

  it("exports the jak-panel Group for the nine types: every file read, each type's lines are exactly the sandbox's resources", async () => {
    expect(expectedIds.get("Patient")?.size).toBeGreaterThan(0);
    expect(expectedIds.get("Observation")?.size).toBeGreaterThan(0);
    const { bulk } = clients();
    const { statusUrl } = await bulk.kickOff({ level: { kind: "group", groupId: GROUP_ID }, types: TYPES });
    const progress: ExportProgress[] = [];
    const manifest = await bulk.waitForManifest(statusUrl, { onProgress: (p) => progress.push(p) });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]?.percent).toEqual(expect.any(Number));
    expect(Number.isNaN(Date.parse(manifest.transactionTime))).toBe(false);
    expect(manifest.requiresAccessToken).toBe(true);
    expectSandboxContents(await readAll(bulk, manifest));
  });

  it("cancels an export with DELETE: the status URL is gone afterwards", async () => {
    const { bulk } = clients();
    const { statusUrl } = await bulk.kickOff({ level: { kind: "system" }, types: ["Patient"] });
    await bulk.cancel(statusUrl);
    const error = (await bulk.waitForManifest(statusUrl).catch((caught: unknown) => caught)) as BulkExportError;
    expect(error).toBeInstanceOf(BulkExportError);
    expect(error.status).toBe(404);
    expect(error.retryable).toBe(true);
    await bulk.cancel(statusUrl);
  });

  it("surfaces a truncated download as TruncatedNdjsonError", async () => {
    const { bulk } = clients();
    const { statusUrl } = await bulk.kickOff({ level: { kind: "group", groupId: GROUP_ID }, types: ["Observation"] });
    const manifest = await bulk.waitForManifest(statusUrl);
    const file = manifest.output[0];
    sandbox.setFaults({ truncateNdjsonRate: 1 });
    try {
      let read = 0;
      const error = await (async () => {
        for await (const _line of bulk.lines(file?.url ?? "", { requiresAccessToken: true })) read++;
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TruncatedNdjsonError);
      expect(read).toBe((error as TruncatedNdjsonError).linesRead);
      expect(read).toBeLessThan(file?.count ?? 0);
    } finally {
      sandbox.setFaults({});
    }
  });

  it("still delivers exactly the sandbox's resources under 429, 503, tokens dying after one second and truncated files", async () => {
    const observed: Observed = { unauthorized: 0, throttled: 0 };
    const truncations = { count: 0 };
    sandbox.setFaults({ rate429: 0.15, rate503: 0.1, retryAfterSeconds: 0, seed: 8, tokenLifetimeSeconds: 1, truncateNdjsonRate: 0.5 });
    try {
      const { bulk } = clients(observed);
      const { statusUrl } = await bulk.kickOff({ level: { kind: "group", groupId: GROUP_ID }, types: TYPES });
      const manifest = await bulk.waitForManifest(statusUrl);
      expectSandboxContents(await readAll(bulk, manifest, truncations));
      expect(observed.throttled).toBeGreaterThan(0);
      expect(observed.unauthorized).toBeGreaterThan(0);
      expect(truncations.count).toBeGreaterThan(0);
    } finally {
      sandbox.setFaults({});
    }
  });
});
