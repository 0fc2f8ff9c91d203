"use client";

import Link from "next/link";
import { usePathname, useSearchParams } from "next/navigation";

const TABS = [
  { href: "/panel", label: "Overview", current: (p: string) => p === "/panel" },
  { href: "/panel/worklist", label: "Worklist", current: (p: string) => p.startsWith("/panel/worklist") || p.startsWith("/panel/patients") },
  { href: "/panel/sync", label: "Sync", current: (p: string) => p.startsWith("/panel/sync") },
  { href: "/panel/codes", label: "Code coverage", current: (p: string) => p.startsWith("/panel/codes") },
  { href: "/panel/cds", label: "CDS cards", current: (p: string) => p.startsWith("/panel/cds") },
] as const;

/** The panel's title: the page's h1, except on a patient's page, where the patient's name is the h1. */
export function PanelHeading() {
  const pathname = usePathname();
  const Tag = pathname.startsWith("/panel/patients/") ? "p" : "h1";
  return <Tag className="text-2xl font-semibold tracking-tight text-slate-900">Clinic panel</Tag>;
}

/** The panel's tabs; the chosen source goes along to the next tab. */
export function PanelTabs() {
  const pathname = usePathname();
  const source = useSearchParams().get("source");
  const suffix = source ? `?source=${encodeURIComponent(source)}` : "";
  return (
    <nav aria-label="Panel" className="border-b border-slate-300 print:hidden">
      <ul className="-mb-px flex flex-wrap gap-1">
        {TABS.map((tab) => {
          const current = tab.current(pathname);
          return (
            <li key={tab.href}>
              <Link
                href={`${tab.href}${suffix}`}
                aria-current={current ? "page" : undefined}
                className={`inline-block rounded-t border px-4 py-2 text-sm font-medium ${
                  current ? "border-slate-300 border-b-slate-50 bg-slate-50 text-slate-900" : "border-transparent text-brand hover:bg-white hover:text-slate-900"
                }`}
              >
                {tab.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
