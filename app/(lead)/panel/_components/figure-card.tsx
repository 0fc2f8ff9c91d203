import Link from "next/link";
import type { ReactNode } from "react";

/** One headline number with its denominator, what it means (the definition), and where to act on it. */
export function FigureCard({ id, title, count, denominator, definition, link }: { id: string; title: string; count: number; denominator: ReactNode; definition: string; link?: { href: string; label: string } }) {
  const headingId = `${id}-title`;
  return (
    <article aria-labelledby={headingId} className="flex flex-col rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid={`figure-${id}`}>
      <h3 id={headingId} className="text-sm font-semibold text-slate-700">
        {title}
      </h3>
      <p className="mt-1 text-3xl font-semibold tabular-nums text-slate-900" data-testid={`figure-${id}-count`}>
        {count.toLocaleString("en-US")}
      </p>
      <p className="text-sm text-slate-700">{denominator}</p>
      <p className="mt-2 text-xs text-slate-600">{definition}</p>
      {link ? (
        <Link href={link.href} className="mt-auto pt-2 text-sm font-medium text-brand underline underline-offset-2">
          {link.label}
        </Link>
      ) : null}
    </article>
  );
}
