import type { Flag } from "@/lib/clinical/types";
import { sortFlagsBySeverity } from "@/lib/patient-view/overview";
import { DashboardSection } from "./dashboard-section";
import { FlagList } from "./flag-list";

/** Non-lab flags (response, early signal, vaccination, cream, BSA, data quality), most severe first. */
export function FlagsSection({ flags }: { flags: Flag[] }) {
  const shown = sortFlagsBySeverity(flags.filter((f) => f.kind !== "abnormal-lab" && f.kind !== "missing-lab" && f.kind !== "overdue-lab"));
  if (shown.length === 0) return null;
  return (
    <DashboardSection id="flags" title="Flags" description="Each flag names its rule and the label section, guideline or trial behind it.">
      <FlagList flags={shown} label="Flags" />
    </DashboardSection>
  );
}
