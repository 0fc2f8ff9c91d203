import type { CheckpointVerdict } from "@/lib/clinical/types";
import { verdictLabel } from "@/lib/patient-view/format";
import { StatusBadge } from "./status-badge";
import { VERDICT_STYLES } from "./status-styles";

export function VerdictBadge({ verdict }: { verdict: CheckpointVerdict }) {
  return <StatusBadge style={VERDICT_STYLES[verdict]} label={verdictLabel(verdict)} />;
}
