/** Placeholder rows while the worklist loads. */
export function WorklistSkeleton() {
  const block = "animate-pulse rounded bg-slate-200 motion-reduce:animate-none";
  return (
    <div role="status" aria-live="polite" aria-busy="true" className="space-y-3" data-testid="worklist-skeleton">
      <span className="sr-only">Loading the worklist…</span>
      <div className={`${block} h-10 w-full`} />
      <div className={`${block} h-24 w-full`} />
      {Array.from({ length: 8 }, (_, i) => (
        <div key={i} className={`${block} h-8 w-full`} />
      ))}
    </div>
  );
}
