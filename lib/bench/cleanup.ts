/**
 * What bench sections leave running or on disk (a throwaway PostgreSQL, generated cohort files), undone once at
 * the end of `npm run bench`, or on Ctrl-C, so no server outlives the run.
 */
type Cleanup = () => Promise<void>;

const cleanups: Array<{ name: string; run: Cleanup }> = [];
let signalsHooked = false;

/** Registers work to undo at the end; the latest registered runs first (a server stops before its folder goes). */
export function onBenchExit(name: string, run: Cleanup): void {
  cleanups.push({ name, run });
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void runBenchCleanups().finally(() => process.exit(130));
    });
  }
}

/** Runs every registered cleanup (each once), reporting failures on stderr without stopping the others. */
export async function runBenchCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const next = cleanups.pop()!;
    try {
      await next.run();
    } catch (error) {
      process.stderr.write(`bench: cleanup "${next.name}" failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

/** A progress line on stderr (the table goes to stdout). */
export function progress(line: string): void {
  process.stderr.write(`  [bench] ${line}\n`);
}
