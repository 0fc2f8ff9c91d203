import type { Metadata } from "next";
import { cookies } from "next/headers";
import Link from "next/link";
import type { ReactNode } from "react";
import { pinnedDateWarning, SESSION_COOKIE } from "@/lib/smart/status";
import { NavLinks, SignOutButton } from "./nav-links";
import { Providers } from "./providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Eczema JAK Monitor", template: "%s · Eczema JAK Monitor" },
  description: "Trends, checkpoint verdicts and safety labs for atopic dermatitis treated with JAK inhibitors.",
};

// Reading cookies renders every page per request, which the CSP nonce needs (proxy.ts).
export default async function RootLayout({ children }: { children: ReactNode }) {
  const signedIn = Boolean((await cookies()).get(SESSION_COOKIE)?.value);
  const pinned = pinnedDateWarning();
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
          Skip to content
        </a>
        <header className="no-print bg-brand text-white">
          <nav aria-label="Main" className="mx-auto flex max-w-7xl items-center justify-between gap-4 px-4 py-2">
            <Link href="/" className="text-lg font-semibold tracking-tight">
              Eczema JAK Monitor
            </Link>
            <div className="flex items-center gap-2">
              <NavLinks />
              {signedIn ? <SignOutButton /> : null}
            </div>
          </nav>
        </header>
        {pinned ? (
          <aside aria-label="Pinned date" className="no-print border-b border-amber-300 bg-amber-100 px-4 py-2 text-center text-sm font-medium text-amber-900">
            {pinned}
          </aside>
        ) : null}
        <Providers>
          <main id="main" className="mx-auto max-w-7xl px-4 py-6">
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
