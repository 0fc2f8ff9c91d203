import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cdsAppLaunchUrl, cdsClientsFromEnv, CdsConfigError, cdsServiceBase, cdsServiceUrl, fhirServerAllowed, parseCdsClients } from "./config";

const PUBLIC_EC = { kty: "EC", crv: "P-384", x: "x", y: "y", kid: "k1", alg: "ES384" };

describe("parseCdsClients", () => {
  it("reads clients with inline keys, a JWKS URL or an allowed jku, trailing slashes dropped", () => {
    const clients = parseCdsClients([
      { iss: "https://ehr.example.org/", jwks: { keys: [PUBLIC_EC] } },
      { iss: "https://other.example.org", jwksUrl: "https://other.example.org/jwks.json", fhirServerAllow: ["https://other.example.org/fhir/"] },
      { iss: "https://third.example.org", jkuAllow: ["https://third.example.org/keys"] },
    ]);
    expect(clients.map((c) => c.iss)).toEqual(["https://ehr.example.org", "https://other.example.org", "https://third.example.org"]);
    expect(clients[1]!.fhirServerAllow).toEqual(["https://other.example.org/fhir"]);
  });

  it("reads the { clients: [...] } form", () => {
    expect(parseCdsClients({ clients: [{ iss: "https://ehr.example.org", jwks: { keys: [PUBLIC_EC] } }] })).toHaveLength(1);
  });

  it("refuses a client with no way to find its keys", () => {
    expect(() => parseCdsClients([{ iss: "https://ehr.example.org" }])).toThrow(/CDS_CLIENTS\[0\].*jwksUrl, jwks or jkuAllow/);
  });

  it("refuses a private key in the configuration", () => {
    expect(() => parseCdsClients([{ iss: "https://ehr.example.org", jwks: { keys: [{ ...PUBLIC_EC, d: "secret" }] } }])).toThrow(/public key/);
  });

  it("refuses an issuer listed twice", () => {
    const entry = { iss: "https://ehr.example.org", jwks: { keys: [PUBLIC_EC] } };
    expect(() => parseCdsClients([entry, { ...entry, iss: "https://ehr.example.org/" }])).toThrow(/listed twice/);
  });

  it("refuses unknown fields and a value that is not a list", () => {
    expect(() => parseCdsClients([{ iss: "https://ehr.example.org", jwksUrl: "https://ehr.example.org/k", secret: "x" }])).toThrow(CdsConfigError);
    expect(() => parseCdsClients("nope")).toThrow(/JSON array/);
  });
});

describe("cdsClientsFromEnv", () => {
  it("has no clients when nothing is configured", () => {
    expect(cdsClientsFromEnv({})).toEqual([]);
  });

  it("reads CDS_CLIENTS", () => {
    expect(cdsClientsFromEnv({ CDS_CLIENTS: JSON.stringify([{ iss: "https://a.example.org", jwksUrl: "https://a.example.org/k" }]) })[0]!.iss).toBe("https://a.example.org");
  });

  it("reads CDS_CLIENTS_FILE when CDS_CLIENTS is unset", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cds-config-"));
    try {
      const file = path.join(dir, "clients.json");
      writeFileSync(file, JSON.stringify({ clients: [{ iss: "https://b.example.org", jwksUrl: "https://b.example.org/k" }] }));
      expect(cdsClientsFromEnv({ CDS_CLIENTS_FILE: file })[0]!.iss).toBe("https://b.example.org");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the variable when its JSON is broken or its file is missing", () => {
    expect(() => cdsClientsFromEnv({ CDS_CLIENTS: "[{" })).toThrow(/CDS_CLIENTS: is not valid JSON/);
    expect(() => cdsClientsFromEnv({ CDS_CLIENTS_FILE: "/nonexistent/cds-clients.json" })).toThrow(/CDS_CLIENTS_FILE: cannot read/);
  });
});

describe("service and launch URLs", () => {
  const request = new Request("http://127.0.0.1:3000/cds-services/x", { headers: { host: "127.0.0.1:3000" } });

  it("takes the service base from CDS_SERVICE_BASE_URL, then APP_BASE_URL, then the request", () => {
    expect(cdsServiceBase(request, { CDS_SERVICE_BASE_URL: "https://cds.example.org/", APP_BASE_URL: "https://app.example.org" })).toBe("https://cds.example.org");
    expect(cdsServiceBase(request, { APP_BASE_URL: "https://app.example.org" })).toBe("https://app.example.org");
    expect(cdsServiceBase(request, {})).toBe("http://127.0.0.1:3000");
  });

  it("builds the service URL the JWT aud must equal", () => {
    expect(cdsServiceUrl("https://app.example.org/", "jak-monitor-order-sign")).toBe("https://app.example.org/cds-services/jak-monitor-order-sign");
  });

  it("points card links at the app's launch URL", () => {
    expect(cdsAppLaunchUrl(request, { APP_BASE_URL: "https://app.example.org/" })).toBe("https://app.example.org/launch");
    expect(cdsAppLaunchUrl(request, {})).toBe("http://127.0.0.1:3000/launch");
  });
});

describe("fhirServerAllowed", () => {
  it("without an allow-list, allows only servers on the origin of the client's iss", () => {
    const ehr = { iss: "https://ehr.example.org", jwksUrl: "https://ehr.example.org/k" };
    expect(fhirServerAllowed(ehr, "https://ehr.example.org/fhir/r4")).toBe(true);
    expect(fhirServerAllowed(ehr, "https://anything.example.org/fhir")).toBe(false);
    expect(fhirServerAllowed(ehr, "http://ehr.example.org/fhir")).toBe(false);
    expect(fhirServerAllowed(ehr, "https://ehr.example.org:8443/fhir")).toBe(false);
    expect(fhirServerAllowed(ehr, "http://169.254.169.254/latest/meta-data")).toBe(false);
    expect(fhirServerAllowed(ehr, "not a url")).toBe(false);
    // An iss that is not a URL names no origin: only an allow-list lets the service call a server for it.
    expect(fhirServerAllowed({ iss: "ehr-client-1", jwksUrl: "https://a/k" }, "https://ehr.example.org/fhir")).toBe(false);
  });

  it("with an allow-list, allows only the listed bases", () => {
    const client = { iss: "a", jwksUrl: "https://a/k", fhirServerAllow: ["https://ehr.example.org/fhir"] };
    expect(fhirServerAllowed(client, "https://ehr.example.org/fhir/")).toBe(true);
    expect(fhirServerAllowed(client, "https://ehr.example.org/fhir/r4")).toBe(true);
    expect(fhirServerAllowed(client, "https://ehr.example.org/fhirx")).toBe(false);
    expect(fhirServerAllowed(client, "https://evil.example.net/fhir")).toBe(false);
  });
});
