// GET /api/admin/roles[?issuer=]: the role assignments made in the app, the issuers to offer and the roles
// (RoleAssignmentsResponse in lib/admin/types.ts).
// POST { issuer?, practitioner: "Practitioner/<id>", role }: assign a role that overrides the EHR's from the
// practitioner's next launch (201 new, 200 changed). DELETE { issuer?, practitioner }: remove it (200; 404 none).
// Administrators only; same-origin only for changes; every change audited (role.assign, role.revoke).
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { rolesRouteDeps } from "@/lib/admin/route-deps";
import { handleRolesDelete, handleRolesGet, handleRolesPost } from "@/lib/admin/roles-api";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = answerDatabaseOutages(function GET(request: Request): Promise<Response> {
  return handleRolesGet(request, rolesRouteDeps());
});

export const POST = answerDatabaseOutages(function POST(request: Request): Promise<Response> {
  return handleRolesPost(request, rolesRouteDeps());
});

export const DELETE = answerDatabaseOutages(function DELETE(request: Request): Promise<Response> {
  return handleRolesDelete(request, rolesRouteDeps());
});
