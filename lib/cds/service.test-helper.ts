/**
 * What the CDS integration tests share: a CDS client's signing key and JWT, a sandbox system token, and a prefetch
 * filled from the sandbox with the discovery's templates (every page read, as an EHR's own FHIR layer would).
 */
import { randomUUID } from "node:crypto";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { BULK_CLIENT_ID, createBackendClientKeys, type RunningSandbox } from "../sandbox";
import { requestBackendToken, signClientAssertion } from "../sandbox/testing/backend-client";
import type { CdsCard } from "./card-types";
import { PREFETCH_TEMPLATES } from "./discovery";

export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

export async function signingKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES384");
  const kid = randomUUID();
  return { privateKey, kid, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "ES384", use: "sig" } };
}

export interface JwtClaims {
  key: SigningKey;
  iss: string;
  aud: string;
  exp?: number;
  jti?: string;
  jku?: string;
}

/** A CDS client JWT as the spec describes it: ES384, kid, typ JWT; iss, sub, aud, iat, exp, jti. */
export function signCdsClientJwt(claims: JwtClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: claims.jti ?? randomUUID() })
    .setProtectedHeader({ alg: "ES384", kid: claims.key.kid, typ: "JWT", ...(claims.jku ? { jku: claims.jku } : {}) })
    .setIssuer(claims.iss)
    .setSubject(claims.iss)
    .setAudience(claims.aud)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 300)
    .sign(claims.key.privateKey);
}

/** A Backend Services token (system/*.rs) the sandbox's FHIR API accepts: what the tests hand over as fhirAuthorization. */
export async function sandboxSystemToken(sandbox: RunningSandbox): Promise<string> {
  const keys = await createBackendClientKeys("ES384");
  sandbox.registerClient({ clientId: BULK_CLIENT_ID, jwks: keys.publicJwks });
  const tokenEndpoint = `${sandbox.origin}/auth/token`;
  const response = await requestBackendToken(tokenEndpoint, await signClientAssertion(BULK_CLIENT_ID, keys.privateJwk, tokenEndpoint), "system/*.rs");
  if (!response.ok) throw new Error(`the sandbox refused a system token (HTTP ${response.status})`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export function fhirAuthorizationFor(sandbox: RunningSandbox, token: string): Record<string, unknown> {
  return {
    fhirServer: sandbox.fhirBase,
    fhirAuthorization: { access_token: token, token_type: "Bearer", expires_in: 300, scope: "system/*.rs", subject: BULK_CLIENT_ID },
  };
}

async function searchAll(fhirBase: string, token: string, query: string): Promise<Resource[]> {
  const out: Resource[] = [];
  let next: string | undefined = `${fhirBase}/${query}${query.includes("?") ? "&" : "?"}_count=500`;
  while (next) {
    const response = await fetch(next, { headers: { authorization: `Bearer ${token}`, accept: "application/fhir+json" } });
    if (!response.ok) throw new Error(`the sandbox answered HTTP ${response.status} to a search`);
    const bundle = (await response.json()) as Bundle;
    for (const entry of bundle.entry ?? []) if (entry.resource) out.push(entry.resource);
    next = bundle.link?.find((l) => l.relation === "next")?.url;
  }
  return out;
}

/** Every prefetch template of the discovery, filled for one patient from the sandbox. */
export async function sandboxPrefetch(sandbox: RunningSandbox, token: string, patientId: string): Promise<Record<string, Resource | Bundle>> {
  const prefetch: Record<string, Resource | Bundle> = {};
  for (const [key, template] of Object.entries(PREFETCH_TEMPLATES)) {
    const query = template.replace("{{context.patientId}}", patientId);
    if (key === "patient") {
      const response = await fetch(`${sandbox.fhirBase}/${query}`, { headers: { authorization: `Bearer ${token}` } });
      prefetch[key] = (await response.json()) as Resource;
    } else {
      const resources = await searchAll(sandbox.fhirBase, token, query);
      prefetch[key] = { resourceType: "Bundle", type: "searchset", total: resources.length, entry: resources.map((resource) => ({ resource })) };
    }
  }
  return prefetch;
}

/** The resources of a prefetch, flattened. */
export function prefetchResources(prefetch: Record<string, Resource | Bundle>): Resource[] {
  return Object.values(prefetch).flatMap((value) => (value.resourceType === "Bundle" ? ((value as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : [value as Resource]));
}

/** A card as a clinician reads it: everything but the uuids, which differ between calls. */
export function withoutUuids(cards: readonly CdsCard[]): unknown[] {
  return cards.map((card) =>
    JSON.parse(JSON.stringify(card, (key, value: unknown) => (key === "uuid" ? undefined : value))),
  );
}
