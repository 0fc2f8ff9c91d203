import { runStatusLabel } from "@/lib/panel/panel-format";

const STYLES: Record<string, { symbol: string; className: string }> = {
  succeeded: { symbol: "✓", className: "border-status-ok text-status-ok" },
  failed: { symbol: "✗", className: "border-status-critical text-status-critical" },
  cancelled: { symbol: "–", className: "border-status-muted text-status-muted" },
};
const ACTIVE = { symbol: "◷", className: "border-status-info text-status-info" };

/** A run's status: symbol and word, never colour alone. */
export function RunStatusBadge({ status }: { status: string }) {
  const style = STYLES[status] ?? ACTIVE;
  return (
    <span className={`inline-flex items-center gap-1 whitespace-nowrap rounded border px-1.5 py-0.5 text-xs font-semibold ${style.className}`}>
      <span aria-hidden="true">{style.symbol}</span>
      {runStatusLabel(status)}
    </span>
  );
}
