/** The browser's side of /api/admin/roles: typed requests that throw an AdminRequestError with the API's message. */
import type { AdminApiErrorBody, GrantRoleRequest, GrantRoleResponse, RevokeRoleRequest, RevokeRoleResponse } from "./types";

export const ROLES_API = "/api/admin/roles";

export class AdminRequestError extends Error {
  override readonly name = "AdminRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly relaunch?: string,
  ) {
    super(message);
  }
}

async function send<T>(method: "POST" | "DELETE", body: GrantRoleRequest | RevokeRoleRequest): Promise<T> {
  let res: Response;
  try {
    res = await fetch(ROLES_API, { method, headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(body) });
  } catch {
    throw new AdminRequestError(0, "network", "The app did not answer. Check the connection and try again.");
  }
  const json = (await res.json().catch(() => null)) as (T & object) | AdminApiErrorBody | null;
  if (!res.ok) {
    const error = json as AdminApiErrorBody | null;
    throw new AdminRequestError(res.status, error?.error ?? "unknown", error?.message ?? `The request failed (HTTP ${res.status}).`, error?.relaunch);
  }
  return json as T;
}

export function postGrantRole(input: GrantRoleRequest): Promise<GrantRoleResponse> {
  return send<GrantRoleResponse>("POST", input);
}

export function deleteRoleAssignment(input: RevokeRoleRequest): Promise<RevokeRoleResponse> {
  return send<RevokeRoleResponse>("DELETE", input);
}
