import { DEFAULT_FILTERS, withFilters, worklistHref, type Preset } from "@/lib/panel/filters";
import { plural } from "@/lib/panel/format";
import type { PanelSummary } from "@/lib/panel/types";
import { DashboardSection } from "@/app/(clinician)/patients/[id]/_components/dashboard-section";
import { FigureCard } from "./figure-card";

/** The four worklists a clinic lead acts on, each a number with its denominator and a link to the list. */
export function AttentionFigures({ summary, source }: { summary: PanelSummary; source: string | null }) {
  const href = (preset: Preset) => worklistHref(withFilters(DEFAULT_FILTERS, { preset, source }));
  const { notResponded, overdueLabs, abnormalLabs, dueNext7Days } = summary;
  return (
    <DashboardSection id="attention" title="Needs attention" description={`Patients on a JAK inhibitor now; "today" is ${summary.today}.`}>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        <FigureCard
          id="not-responded"
          title="Not responded at the latest closed checkpoint"
          count={notResponded.count}
          denominator={`of ${plural(notResponded.denominator, "patient")} whose latest closed checkpoint was assessable`}
          definition={notResponded.definition}
          link={{ href: href("not-responded"), label: "Open the non-responders" }}
        />
        <FigureCard
          id="overdue-labs"
          title="Overdue or missing safety labs"
          count={overdueLabs.count}
          denominator={`of ${plural(overdueLabs.denominator, "patient")} on a JAK inhibitor; ${plural(overdueLabs.requirements, "lab")} in all`}
          definition={overdueLabs.definition}
          link={{ href: href("overdue-labs"), label: "Open the overdue labs" }}
        />
        <FigureCard
          id="abnormal-labs"
          title="Abnormal safety labs"
          count={abnormalLabs.count}
          denominator={`of ${plural(abnormalLabs.denominator, "patient")} on a JAK inhibitor; ${plural(abnormalLabs.results, "abnormal result")}`}
          definition={abnormalLabs.definition}
          link={{ href: href("abnormal-labs"), label: "Open the abnormal labs" }}
        />
        <FigureCard
          id="due-7-days"
          title="Checkpoints due in the next 7 days"
          count={dueNext7Days.count}
          denominator={`of ${plural(summary.onJak.count, "patient")} on a JAK inhibitor, one checkpoint each`}
          definition={dueNext7Days.definition}
          link={{ href: href("due-7-days"), label: "Open the checkpoints due" }}
        />
      </div>
    </DashboardSection>
  );
}
