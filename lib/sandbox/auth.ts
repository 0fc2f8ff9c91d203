import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from "jose";
import { ClientRegistry, type SandboxClient } from "./clients";
import { findPractitioner } from "./directory";
import type { FaultInjector } from "./faults";
import { escapeHtml, parseCookies, readForm, redirect, sendHtml, sendJson } from "./http-util";
import { listPractitioners } from "./directory";
import type { SandboxRepository } from "./repository";
import { isKnownScope, parseResourceScope, scopeCovers, splitScopes, type ResourceScope } from "./scopes";

/** Cookie the sandbox uses as its "EHR login session" for standalone launches. */
export const LOGIN_COOKIE = "sandbox_practitioner";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const LAUNCH_LIFETIME_MS = 10 * 60 * 1000;
const CODE_LIFETIME_MS = 2 * 60 * 1000;
const DEFAULT_USER_TOKEN_SECONDS = 3600;
const DEFAULT_SYSTEM_TOKEN_SECONDS = 300;
const ONLINE_REFRESH_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface AccessTokenRecord {
  clientId: string;
  scopes: string[];
  resourceScopes: ResourceScope[];
  patientId?: string;
  practitionerId?: string;
  /** Epoch milliseconds after which the token is rejected. */
  expiresAt: number;
}

interface PendingLaunch {
  practitionerId: string;
  patientId?: string;
  expiresAt: number;
}

interface AuthorizationGrant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  practitionerId: string;
  patientId?: string;
  ehrLaunch: boolean;
  nonce?: string;
  expiresAt: number;
}

interface RefreshTokenRecord {
  clientId: string;
  scopes: string[];
  practitionerId: string;
  patientId?: string;
  ehrLaunch: boolean;
  expiresAt?: number;
}

export interface AuthServerOptions {
  repo: SandboxRepository;
  clients: ClientRegistry;
  origin: string;
  fhirBase: string;
  faults: FaultInjector;
  tokenLifetimeSeconds?: number;
}

export type TokenCheck =
  | { ok: true; token: AccessTokenRecord }
  | { ok: false; reason: "missing" | "invalid" | "expired" };

class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** SMART App Launch 2.x authorization server: authorize, token, launch contexts, id_token signing keys. */
export class AuthServer {
  readonly authorizePath = "/auth/authorize";
  readonly tokenPath = "/auth/token";
  readonly jwksPath = "/auth/jwks";
  readonly introspectPath = "/auth/introspect";
  private readonly launches = new Map<string, PendingLaunch>();
  private readonly codes = new Map<string, AuthorizationGrant>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  private signingKey: { privateKey: CryptoKey; publicJwk: JWK } | undefined;

  constructor(private readonly options: AuthServerOptions) {}

  get tokenEndpoint(): string {
    return `${this.options.origin}${this.tokenPath}`;
  }

  async init(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    this.signingKey = { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: "sandbox-id-token", alg: "RS256", use: "sig" } };
  }

  smartConfiguration(): Record<string, unknown> {
    const { origin, fhirBase } = this.options;
    return {
      issuer: fhirBase,
      jwks_uri: `${origin}${this.jwksPath}`,
      authorization_endpoint: `${origin}${this.authorizePath}`,
      token_endpoint: this.tokenEndpoint,
      introspection_endpoint: `${origin}${this.introspectPath}`,
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
      token_endpoint_auth_signing_alg_values_supported: ["RS384", "ES384"],
      // Not exhaustive, as SMART App Launch 2 allows and EHRs do: no patient-level create is listed, yet
      // patient/Observation.c is granted when asked (clients must decide from the granted `scope`).
      scopes_supported: [
        "openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
        "patient/*.rs", "user/*.cruds", "system/*.rs", "patient/*.read", "user/*.read", "system/*.read",
      ],
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      capabilities: [
        "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
        "client-confidential-asymmetric", "context-ehr-patient",
        "context-banner", "context-style", "permission-offline", "permission-online", "permission-patient",
        "permission-user", "permission-v1", "permission-v2", "sso-openid-connect", "authorize-post",
      ],
    };
  }

  openidConfiguration(): Record<string, unknown> {
    const { origin, fhirBase } = this.options;
    return {
      issuer: fhirBase,
      authorization_endpoint: `${origin}${this.authorizePath}`,
      token_endpoint: this.tokenEndpoint,
      jwks_uri: `${origin}${this.jwksPath}`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid", "fhirUser", "profile"],
      claims_supported: ["iss", "sub", "aud", "exp", "iat", "fhirUser", "nonce", "name"],
    };
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.signingKey ? [this.signingKey.publicJwk] : [] };
  }

  /** Registers an EHR launch context and returns the opaque `launch` value. */
  createLaunch(practitionerId: string, patientId?: string): string {
    this.sweep();
    const launchId = randomToken(16);
    this.launches.set(launchId, { practitionerId, patientId, expiresAt: Date.now() + LAUNCH_LIFETIME_MS });
    return launchId;
  }

  checkAccessToken(authorization: string | undefined): TokenCheck {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!match?.[1]) return { ok: false, reason: "missing" };
    const record = this.accessTokens.get(match[1]);
    if (!record) return { ok: false, reason: "invalid" };
    if (Date.now() >= record.expiresAt) return { ok: false, reason: "expired" };
    return { ok: true, token: record };
  }

  // ---------------------------------------------------------------- authorize

  async handleAuthorize(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const params = req.method === "POST" ? await readForm(req) : url.searchParams;
    const clientId = params.get("client_id") ?? "";
    const redirectUri = params.get("redirect_uri") ?? "";
    const client = this.options.clients.get(clientId);
    // Without a valid client and redirect URI the error must not be redirected (RFC 6749 4.1.2.1).
    if (!client) return this.authorizeErrorPage(res, "Unknown client_id.");
    if (!redirectUri || !this.options.clients.isRedirectUriAllowed(client, redirectUri)) {
      return this.authorizeErrorPage(res, "redirect_uri is missing or not registered for this client.");
    }
    const state = params.get("state") ?? undefined;
    const fail = (error: string, description: string): void => {
      const target = new URL(redirectUri);
      target.searchParams.set("error", error);
      target.searchParams.set("error_description", description);
      if (state !== undefined) target.searchParams.set("state", state);
      redirect(res, target.toString());
    };

    if (params.get("response_type") !== "code") return fail("unsupported_response_type", "response_type must be code");
    if (!state) return fail("invalid_request", "state is required");
    const aud = params.get("aud");
    if (aud && aud.replace(/\/$/, "") !== this.options.fhirBase) {
      return fail("invalid_request", "aud does not name this FHIR server");
    }
    if (!aud) return fail("invalid_request", "aud is required");
    const codeChallenge = params.get("code_challenge");
    const challengeMethod = params.get("code_challenge_method");
    if (!codeChallenge) return fail("invalid_request", "PKCE is required: code_challenge missing");
    if (challengeMethod !== "S256") return fail("invalid_request", "PKCE code_challenge_method must be S256");
    if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) return fail("invalid_request", "code_challenge is not a base64url SHA-256 digest");

    const requested = splitScopes(params.get("scope"));
    if (requested.length === 0) return fail("invalid_scope", "scope is required");

    let practitionerId: string;
    let patientId: string | undefined;
    let ehrLaunch = false;
    const launchParam = params.get("launch");
    if (launchParam) {
      const launch = this.launches.get(launchParam);
      if (!launch || launch.expiresAt < Date.now()) return fail("invalid_request", "launch is unknown or expired");
      practitionerId = launch.practitionerId;
      patientId = launch.patientId;
      ehrLaunch = true;
    } else {
      // Standalone launch: the EHR login is the launcher's cookie, a login_hint, or the picker below.
      const picked = params.get("sandbox_practitioner") ?? params.get("login_hint")?.replace(/^.*Practitioner\//, "");
      const cookie = parseCookies(req)[LOGIN_COOKIE];
      const candidate = picked ?? cookie;
      if (!candidate || !findPractitioner(this.options.repo, candidate)) {
        return this.practitionerPicker(res, params);
      }
      practitionerId = candidate;
      if (picked) res.setHeader("Set-Cookie", loginCookie(candidate));
    }

    const granted = this.grantScopes(client, requested, { hasPatient: Boolean(patientId), ehrLaunch, system: false });
    if (granted.length === 0) return fail("invalid_scope", "none of the requested scopes can be granted");
    if (!ehrLaunch && requested.includes("launch")) return fail("invalid_request", "scope launch requires the launch parameter");

    const code = randomToken();
    this.codes.set(code, {
      clientId,
      redirectUri,
      codeChallenge,
      scopes: granted,
      practitionerId,
      patientId: granted.includes("launch") || granted.includes("launch/patient") ? patientId : undefined,
      ehrLaunch,
      nonce: params.get("nonce") ?? undefined,
      expiresAt: Date.now() + CODE_LIFETIME_MS,
    });
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    target.searchParams.set("state", state);
    redirect(res, target.toString());
  }

  private grantScopes(
    client: SandboxClient,
    requested: string[],
    context: { hasPatient: boolean; ehrLaunch: boolean; system: boolean },
  ): string[] {
    const allowed = client.allowedScopes;
    const granted: string[] = [];
    for (const scope of requested) {
      if (!isKnownScope(scope)) continue;
      if (allowed && !allowed.some((allowedScope) => scopeCovers(allowedScope, scope))) continue;
      const resourceScope = parseResourceScope(scope);
      if (context.system) {
        if (resourceScope?.context === "system") granted.push(scope);
        continue;
      }
      if (resourceScope?.context === "system") continue;
      if (resourceScope?.context === "patient" && !context.hasPatient) continue;
      if (scope === "launch" && !context.ehrLaunch) continue;
      if (scope === "launch/patient" && !context.hasPatient) continue;
      granted.push(scope);
    }
    return [...new Set(granted)];
  }

  private practitionerPicker(res: ServerResponse, params: URLSearchParams): void {
    const hidden = [...params.entries()]
      .filter(([name]) => name !== "sandbox_practitioner")
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join("\n");
    const options = listPractitioners(this.options.repo)
      .map(
        (practitioner, index) =>
          `<li><label><input type="radio" name="sandbox_practitioner" value="${escapeHtml(practitioner.id)}"${index === 0 ? " checked" : ""}> ${escapeHtml(practitioner.name)} <span class="role">${escapeHtml(practitioner.role ?? "no app role")}</span></label></li>`,
      )
      .join("\n");
    sendHtml(
      res,
      200,
      page(
        "Sign in to the sandbox EHR",
        `<h1>Sign in to the sandbox EHR</h1>
<p>An app asked to sign you in. Choose who you are; there is no password in the sandbox.</p>
<form method="get" action="${this.authorizePath}">
${hidden}
<fieldset><legend>Practitioner</legend><ul class="plain">${options}</ul></fieldset>
<button type="submit">Sign in and continue</button>
</form>`,
      ),
    );
  }

  private authorizeErrorPage(res: ServerResponse, message: string): void {
    sendHtml(res, 400, page("Authorization error", `<h1>Authorization error</h1><p role="alert">${escapeHtml(message)}</p>`));
  }

  // ---------------------------------------------------------------- token

  async handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const form = await readForm(req);
      const client = await this.authenticateClient(req, form);
      const grantType = form.get("grant_type");
      let body: Record<string, unknown>;
      if (grantType === "authorization_code") body = await this.exchangeCode(client, form);
      else if (grantType === "refresh_token") body = this.refresh(client, form);
      else if (grantType === "client_credentials") body = this.clientCredentials(client, form);
      else throw new OAuthError("unsupported_grant_type", "grant_type must be authorization_code, refresh_token or client_credentials");
      sendJson(res, 200, body, { Pragma: "no-cache" });
    } catch (error) {
      const oauth = error instanceof OAuthError ? error : new OAuthError("invalid_request", "malformed token request");
      const headers: Record<string, string> = oauth.status === 401 ? { "WWW-Authenticate": 'Basic realm="sandbox"' } : {};
      sendJson(res, oauth.status, { error: oauth.error, error_description: oauth.description }, headers);
    }
  }

  private async authenticateClient(
    req: IncomingMessage,
    form: URLSearchParams,
  ): Promise<SandboxClient & { authenticatedBy: "secret" | "jwt" | "none" }> {
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], "base64").toString("utf8");
      const separator = decoded.indexOf(":");
      const clientId = decodeURIComponent(decoded.slice(0, separator));
      const secret = decodeURIComponent(decoded.slice(separator + 1));
      const client = this.options.clients.get(clientId);
      if (separator < 0 || !client || !this.options.clients.checkSecret(client, secret)) {
        throw new OAuthError("invalid_client", "client authentication failed", 401);
      }
      return { ...client, authenticatedBy: "secret" };
    }
    const assertion = form.get("client_assertion");
    if (assertion) {
      if (form.get("client_assertion_type") !== CLIENT_ASSERTION_TYPE) {
        throw new OAuthError("invalid_client", "unsupported client_assertion_type", 401);
      }
      try {
        const client = await this.options.clients.verifyClientAssertion(assertion, this.tokenEndpoint);
        const claimedId = form.get("client_id");
        if (claimedId && claimedId !== client.clientId) throw new Error("client_id does not match the assertion");
        return { ...client, authenticatedBy: "jwt" };
      } catch (error) {
        throw new OAuthError("invalid_client", `client assertion rejected: ${(error as Error).message}`, 401);
      }
    }
    const clientId = form.get("client_id") ?? "";
    const client = this.options.clients.get(clientId);
    if (!client) throw new OAuthError("invalid_client", "unknown client", 401);
    const secret = form.get("client_secret");
    if (secret !== null) {
      if (!this.options.clients.checkSecret(client, secret)) throw new OAuthError("invalid_client", "client authentication failed", 401);
      return { ...client, authenticatedBy: "secret" };
    }
    if (client.clientSecret || this.options.clients.hasKeys(client)) {
      throw new OAuthError("invalid_client", "this confidential client must authenticate", 401);
    }
    return { ...client, authenticatedBy: "none" };
  }

  private async exchangeCode(client: SandboxClient, form: URLSearchParams): Promise<Record<string, unknown>> {
    const code = form.get("code") ?? "";
    const grant = this.codes.get(code);
    // Codes are single use: remove before any further check.
    this.codes.delete(code);
    if (!grant || grant.expiresAt < Date.now()) throw new OAuthError("invalid_grant", "authorization code is invalid or expired");
    if (grant.clientId !== client.clientId) throw new OAuthError("invalid_grant", "code was issued to another client");
    if (form.get("redirect_uri") !== grant.redirectUri) throw new OAuthError("invalid_grant", "redirect_uri does not match");
    const verifier = form.get("code_verifier");
    if (!verifier) throw new OAuthError("invalid_grant", "PKCE code_verifier is required");
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) throw new OAuthError("invalid_grant", "code_verifier is malformed");
    const digest = createHash("sha256").update(verifier).digest("base64url");
    if (digest !== grant.codeChallenge) throw new OAuthError("invalid_grant", "PKCE verification failed");

    const body = this.issueUserTokens(client.clientId, grant.scopes, grant.practitionerId, grant.patientId, grant.ehrLaunch);
    if (grant.scopes.includes("openid") && (grant.scopes.includes("fhirUser") || grant.scopes.includes("profile"))) {
      body.id_token = await this.signIdToken(client.clientId, grant.practitionerId, grant.nonce);
    }
    const wantsRefresh = grant.scopes.includes("offline_access") || grant.scopes.includes("online_access");
    if (wantsRefresh) {
      const refreshToken = randomToken();
      this.refreshTokens.set(refreshToken, {
        clientId: client.clientId,
        scopes: grant.scopes,
        practitionerId: grant.practitionerId,
        patientId: grant.patientId,
        ehrLaunch: grant.ehrLaunch,
        expiresAt: grant.scopes.includes("offline_access") ? undefined : Date.now() + ONLINE_REFRESH_LIFETIME_MS,
      });
      body.refresh_token = refreshToken;
    }
    return body;
  }

  private refresh(client: SandboxClient, form: URLSearchParams): Record<string, unknown> {
    const refreshToken = form.get("refresh_token") ?? "";
    const record = this.refreshTokens.get(refreshToken);
    if (!record || (record.expiresAt !== undefined && record.expiresAt < Date.now())) {
      throw new OAuthError("invalid_grant", "refresh token is invalid or expired");
    }
    if (record.clientId !== client.clientId) throw new OAuthError("invalid_grant", "refresh token was issued to another client");
    const requested = splitScopes(form.get("scope"));
    const narrowed = requested.length > 0 ? requested : record.scopes;
    if (narrowed.some((scope) => !record.scopes.includes(scope))) {
      throw new OAuthError("invalid_scope", "a refresh may only narrow the original scopes");
    }
    const body = this.issueUserTokens(client.clientId, narrowed, record.practitionerId, record.patientId, record.ehrLaunch);
    // Refresh tokens are single use and rotated (as many SMART servers do): a second use is invalid_grant.
    this.refreshTokens.delete(refreshToken);
    const rotated = randomToken();
    this.refreshTokens.set(rotated, record);
    body.refresh_token = rotated;
    return body;
  }

  private clientCredentials(client: SandboxClient & { authenticatedBy: string }, form: URLSearchParams): Record<string, unknown> {
    if (client.authenticatedBy !== "jwt") {
      throw new OAuthError("invalid_client", "client_credentials requires a private_key_jwt client assertion", 401);
    }
    const requested = splitScopes(form.get("scope"));
    const granted = this.grantScopes(client, requested, { hasPatient: false, ehrLaunch: false, system: true });
    if (granted.length === 0) throw new OAuthError("invalid_scope", "request at least one system/ scope");
    const lifetime = this.options.tokenLifetimeSeconds ?? DEFAULT_SYSTEM_TOKEN_SECONDS;
    const accessToken = this.storeAccessToken({ clientId: client.clientId, scopes: granted }, lifetime);
    return { access_token: accessToken, token_type: "Bearer", expires_in: lifetime, scope: granted.join(" ") };
  }

  private issueUserTokens(
    clientId: string,
    scopes: string[],
    practitionerId: string,
    patientId: string | undefined,
    ehrLaunch: boolean,
  ): Record<string, unknown> {
    const lifetime = this.options.tokenLifetimeSeconds ?? DEFAULT_USER_TOKEN_SECONDS;
    const accessToken = this.storeAccessToken({ clientId, scopes, practitionerId, patientId }, lifetime);
    // No role in the token response (EHRs give none): clients read the fhirUser's PractitionerRole.
    return {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: lifetime,
      scope: scopes.join(" "),
      ...(patientId ? { patient: patientId, need_patient_banner: !ehrLaunch } : {}),
      smart_style_url: `${this.options.origin}/smart-style.json`,
    };
  }

  /**
   * Issues an access token without an authorize step: the EHR handing a CDS service its `fhirAuthorization`
   * (CDS Hooks 2.0). The FHIR API enforces it like any other token (scopes, patient compartment, expiry).
   */
  issueAccessToken(
    grant: { clientId: string; scopes: string[]; patientId?: string; practitionerId?: string },
    lifetimeSeconds: number,
  ): { access_token: string; token_type: "Bearer"; expires_in: number; scope: string } {
    const accessToken = this.storeAccessToken(grant, lifetimeSeconds);
    return { access_token: accessToken, token_type: "Bearer", expires_in: lifetimeSeconds, scope: grant.scopes.join(" ") };
  }

  private storeAccessToken(
    grant: { clientId: string; scopes: string[]; practitionerId?: string; patientId?: string },
    advertisedSeconds: number,
  ): string {
    this.sweep();
    const earlySeconds = this.options.faults.earlyExpirySeconds();
    const effectiveSeconds = earlySeconds !== undefined ? Math.min(earlySeconds, advertisedSeconds) : advertisedSeconds;
    const token = randomToken();
    this.accessTokens.set(token, {
      clientId: grant.clientId,
      scopes: grant.scopes,
      resourceScopes: grant.scopes.map(parseResourceScope).filter((scope): scope is ResourceScope => scope !== undefined),
      ...(grant.practitionerId ? { practitionerId: grant.practitionerId } : {}),
      ...(grant.patientId ? { patientId: grant.patientId } : {}),
      expiresAt: Date.now() + effectiveSeconds * 1000,
    });
    return token;
  }

  private async signIdToken(clientId: string, practitionerId: string, nonce: string | undefined): Promise<string> {
    if (!this.signingKey) throw new OAuthError("server_error", "signing key not initialised", 500);
    const practitioner = findPractitioner(this.options.repo, practitionerId);
    return new SignJWT({
      fhirUser: `${this.options.fhirBase}/Practitioner/${practitionerId}`,
      ...(practitioner ? { name: practitioner.name } : {}),
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ alg: "RS256", kid: this.signingKey.publicJwk.kid ?? "sandbox-id-token", typ: "JWT" })
      .setIssuer(this.options.fhirBase)
      .setSubject(practitionerId)
      .setAudience(clientId)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(this.signingKey.privateKey);
  }

  /** RFC 7662 introspection for resource servers and debugging; requires any authenticated client. */
  async handleIntrospect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const form = await readForm(req);
      await this.authenticateClient(req, form);
      const check = this.checkAccessToken(`Bearer ${form.get("token") ?? ""}`);
      if (!check.ok) return sendJson(res, 200, { active: false });
      const { token } = check;
      sendJson(res, 200, {
        active: true,
        client_id: token.clientId,
        scope: token.scopes.join(" "),
        exp: Math.floor(token.expiresAt / 1000),
        ...(token.patientId ? { patient: token.patientId } : {}),
        ...(token.practitionerId ? { fhirUser: `${this.options.fhirBase}/Practitioner/${token.practitionerId}` } : {}),
      });
    } catch (error) {
      const oauth = error instanceof OAuthError ? error : new OAuthError("invalid_request", "malformed request");
      sendJson(res, oauth.status, { error: oauth.error, error_description: oauth.description });
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, launch] of this.launches) if (launch.expiresAt < now) this.launches.delete(key);
    for (const [key, grant] of this.codes) if (grant.expiresAt < now) this.codes.delete(key);
    for (const [key, token] of this.accessTokens) if (token.expiresAt < now - 60_000) this.accessTokens.delete(key);
  }
}

export function loginCookie(practitionerId: string): string {
  return `${LOGIN_COOKIE}=${encodeURIComponent(practitionerId)}; Path=/; HttpOnly; SameSite=Lax`;
}

/** Minimal accessible page shell shared by the sandbox's HTML pages. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.5rem}
.banner{background:#fff4d6;border:1px solid #e0c060;padding:.5rem .75rem;border-radius:4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}
.role{display:inline-block;font-size:.8rem;padding:0 .4rem;border-radius:3px;background:#e8eefc;color:#1d3d8f}
.plain{list-style:none;padding:0}.plain li{margin:.25rem 0}
button{font-size:1rem;padding:.4rem .9rem;margin:.5rem .5rem 0 0;cursor:pointer}
fieldset{border:1px solid #ccc;border-radius:4px;margin:1rem 0}
code{background:#f3f3f3;padding:0 .2rem}
</style></head><body>
<p class="banner">Sandbox EHR: synthetic patients only.</p>
${body}
</body></html>`;
}
