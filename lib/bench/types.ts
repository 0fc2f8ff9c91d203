/** One row of the table `npm run bench` prints. */
export interface BenchRow {
  /** What is measured, e.g. "engine: evaluate 10,000 patients". */
  figure: string;
  /** The measured value with its unit, e.g. "1.84 s (5,430 patients/s)"; "-" when not measured yet. */
  value: string;
  /** The design's target, e.g. "< 3 s on one core". */
  target: string;
  /** Whether the target was met; null when there is no target or nothing was measured. */
  ok: boolean | null;
  note?: string;
}

/** A benchmark section contributed by one area of lib/ (engine, ingest, patient view, ...). */
export type BenchSection = () => Promise<BenchRow[]>;
