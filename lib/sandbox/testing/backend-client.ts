import { randomUUID } from "node:crypto";
import { importJWK, SignJWT, type JWK } from "jose";

/** Signs a SMART Backend Services client assertion (private_key_jwt) for a token endpoint. */
export async function signClientAssertion(
  clientId: string,
  privateJwk: JWK,
  tokenEndpoint: string,
  overrides: { expiresInSeconds?: number; jti?: string; audience?: string } = {},
): Promise<string> {
  const alg = privateJwk.alg ?? "ES384";
  const key = await importJWK(privateJwk, alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: overrides.jti ?? randomUUID() })
    .setProtectedHeader({ alg, kid: privateJwk.kid ?? "", typ: "JWT" })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(overrides.audience ?? tokenEndpoint)
    .setIssuedAt(now)
    .setExpirationTime(now + (overrides.expiresInSeconds ?? 240))
    .sign(key);
}

/** client_credentials token request with a client assertion; returns the raw response. */
export async function requestBackendToken(tokenEndpoint: string, assertion: string, scope: string): Promise<Response> {
  return fetch(tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      scope,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    }).toString(),
  });
}
