import { describe, expect, it } from "vitest";
import { assertProductionSecrets, productionSecretProblems, smartConfig } from "./config";
import { sessionKey } from "./crypto";
import { pinnedDateWarning } from "./session-warnings";

const SECRET = "x".repeat(32);

describe("secrets only from the environment in production", () => {
  it("refuses to start in production without SESSION_SECRET or a SMART client credential", () => {
    expect(() => assertProductionSecrets({ NODE_ENV: "production" })).toThrow(/SESSION_SECRET is not set.*SMART_CLIENT_SECRET or SMART_CLIENT_PRIVATE_JWK/);
    expect(() => smartConfig({ NODE_ENV: "production", SESSION_SECRET: SECRET })).toThrow(/no SMART client credential/);
    expect(productionSecretProblems({ NODE_ENV: "production", SESSION_SECRET: "short", SMART_CLIENT_SECRET: "s" })).toEqual(["SESSION_SECRET is shorter than 32 bytes"]);
  });

  it("starts in production with the secrets set, and in the demo or development without them", () => {
    expect(productionSecretProblems({ NODE_ENV: "production", SESSION_SECRET: SECRET, SMART_CLIENT_SECRET: "s" })).toEqual([]);
    // CDS clients need a configured base for the JWT's aud, not one taken from the request's Host header.
    const cds = { NODE_ENV: "production", SESSION_SECRET: SECRET, SMART_CLIENT_SECRET: "s", CDS_CLIENTS: "[]" };
    expect(productionSecretProblems(cds)).toEqual([expect.stringMatching(/CDS_CLIENTS is set without CDS_SERVICE_BASE_URL or APP_BASE_URL/)]);
    expect(productionSecretProblems({ ...cds, APP_BASE_URL: "https://app.example.org" })).toEqual([]);
    expect(productionSecretProblems({ ...cds, CDS_CLIENTS: undefined, CDS_CLIENTS_FILE: "/etc/ejm/cds.json", CDS_SERVICE_BASE_URL: "https://cds.example.org" })).toEqual([]);
    expect(productionSecretProblems({ ...cds, NODE_ENV: "development" })).toEqual([]);
    expect(productionSecretProblems({ NODE_ENV: "production", SESSION_SECRET: SECRET, SMART_PUBLIC_CLIENT: "1" })).toEqual([]);
    expect(productionSecretProblems({ NODE_ENV: "production", EJM_DEMO: "1" })).toEqual([]);
    expect(productionSecretProblems({ NODE_ENV: "development" })).toEqual([]);
    expect(smartConfig({ NODE_ENV: "production", EJM_DEMO: "1" }).clientSecret).toBe("sandbox-app-secret");
  });

  it("never generates a session secret in production", () => {
    expect(() => sessionKey({ NODE_ENV: "production", EJM_DATA_DIR: "/nonexistent-ejm" })).toThrow(/SESSION_SECRET is not set/);
  });
});

describe("CLINIC_AS_OF warning", () => {
  it("warns when the date is pinned outside the demo, and not in the demo or when nothing is pinned", () => {
    expect(pinnedDateWarning({ CLINIC_AS_OF: "2026-01-15" })).toMatch(/CLINIC_AS_OF pins today's date to 2026-01-15/);
    expect(pinnedDateWarning({ CLINIC_AS_OF: "2026-01-15", EJM_DEMO: "1" })).toBeNull();
    expect(pinnedDateWarning({})).toBeNull();
  });
});
