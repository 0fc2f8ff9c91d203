import Link from "next/link";
import type { ReactNode } from "react";
import { DATABASE_OUTAGE, orDatabaseOutage } from "@/lib/app/db-unavailable";
import { adminGate } from "@/lib/admin/route-deps";

const ADMIN_LINKS = [
  { href: "/admin", label: "Overview" },
  { href: "/admin/roles", label: "Roles" },
  { href: "/admin/audit", label: "Audit trail" },
] as const;

/**
 * The administrator's area: its navigation over the pages. Each page checks the admin role itself (a layout is not
 * re-rendered on client navigation, so it cannot guard its pages); a refused user sees only the page's refusal.
 */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const gate = await orDatabaseOutage(adminGate());
  if (gate === DATABASE_OUTAGE || !gate.ok) return <>{children}</>;
  return (
    <div className="space-y-4">
      <nav aria-label="Administration" className="border-b border-slate-200 pb-2">
        <ul className="flex flex-wrap gap-1 text-sm">
          {ADMIN_LINKS.map((link) => (
            <li key={link.href}>
              <Link href={link.href} className="rounded px-3 py-1.5 font-medium text-brand hover:bg-slate-100">
                {link.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {children}
    </div>
  );
}
