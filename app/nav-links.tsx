"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

const LINKS = [
  { href: "/patients", match: "/patients", label: "Patient" },
  { href: "/panel", match: "/panel", label: "Panel" },
  { href: "/reports", match: "/reports", label: "Reports" },
  { href: "/admin", match: "/admin", label: "Admin" },
] as const;

export function NavLinks() {
  const pathname = usePathname();
  return (
    <ul className="flex gap-1">
      {LINKS.map((link) => {
        const current = pathname.startsWith(link.match);
        return (
          <li key={link.href}>
            <Link
              href={link.href}
              aria-current={current ? "page" : undefined}
              className={`rounded px-3 py-2 text-sm font-medium ${current ? "bg-white/15 text-white" : "text-blue-100 hover:bg-white/10 hover:text-white"}`}
            >
              {link.label}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

/** Sign out: a plain form POST (works without JavaScript); the route checks the origin and ends every session. */
export function SignOutButton() {
  return (
    <form method="post" action="/api/session/logout">
      <button type="submit" className="rounded px-3 py-2 text-sm font-medium text-blue-100 hover:bg-white/10 hover:text-white">
        Sign out
      </button>
    </form>
  );
}
