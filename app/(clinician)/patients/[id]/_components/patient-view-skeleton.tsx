/** Placeholder shapes in the page's layout while the patient's record loads. */
export function PatientViewSkeleton() {
  const block = "animate-pulse rounded bg-slate-200 motion-reduce:animate-none";
  return (
    <div role="status" aria-live="polite" aria-busy="true" className="space-y-4" data-testid="patient-skeleton">
      <span className="sr-only">Loading the patient&apos;s record from the EHR…</span>
      <div className={`${block} h-8 w-64`} />
      <div className={`${block} h-4 w-96`} />
      <div className="grid gap-3 md:grid-cols-3">
        <div className={`${block} h-36`} />
        <div className={`${block} h-36`} />
        <div className={`${block} h-36`} />
      </div>
      <div className="grid gap-3 lg:grid-cols-2">
        <div className={`${block} h-64`} />
        <div className={`${block} h-64`} />
      </div>
      <div className={`${block} h-48`} />
    </div>
  );
}
