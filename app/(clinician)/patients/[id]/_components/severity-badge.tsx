import type { Severity } from "@/lib/clinical/types";
import { StatusBadge } from "./status-badge";
import { SEVERITY_STYLES } from "./status-styles";

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <StatusBadge style={SEVERITY_STYLES[severity]} label={severity} />;
}
