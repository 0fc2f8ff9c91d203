import type { Metadata } from "next";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import { RoleRefusal } from "@/app/role-refusal";
import { configuredIssuers, adminGate } from "@/lib/admin/route-deps";
import { rolesOverview } from "@/lib/admin/roles-api";
import type { RoleAssignmentsResponse } from "@/lib/admin/types";
import { prisma } from "@/lib/db/client";
import { ADMIN_ROLES } from "@/lib/smart/roles";
import { RoleAssignmentsView } from "./_components/role-assignments-view";

export const metadata: Metadata = { title: "Roles" };
export const dynamic = "force-dynamic";

/** The role assignments made in the app: list, grant, revoke (the changes go through /api/admin/roles, audited). */
export default async function AdminRolesPage() {
  const gate = await orDatabaseOutage(adminGate());
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="roles page" allowed={ADMIN_ROLES} />;
  let overview: RoleAssignmentsResponse | null = null;
  try {
    overview = await rolesOverview({ db: prisma(), configuredIssuers }, { practitionerId: gate.practitionerId, issuer: gate.issuer, role: gate.role });
  } catch {
    // The database did not answer: the page says so below.
  }
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">Roles</h1>
        <p className="max-w-3xl text-sm text-slate-600">
          At launch the app takes a practitioner&apos;s role from their PractitionerRole in the EHR (through ROLE_MAPPING where a site codes roles its own
          way). A role assigned here overrides it from the practitioner&apos;s next launch; a change ends their open sessions. Revoking an assignment gives
          the EHR&apos;s role back. Every change is in the audit trail.
        </p>
      </div>
      {overview ? (
        <RoleAssignmentsView overview={overview} />
      ) : (
        <p role="alert" className="rounded-lg border border-status-critical/40 bg-white p-4 text-sm text-slate-700">
          The role assignments could not be read. Reload the page; if it keeps failing, check the database (GET /api/health).
        </p>
      )}
    </div>
  );
}
