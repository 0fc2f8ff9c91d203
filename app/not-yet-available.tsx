import Link from "next/link";

/** A view whose data path is not built yet: says so plainly and how it will be reached. */
export function NotYetAvailable({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section aria-labelledby="view-title" className="max-w-2xl space-y-3">
      <h1 id="view-title" className="text-2xl font-semibold">
        {title}
      </h1>
      <div className="space-y-2 text-slate-700">{children}</div>
      <Link href="/" className="inline-block text-sm font-medium text-brand underline underline-offset-2">
        Back to the start page
      </Link>
    </section>
  );
}
