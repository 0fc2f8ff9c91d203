import { exportJWK, generateKeyPair } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { GET } from "./route";

const saved = process.env.SYNC_SOURCES;

afterEach(() => {
  if (saved === undefined) delete process.env.SYNC_SOURCES;
  else process.env.SYNC_SOURCES = saved;
});

async function privateJwk(kid: string, alg: "ES384" | "RS384") {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg };
}

describe("GET /jwks.json", () => {
  it("serves the public part of every configured source key, once per key, with a short cache", async () => {
    const es = await privateJwk("es-key", "ES384");
    const rs = await privateJwk("rs-key", "RS384");
    const source = (id: string, key: object) => ({ id, fhirBase: "https://ehr.example/fhir", clientId: "app", privateJwk: key });
    process.env.SYNC_SOURCES = JSON.stringify([source("a", es), source("b", rs), source("c", es)]);
    const response = await GET();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    const body = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys.map((key) => key.kid)).toEqual(["es-key", "rs-key"]);
    for (const key of body.keys) {
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    }
    expect(body.keys[0]).toMatchObject({ kty: "EC", crv: "P-384", alg: "ES384", x: es.x, y: es.y });
  });

  it("answers 500 naming the bad field when the configuration is invalid", async () => {
    process.env.SYNC_SOURCES = JSON.stringify([{ id: "a", fhirBase: "nope", clientId: "app" }]);
    const response = await GET();
    expect(response.status).toBe(500);
    expect(((await response.json()) as { message: string }).message).toMatch(/SYNC_SOURCES\[0\]\.fhirBase/);
  });
});
