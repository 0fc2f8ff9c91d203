import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BulkExportError } from "./bulk-client";
import { exportLevelsOf, readCapabilities } from "./capabilities";
import { sendJson, startLocalTestServer, type LocalTestServer } from "./local-test-server";

const BULK = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition";
const statement = (rest: unknown[]): Record<string, unknown> => ({ resourceType: "CapabilityStatement", fhirVersion: "4.0.1", rest });

describe("exportLevelsOf", () => {
  it("reads the Bulk Data IG's declarations: system at rest.operation, patient and group on their resources", () => {
    const capabilities = statement([
      {
        mode: "server",
        operation: [{ name: "export", definition: `${BULK}/export` }],
        resource: [
          { type: "Patient", operation: [{ name: "export", definition: `${BULK}/patient-export` }] },
          { type: "Group", operation: [{ name: "export", definition: `${BULK}/group-export` }] },
        ],
      },
    ]);
    expect(exportLevelsOf(capabilities)).toEqual(["system", "patient", "group"]);
  });

  it("recognises levels by definition URL (with a version) or operation name wherever they are declared", () => {
    expect(exportLevelsOf(statement([{ mode: "server", operation: [{ name: "group-export", definition: `${BULK}/group-export|2.0.0` }] }]))).toEqual(["group"]);
    expect(exportLevelsOf(statement([{ mode: "server", operation: [{ name: "bulk", definition: `${BULK}/patient-export` }] }]))).toEqual(["patient"]);
    expect(exportLevelsOf(statement([{ operation: [{ name: "$export" }] }]))).toEqual(["system"]);
    expect(exportLevelsOf(statement([{ resource: [{ type: "Group", operation: [{ name: "export" }] }] }]))).toEqual(["group"]);
    expect(exportLevelsOf(statement([{ resource: [{ type: "Group", operation: [{ name: "x", definition: { reference: `${BULK}/group-export` } }] }] }]))).toEqual(["group"]);
  });

  it("offers nothing for servers without $export, client-mode rest entries, other operations, or input that is not a CapabilityStatement", () => {
    expect(exportLevelsOf(statement([{ mode: "server", operation: [{ name: "everything", definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything" }] }]))).toEqual([]);
    expect(exportLevelsOf(statement([{ mode: "client", operation: [{ name: "export" }] }]))).toEqual([]);
    expect(exportLevelsOf(statement([{ resource: [{ type: "Observation", operation: [{ name: "export" }] }] }]))).toEqual([]);
    expect(exportLevelsOf({ resourceType: "Bundle" })).toEqual([]);
    expect(exportLevelsOf(null)).toEqual([]);
    expect(exportLevelsOf("metadata")).toEqual([]);
    expect(exportLevelsOf(statement([null, { operation: "export" }]))).toEqual([]);
  });
});

describe("readCapabilities", () => {
  let server: LocalTestServer;
  const sleeps: number[] = [];
  beforeAll(async () => {
    server = await startLocalTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.requests.length = 0;
    sleeps.length = 0;
  });

  it("reads /metadata with the token and reports the FHIR version and export levels", async () => {
    server.handle((_request, res) => sendJson(res, 200, statement([{ mode: "server", operation: [{ name: "export", definition: `${BULK}/export` }] }])));
    const capabilities = await readCapabilities(`${server.origin}/fhir/`, { accessToken: "tok" });
    expect(capabilities).toEqual({ fhirVersion: "4.0.1", exportLevels: ["system"] });
    expect(server.requests[0]?.url.pathname).toBe("/fhir/metadata");
    expect(server.requests[0]?.headers).toMatchObject({ authorization: "Bearer tok", accept: "application/fhir+json" });
  });

  it("retries a busy server honouring Retry-After", async () => {
    let calls = 0;
    server.handle((_request, res) => (calls++ === 0 ? sendJson(res, 503, {}, { "retry-after": "2" }) : sendJson(res, 200, statement([]))));
    const capabilities = await readCapabilities(`${server.origin}/fhir`, { sleep: async (ms) => void sleeps.push(ms) });
    expect(capabilities.exportLevels).toEqual([]);
    expect(sleeps).toEqual([2000]);
  });

  it("says to check the FHIR base URL when there is no CapabilityStatement", async () => {
    server.handle((_request, res) => sendJson(res, 404, {}));
    const missing = (await readCapabilities(`${server.origin}/wrong`).catch((caught: unknown) => caught)) as BulkExportError;
    expect(missing).toBeInstanceOf(BulkExportError);
    expect(missing.status).toBe(404);
    expect(missing.hint).toMatch(/FHIR base URL/);
    server.handle((_request, res) => sendJson(res, 200, { resourceType: "Patient" }));
    await expect(readCapabilities(`${server.origin}/fhir`)).rejects.toBeInstanceOf(BulkExportError);
  });
});
