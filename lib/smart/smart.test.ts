import { describe, expect, it } from "vitest";
import { buildScopes, isIssuerAllowed, smartConfig } from "./config";
import { readSessionId, sessionCookie } from "./cookies";
import { fhirUserFromIdToken, newLaunchState } from "./launch";
import { landingPath, parseRole, roleFromPractitionerRole } from "./roles";
import { WebRequestAdapter } from "./web-adapter";

describe("issuer allow-list", () => {
  it("allows only loopback issuers by default", () => {
    expect(isIssuerAllowed("http://127.0.0.1:4000/fhir", [])).toBe(true);
    expect(isIssuerAllowed("http://localhost:4000/fhir", [])).toBe(true);
    expect(isIssuerAllowed("https://fhir.epic.com/api/FHIR/R4", [])).toBe(false);
  });
  it("matches configured base URLs exactly and bare origins by origin", () => {
    const allowed = ["https://fhir.example.org/r4/", "https://ehr.example.com"];
    expect(isIssuerAllowed("https://fhir.example.org/r4", allowed)).toBe(true);
    expect(isIssuerAllowed("https://fhir.example.org/r5", allowed)).toBe(false);
    expect(isIssuerAllowed("https://ehr.example.com/any/base", allowed)).toBe(true);
    expect(isIssuerAllowed("https://ehr.example.com.evil.test/fhir", allowed)).toBe(false);
    expect(isIssuerAllowed("http://127.0.0.1:4000/fhir", allowed)).toBe(false);
  });
  it("refuses non-http schemes and credentials", () => {
    expect(isIssuerAllowed("javascript:alert(1)", "*")).toBe(false);
    expect(isIssuerAllowed("https://u:p@fhir.example.org", "*")).toBe(false);
    expect(isIssuerAllowed("https://anything.example", "*")).toBe(true);
  });
});

describe("configuration", () => {
  it("defaults to the sandbox's confidential client", () => {
    const c = smartConfig({});
    expect(c.clientId).toBe("eczema-jak-monitor");
    expect(c.clientSecret).toBe("sandbox-app-secret");
    expect(c.pkceMode).toBe("required");
  });
  it("uses no secret for a public client or a private key", () => {
    expect(smartConfig({ SMART_PUBLIC_CLIENT: "1" }).clientSecret).toBeUndefined();
    const c = smartConfig({ SMART_CLIENT_PRIVATE_JWK: JSON.stringify({ kty: "EC", alg: "ES384", kid: "k1" }), SMART_ALLOWED_ISSUERS: "*" });
    expect(c.clientSecret).toBeUndefined();
    expect(c.privateJwk?.kid).toBe("k1");
    expect(c.allowedIssuers).toBe("*");
  });
  it("asks for the write scope unless SMART_REQUEST_WRITE_SCOPE turns it off", () => {
    expect(smartConfig({}).requestWriteScope).toBe(true);
    expect(smartConfig({ SMART_REQUEST_WRITE_SCOPE: "1" }).requestWriteScope).toBe(true);
    for (const off of ["0", "false", "off", "no", " OFF "]) expect(smartConfig({ SMART_REQUEST_WRITE_SCOPE: off }).requestWriteScope).toBe(false);
  });
});

describe("launch state", () => {
  it("is 256 bits from the CSPRNG, base64url, different every launch", () => {
    const states = new Set(Array.from({ length: 50 }, () => newLaunchState()));
    expect(states.size).toBe(50);
    for (const state of states) {
      expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(state, "base64url")).toHaveLength(32);
    }
  });
});

describe("scopes", () => {
  it("asks for launch, identity, the patient read scopes and offline_access when offered", () => {
    const s = buildScopes({ ehrLaunch: true, scopesSupported: ["launch", "openid", "offline_access", "online_access"], capabilities: ["permission-v2"] }).split(" ");
    for (const x of ["launch", "openid", "fhirUser", "patient/Patient.rs", "patient/Observation.rs", "patient/MedicationStatement.rs", "patient/MedicationRequest.rs", "patient/MedicationDispense.rs", "patient/Condition.rs", "patient/Immunization.rs", "patient/Procedure.rs", "offline_access"]) {
      expect(s).toContain(x);
    }
    expect(s).not.toContain("online_access");
  });
  it("uses online_access when that is what the server offers, and v1 scopes on v1-only servers", () => {
    const s = buildScopes({ ehrLaunch: true, scopesSupported: ["online_access"], capabilities: ["permission-v1"] });
    expect(s).toContain("online_access");
    expect(s).toContain("patient/Observation.read");
  });
  it("asks for user-level identity and the user's PractitionerRole only in a standalone launch", () => {
    const s = buildScopes({ ehrLaunch: false, scopesSupported: ["offline_access"] });
    expect(s).not.toContain("launch");
    expect(s).not.toContain("patient/");
    expect(s.split(" ")).toEqual(["openid", "fhirUser", "user/PractitionerRole.rs", "offline_access"]);
  });
  it("asks to read the PractitionerRole it reads the role from on an EHR launch too (v1: .read)", () => {
    expect(buildScopes({ ehrLaunch: true, scopesSupported: ["launch"], capabilities: ["permission-v2"] }).split(" ")).toContain("user/PractitionerRole.rs");
    expect(buildScopes({ ehrLaunch: true, scopesSupported: ["launch"], capabilities: ["permission-v1"] }).split(" ")).toContain("user/PractitionerRole.read");
  });
  it("takes SMART_SCOPES as it is", () => {
    expect(buildScopes({ ehrLaunch: true, override: "launch patient/*.rs", scopesSupported: ["offline_access"] })).toBe("launch patient/*.rs");
  });
});

describe("cookies", () => {
  it("is HttpOnly and SameSite=Lax, Secure only over https", () => {
    expect(sessionCookie("abc", { maxAgeSeconds: 60, secure: false })).toBe("ejm_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
    expect(sessionCookie("abc", { maxAgeSeconds: 60, secure: true })).toMatch(/; Secure$/);
  });
  it("reads a well-formed session id only", () => {
    const id = "A".repeat(43);
    expect(readSessionId(new Request("http://x/", { headers: { cookie: `a=1; ejm_session=${id}` } }))).toBe(id);
    expect(readSessionId(new Request("http://x/", { headers: { cookie: "ejm_session=../../etc" } }))).toBeNull();
    expect(readSessionId(new Request("http://x/"))).toBeNull();
  });
});

describe("roles", () => {
  it("lands a launch with a patient on the patient view, else on the role's page", () => {
    expect(landingPath("p 1", "clinic-lead")).toBe("/patients/p%201");
    expect(landingPath(null, "clinic-lead")).toBe("/panel");
    expect(landingPath(null, "quality")).toBe("/reports");
    expect(landingPath(null, null)).toBe("/relaunch?reason=no-patient");
  });
  it("parses roles from the token and from PractitionerRole codes", () => {
    expect(parseRole("Clinic Lead")).toBe("clinic-lead");
    expect(parseRole("nurse")).toBeNull();
    expect(roleFromPractitionerRole({ code: [{ text: "Quality analyst" }] })).toBe("quality");
    expect(roleFromPractitionerRole({ code: [{ coding: [{ code: "clinic-lead" }] }] })).toBe("clinic-lead");
  });
  it("takes fhirUser from the id_token as a relative reference", () => {
    const tok = (claims: object): string => `x.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.y`;
    expect(fhirUserFromIdToken(tok({ fhirUser: "https://ehr.test/fhir/Practitioner/dr1" }))).toBe("Practitioner/dr1");
    expect(fhirUserFromIdToken(tok({ sub: "x" }))).toBeNull();
    expect(fhirUserFromIdToken(undefined)).toBeNull();
  });
});

describe("WebRequestAdapter", () => {
  const storage = { get: async () => undefined, set: async (_k: string, v: unknown) => v, unset: async () => false };
  it("resolves URLs against the request, or the configured public base", () => {
    const a = new WebRequestAdapter({ request: new Request("http://127.0.0.1:3000/launch?iss=x"), storage });
    expect(a.getUrl().searchParams.get("iss")).toBe("x");
    expect(a.relative("/callback")).toBe("http://127.0.0.1:3000/callback");
    expect(a.isSecure()).toBe(false);
    const b = new WebRequestAdapter({ request: new Request("http://10.0.0.5:3000/launch?iss=x"), storage, baseUrl: "https://app.example.org" });
    expect(b.relative("/callback")).toBe("https://app.example.org/callback");
    expect(b.getUrl().search).toBe("?iss=x");
    expect(b.isSecure()).toBe(true);
  });
  it("takes the origin from the Host header the browser sent, and X-Forwarded-Proto", () => {
    const req = new Request("http://localhost:3000/launch?iss=x", { headers: { host: "127.0.0.1:3000", "x-forwarded-proto": "https" } });
    expect(new WebRequestAdapter({ request: req, storage }).relative("/callback")).toBe("https://127.0.0.1:3000/callback");
    expect(new WebRequestAdapter({ request: new Request("http://localhost:3000/x", { headers: { host: "evil/../x" } }), storage }).relative("/c")).toBe("http://localhost:3000/c");
  });
  it("records the redirect instead of writing a response", () => {
    const a = new WebRequestAdapter({ request: new Request("http://h/launch"), storage });
    a.redirect("https://auth.test/authorize?x=1");
    expect(a.redirectLocation).toBe("https://auth.test/authorize?x=1");
  });
  it("makes S256 PKCE pairs", async () => {
    const a = new WebRequestAdapter({ request: new Request("http://h/launch"), storage });
    const { codeVerifier, codeChallenge } = await a.security.generatePKCEChallenge();
    const { createHash } = await import("node:crypto");
    expect(codeChallenge).toBe(createHash("sha256").update(codeVerifier).digest("base64url"));
    expect(codeVerifier.length).toBeGreaterThanOrEqual(43);
  });
});

describe("write scope for recording scores", () => {
  it("asks for patient/Observation.c on every EHR launch, whatever scopes_supported lists (it is not exhaustive)", () => {
    for (const supported of [["launch", "patient/*.rs", "user/*.cruds"], [], ["patient/Observation.rs"], ["launch", "offline_access", "patient/Observation.cruds"]]) {
      const s = buildScopes({ ehrLaunch: true, scopesSupported: supported, capabilities: ["permission-v2"] }).split(" ");
      expect(s).toContain("patient/Observation.c");
      expect(s).toContain("patient/Observation.rs");
    }
  });
  it("asks for patient/Observation.write on a v1-only server", () => {
    const s = buildScopes({ ehrLaunch: true, scopesSupported: ["launch", "patient/*.read"], capabilities: ["permission-v1"] }).split(" ");
    expect(s).toContain("patient/Observation.write");
    expect(s).not.toContain("patient/Observation.c");
  });
  it("does not ask when configured off, nor in a standalone launch", () => {
    const off = buildScopes({ ehrLaunch: true, scopesSupported: ["patient/Observation.cruds"], capabilities: ["permission-v2"], requestWriteScope: false }).split(" ");
    expect(off.filter((x) => /Observation\.(c|write)$/.test(x))).toEqual([]);
    expect(off).toContain("patient/Observation.rs");
    expect(buildScopes({ ehrLaunch: false, scopesSupported: ["patient/Observation.cruds"] })).not.toContain("Observation.c");
  });
});
