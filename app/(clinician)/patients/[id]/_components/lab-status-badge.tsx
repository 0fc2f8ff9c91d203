import type { LabStatus } from "@/lib/clinical/types";
import { labStatusLabel } from "@/lib/patient-view/format";
import { StatusBadge } from "./status-badge";
import { LAB_STATUS_STYLES } from "./status-styles";

export function LabStatusBadge({ status }: { status: LabStatus }) {
  return <StatusBadge style={LAB_STATUS_STYLES[status]} label={labStatusLabel(status)} />;
}
