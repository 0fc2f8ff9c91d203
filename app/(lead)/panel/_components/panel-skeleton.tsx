/** Placeholder shapes while the panel's figures load. */
export function PanelSkeleton({ label }: { label: string }) {
  const block = "animate-pulse rounded bg-slate-200 motion-reduce:animate-none";
  return (
    <div role="status" aria-live="polite" aria-busy="true" className="space-y-4" data-testid="panel-skeleton">
      <span className="sr-only">{label}</span>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        <div className={`${block} h-32`} />
        <div className={`${block} h-32`} />
        <div className={`${block} h-32`} />
        <div className={`${block} h-32`} />
      </div>
      <div className={`${block} h-64`} />
      <div className={`${block} h-64`} />
    </div>
  );
}
