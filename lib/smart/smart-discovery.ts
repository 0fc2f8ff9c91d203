/**
 * The EHR's SMART endpoints for a launch: `<iss>/.well-known/smart-configuration`, else (a server that answers but
 * publishes none) the CapabilityStatement's oauth-uris extension, as fhirclient reads them; each read retried
 * (launch-http.ts). Done by the app rather than by fhirclient's authorize(), which reads them once without retry
 * and, outside tests, caches each document for the life of the process, a failed read included.
 */
import type { CapabilityStatement } from "@medplum/fhirtypes";
import { launchHttpFailure, launchRequester, type LaunchHttpOptions } from "./launch-http";

export interface SmartEndpoints {
  authorizeUri: string;
  tokenUri: string;
  registrationUri: string;
  /** code_challenge_methods_supported; empty from a CapabilityStatement. */
  codeChallengeMethods: string[];
  /** For the scope list (config.ts buildScopes); absent from a CapabilityStatement. */
  scopesSupported?: string[];
  capabilities?: string[];
}

/** Why discovery failed: the EHR did not answer usefully (`unavailable`), or answered without SMART endpoints. */
export type DiscoveryProblem = "unavailable" | "no-endpoints";

export type DiscoveryResult = { ok: true; endpoints: SmartEndpoints } | { ok: false; problem: DiscoveryProblem; status: number | null };

const OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

const text = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/** An endpoint the app may send the browser or a token request to: an absolute http(s) URL. */
function endpoint(v: unknown): string | undefined {
  const value = text(v);
  if (!value) return undefined;
  try {
    return ["https:", "http:"].includes(new URL(value).protocol) ? value : undefined;
  } catch {
    return undefined;
  }
}
const texts = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined);

function fromSmartConfiguration(doc: Record<string, unknown>): SmartEndpoints | null {
  const authorizeUri = endpoint(doc.authorization_endpoint);
  const tokenUri = endpoint(doc.token_endpoint);
  if (!authorizeUri || !tokenUri) return null;
  const scopesSupported = texts(doc.scopes_supported);
  const capabilities = texts(doc.capabilities);
  return {
    authorizeUri,
    tokenUri,
    registrationUri: text(doc.registration_endpoint) ?? "",
    codeChallengeMethods: texts(doc.code_challenge_methods_supported) ?? [],
    ...(scopesSupported ? { scopesSupported } : {}),
    ...(capabilities ? { capabilities } : {}),
  };
}

function fromCapabilityStatement(doc: CapabilityStatement): SmartEndpoints | null {
  const security = Array.isArray(doc.rest) ? doc.rest[0]?.security : undefined;
  const uris = (Array.isArray(security?.extension) ? security.extension : []).find((e) => e?.url === OAUTH_URIS)?.extension ?? [];
  const uri = (name: string): string | undefined => endpoint((Array.isArray(uris) ? uris : []).find((e) => e?.url === name)?.valueUri);
  const authorizeUri = uri("authorize");
  const tokenUri = uri("token");
  return authorizeUri && tokenUri ? { authorizeUri, tokenUri, registrationUri: uri("register") ?? "", codeChallengeMethods: [] } : null;
}

/** Never throws: a result, or why there is none (with the last HTTP status). */
export async function discoverSmartEndpoints(iss: string, opts: { fetch?: typeof fetch; http?: LaunchHttpOptions } = {}): Promise<DiscoveryResult> {
  const base = iss.replace(/\/+$/, "");
  let status: number | null;
  try {
    const doc = await launchRequester(base, { ...opts, accept: "application/json" }).get<unknown>(".well-known/smart-configuration");
    const endpoints = doc && typeof doc === "object" && !Array.isArray(doc) ? fromSmartConfiguration(doc as Record<string, unknown>) : null;
    if (endpoints) return { ok: true, endpoints };
    status = 200;
  } catch (error) {
    const failure = launchHttpFailure(error);
    // A server that is down or busy serves no CapabilityStatement either: asking costs the person more waiting.
    if (failure.unavailable) return { ok: false, problem: "unavailable", status: failure.status };
    status = failure.status;
  }
  try {
    const doc = await launchRequester(base, opts).get<CapabilityStatement>("metadata");
    const endpoints = doc?.resourceType === "CapabilityStatement" ? fromCapabilityStatement(doc) : null;
    return endpoints ? { ok: true, endpoints } : { ok: false, problem: "no-endpoints", status };
  } catch (error) {
    const failure = launchHttpFailure(error);
    return { ok: false, problem: failure.unavailable ? "unavailable" : "no-endpoints", status: failure.status };
  }
}
