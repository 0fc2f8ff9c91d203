/** Where a request came from, for the role-change audit rows: the audit trail's own reading (lib/audit/audit.ts). */
import { auditOrigin } from "../audit/audit";

export function clientAddress(request: Request): string | null {
  return auditOrigin(request);
}
