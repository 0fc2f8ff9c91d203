import type { Flag } from "@/lib/clinical/types";
import { flagsForCourse, sortFlagsBySeverity } from "@/lib/patient-view/overview";
import { DashboardSection } from "./dashboard-section";
import { FlagList } from "./flag-list";

const LAB_KINDS: ReadonlySet<string> = new Set(["abnormal-lab", "missing-lab", "overdue-lab"]);

/**
 * Non-lab flags (response, early signal, vaccination, cream, BSA, data quality), most severe first; lab flags
 * sit in the safety-lab checklist. Flags of earlier courses are kept, folded, for sequencing decisions.
 */
export function FlagsSection({ flags, courseIndex }: { flags: Flag[]; courseIndex: number | null }) {
  const current = sortFlagsBySeverity(flagsForCourse(flags, courseIndex).filter((f) => !LAB_KINDS.has(f.kind)));
  const earlier = sortFlagsBySeverity(flags.filter((f) => f.course !== undefined && f.course !== courseIndex));
  if (current.length === 0 && earlier.length === 0) return null;
  return (
    <DashboardSection id="flags" title="Flags" description="Each flag names its rule and the label section, guideline or trial behind it.">
      {current.length > 0 ? <FlagList flags={current} label="Flags" /> : <p className="text-sm text-slate-700">No flags for the current course.</p>}
      {earlier.length > 0 ? (
        <details className="mt-3">
          <summary className="cursor-pointer text-sm font-semibold text-slate-800">Flags from earlier JAK courses ({earlier.length})</summary>
          <div className="mt-2">
            <FlagList flags={earlier} label="Flags from earlier JAK courses" />
          </div>
        </details>
      ) : null}
    </DashboardSection>
  );
}
