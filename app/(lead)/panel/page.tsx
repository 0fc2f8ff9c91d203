import type { Metadata } from "next";
import { NotYetAvailable } from "../../not-yet-available";

export const metadata: Metadata = { title: "Panel" };

export default function PanelPage() {
  return (
    <NotYetAvailable title="Panel">
      <p>
        The clinic panel lists every patient on a JAK inhibitor with worklists for non-response and overdue labs. It is filled by a
        FHIR Bulk Data sync, which is not part of this version yet.
      </p>
      <p>Clinic leads reach it by a standalone launch from the EHR.</p>
    </NotYetAvailable>
  );
}
