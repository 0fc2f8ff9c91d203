import type { Metadata } from "next";
import { NotYetAvailable } from "../../not-yet-available";

export const metadata: Metadata = { title: "Reports" };

export default function ReportsPage() {
  return (
    <NotYetAvailable title="Reports">
      <p>
        Quality reports (numerators, denominators and patient lists, exported as CSV, XLSX, PDF or FHIR MeasureReport) build on the
        clinic panel&apos;s synced data, which is not part of this version yet.
      </p>
      <p>Quality analysts reach them by a standalone launch from the EHR.</p>
    </NotYetAvailable>
  );
}
