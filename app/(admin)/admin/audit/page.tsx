import type { Metadata } from "next";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import Link from "next/link";
import { RoleRefusal } from "@/app/role-refusal";
import { AUDIT_ROLES } from "@/lib/audit/audit-handlers";
import { auditQueryString, parseAuditQuery } from "@/lib/audit/audit-query";
import { AuditFilterForm } from "./_components/audit-filter-form";
import { AuditTable } from "./_components/audit-table";
import { adminAuditGate, loadAuditPage } from "./_server/load-audit";

export const metadata: Metadata = { title: "Audit trail" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/**
 * The audit trail for administrators: every audited event (who, role, what, when, from where, outcome; no PHI),
 * filtered by action, actor, role, outcome and date range, paged, all in the URL; exportable as FHIR AuditEvents.
 */
export default async function AdminAuditPage({ searchParams }: { searchParams: SearchParams }) {
  const gate = await adminAuditGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="audit trail" allowed={AUDIT_ROLES} />;
  const parsed = parseAuditQuery(await searchParams);
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">Audit trail</h1>
        <p className="text-sm text-slate-600">
          Patient views, panel drill-downs, score writes, exports, role changes, sync runs and CDS calls: who, in which role, what, when, from where and
          with what outcome. Append-only in the database; patients appear only as hashed ids. Times and dates are UTC.
        </p>
      </div>
      {parsed.ok ? (
        <>
          <AuditFilterForm query={parsed.value} />
          <AuditResults query={parsed.value} actor={{ practitionerId: gate.practitionerId, role: gate.role }} />
        </>
      ) : (
        <section role="alert" className="space-y-2 rounded-lg border border-status-critical/40 bg-white p-4" data-testid="audit-bad-filters">
          <h2 className="font-semibold">These filters cannot be used</h2>
          <ul className="list-disc pl-5 text-sm text-slate-700">
            {parsed.problems.map((p) => (
              <li key={p.param + p.reason}>{p.reason}</li>
            ))}
          </ul>
          <Link href="/admin/audit" className="text-sm font-medium text-brand underline underline-offset-2">
            Clear the filters
          </Link>
        </section>
      )}
    </div>
  );
}

async function AuditResults({ query, actor }: { query: Parameters<typeof loadAuditPage>[1]; actor: Parameters<typeof loadAuditPage>[0] }) {
  const page = await loadAuditPage(actor, query);
  if (!page) {
    return (
      <p role="alert" className="rounded-lg border border-status-critical/40 bg-white p-4 text-sm text-slate-700">
        The audit trail could not be read. Reload the page; if it keeps failing, check the database (GET /api/health).
      </p>
    );
  }
  const filters = auditQueryString({ ...query, size: undefined });
  return (
    <>
      <p className="flex flex-wrap gap-4 text-sm">
        <a href={`/api/admin/audit/fhir${filters}`} className="font-medium text-brand underline underline-offset-2" data-testid="audit-fhir-export">
          Download these entries as FHIR AuditEvents
        </a>
        <a href={`/api/admin/audit${auditQueryString(query, { page: true })}`} className="text-slate-700 underline underline-offset-2">
          This page as JSON
        </a>
      </p>
      <AuditTable page={page} query={query} />
    </>
  );
}
