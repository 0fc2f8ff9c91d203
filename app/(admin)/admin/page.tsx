import type { Metadata } from "next";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import Link from "next/link";
import { RoleRefusal } from "@/app/role-refusal";
import { adminGate } from "@/lib/admin/route-deps";
import { ADMIN_ROLES } from "@/lib/smart/roles";

export const metadata: Metadata = { title: "Administration" };
export const dynamic = "force-dynamic";

const SECTIONS = [
  {
    href: "/admin/roles",
    title: "Roles",
    text: "Who has which role in the app. A role assigned here overrides the one the EHR's PractitionerRole gives, from the practitioner's next launch.",
  },
  {
    href: "/admin/audit",
    title: "Audit trail",
    text: "Every patient view, panel drill-down, score write, export, role change, sync run and CDS call: who, role, what, when, from where, outcome.",
  },
] as const;

/** The administrator's home: where a standalone launch with the admin role lands. */
export default async function AdminHomePage() {
  const gate = await orDatabaseOutage(adminGate());
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="administration area" allowed={ADMIN_ROLES} />;
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold tracking-tight text-slate-900">Administration</h1>
      <ul className="grid gap-4 md:grid-cols-2">
        {SECTIONS.map((section) => (
          <li key={section.href} className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
            <h2 className="text-lg font-semibold">
              <Link href={section.href} className="text-brand underline underline-offset-2">
                {section.title}
              </Link>
            </h2>
            <p className="mt-2 text-sm text-slate-700">{section.text}</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
