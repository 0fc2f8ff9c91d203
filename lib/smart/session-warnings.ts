/** Warnings the app shows every user in the header. Pure: pass the environment. */

/** Whether this process runs the demo (EJM_DEMO=1, set by `npm run demo` and the e2e stack). */
export function isDemo(env: Record<string, string | undefined> = process.env): boolean {
  return env.EJM_DEMO === "1";
}

/**
 * A visible warning when CLINIC_AS_OF pins "today" outside a demo: every verdict, overdue lab and checkpoint
 * is then computed for that date, not the real one. Null when nothing is pinned or in the demo.
 */
export function pinnedDateWarning(env: Record<string, string | undefined> = process.env): string | null {
  const pinned = env.CLINIC_AS_OF?.trim();
  if (!pinned || isDemo(env)) return null;
  return `Warning: CLINIC_AS_OF pins today's date to ${pinned.slice(0, 10)}. Verdicts and due dates are computed for that day, not the real date. Unset CLINIC_AS_OF outside a demo.`;
}
