import type { StatusStyle } from "./status-styles";

/** A small bordered label: symbol and words, coloured; the symbol is hidden from screen readers. */
export function StatusBadge({ style, label, className = "" }: { style: StatusStyle; label: string; className?: string }) {
  return (
    <span className={`inline-flex items-center gap-1 whitespace-nowrap rounded border px-1.5 py-0.5 text-xs font-semibold ${style.className} ${className}`}>
      <span aria-hidden="true">{style.symbol}</span>
      {label}
    </span>
  );
}
