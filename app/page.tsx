import Link from "next/link";

const AUDIENCES = [
  {
    title: "Dermatologists",
    how: "Launch from the EHR into one patient",
    what: "Current JAK course and week, itch, skin-pain and EASI trends against baseline, a verdict at each checkpoint (weeks 2, 4, 8, 12, 16), the safety-lab checklist and therapy history.",
    href: "/patients",
  },
  {
    title: "Clinic leads",
    how: "Standalone launch, clinic-lead role",
    what: "The panel: every patient on a JAK inhibitor, who is overdue for labs, who has not responded by a checkpoint, response rates by drug and checkpoint.",
    href: "/panel",
  },
  {
    title: "Quality teams",
    how: "Standalone launch, quality role",
    what: "Measures with numerators, denominators and patient lists; CSV, XLSX, PDF and FHIR MeasureReport exports, every export audited.",
    href: "/reports",
  },
] as const;

export default function HomePage() {
  return (
    <div className="space-y-8">
      <section aria-labelledby="intro" className="max-w-3xl space-y-3">
        <h1 id="intro" className="text-3xl font-semibold tracking-tight">
          Eczema JAK Monitor
        </h1>
        <p className="text-lg text-slate-700">
          Monitoring for people with atopic dermatitis treated with JAK inhibitors: ruxolitinib cream, upadacitinib, abrocitinib and
          baricitinib. It reads your EHR through SMART on FHIR and shows who is responding, who is not, and which safety labs are missing.
        </p>
        <p className="text-sm text-slate-600">
          Open it from your EHR. Every flag names the rule and the label section, guideline or trial it comes from.
        </p>
      </section>
      <ul className="grid gap-4 md:grid-cols-3">
        {AUDIENCES.map((a) => (
          <li key={a.title} className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
            <h2 className="text-lg font-semibold">{a.title}</h2>
            <p className="mt-1 text-sm font-medium text-status-info">{a.how}</p>
            <p className="mt-3 text-sm text-slate-700">{a.what}</p>
            <Link href={a.href} className="mt-4 inline-block text-sm font-medium text-brand underline underline-offset-2">
              Go to {a.title.toLowerCase()} view
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
