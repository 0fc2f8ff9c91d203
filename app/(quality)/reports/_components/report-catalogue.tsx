"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { PanelSkeleton } from "@/app/(lead)/panel/_components/panel-skeleton";
import { catalogueQueryOptions } from "@/lib/reports/report-api-client";
import { firstSentence, formatCount, improvementText } from "@/lib/reports/report-format";
import { ReportError } from "./report-error";

/** The eight measures as cards (number, title, what it shows, cases on record), and how sharing works. */
export function ReportCatalogue({ showAudit }: { showAudit: boolean }) {
  const catalogue = useQuery(catalogueQueryOptions());
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight text-slate-900">Quality reports</h1>
          <p className="text-sm text-slate-600">How the clinic monitors JAK therapy: each measure with its numerator, denominator, exclusions and patient list, from the synced evaluations.</p>
        </div>
        {showAudit ? (
          <Link href="/reports/audit" className="text-sm font-medium text-brand underline underline-offset-2">
            Export audit trail
          </Link>
        ) : null}
      </div>
      {catalogue.isPending ? (
        <PanelSkeleton label="Loading the report catalogue…" />
      ) : catalogue.isError ? (
        <ReportError error={catalogue.error} onRetry={() => void catalogue.refetch()} />
      ) : (
        <ul className="grid gap-3 md:grid-cols-2 xl:grid-cols-4" data-testid="report-catalogue">
          {catalogue.data.measures.map(({ definition, cases }) => (
            <li key={definition.id} className="flex flex-col rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid={`report-card-${definition.id}`}>
              <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">Measure {definition.number}</p>
              <h2 className="mt-1 text-base font-semibold text-slate-900">
                <Link href={`/reports/${definition.id}`} className="text-brand underline underline-offset-2">
                  {definition.title}
                </Link>
              </h2>
              <p className="mt-1 text-sm text-slate-700">{firstSentence(definition.description)}</p>
              <p className="mt-auto pt-2 text-xs text-slate-600">
                <span className="font-semibold tabular-nums text-slate-900">{formatCount(cases)}</span> {cases === 1 ? "case" : "cases"} on record · {improvementText(definition)}
              </p>
            </li>
          ))}
        </ul>
      )}
      <section aria-labelledby="sharing-heading" className="max-w-3xl rounded-lg border border-slate-200 bg-white p-4 text-sm text-slate-700 shadow-sm">
        <h2 id="sharing-heading" className="text-base font-semibold text-slate-900">
          Sharing a report outside the clinic
        </h2>
        <p className="mt-1">
          Every report exports as CSV, XLSX, PDF or a FHIR MeasureReport. Tick <em>For sharing outside the clinic</em> when the file leaves the clinic: small counts are
          then shown as &ldquo;&lt;k&rdquo; (with further cells hidden so no total reveals them), and the patient list is de-identified: stable pseudonyms instead of
          names and identifiers, and dates shifted by a secret per-patient offset.
        </p>
        <p className="mt-1">Every export is recorded in the audit trail (who, role, report, filters, format, rows, when; no patient data).</p>
      </section>
    </div>
  );
}
