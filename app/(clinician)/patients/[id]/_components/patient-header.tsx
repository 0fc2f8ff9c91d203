import type { PatientHeader as PatientHeaderData } from "@/lib/fhir/patient-record-types";
import { formatAge, formatDate, sexLabel } from "@/lib/patient-view/format";
import { CopySummaryButton } from "./copy-summary-button";
import { PrintButton } from "./print-button";

export function PatientHeader({ patient, asOf, summaryText }: { patient: PatientHeaderData; asOf: string; summaryText: string }) {
  return (
    <header className="flex flex-wrap items-start justify-between gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">{patient.name ?? "Name not recorded"}</h1>
        <p className="mt-0.5 text-sm text-slate-700">
          <span>{formatAge(patient.age)}</span>
          <span aria-hidden="true"> · </span>
          <span>{sexLabel(patient.sex)}</span>
          {patient.birthDate ? (
            <>
              <span aria-hidden="true"> · </span>
              <span>born {formatDate(patient.birthDate)}</span>
            </>
          ) : null}
          <span aria-hidden="true"> · </span>
          <span>data as of {formatDate(asOf)}</span>
        </p>
      </div>
      <div className="flex items-start gap-2">
        <CopySummaryButton text={summaryText} />
        <PrintButton />
      </div>
    </header>
  );
}
