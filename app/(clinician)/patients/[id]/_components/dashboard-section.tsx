import type { ReactNode } from "react";

/** A titled region of the patient page; the heading names the region for screen readers and tests. */
export function DashboardSection({ id, title, description, children, className = "" }: { id: string; title: string; description?: ReactNode; children: ReactNode; className?: string }) {
  const headingId = `${id}-heading`;
  return (
    <section id={id} aria-labelledby={headingId} className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm print:break-inside-avoid print:border-slate-400 print:shadow-none ${className}`}>
      <h2 id={headingId} className="text-lg font-semibold text-slate-900">
        {title}
      </h2>
      {description ? <div className="mt-0.5 text-sm text-slate-600">{description}</div> : null}
      <div className="mt-3">{children}</div>
    </section>
  );
}
