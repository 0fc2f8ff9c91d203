/**
 * The app's "today" (the engine's asOf): CLINIC_AS_OF when it pins a date (demos and tests replaying a cohort
 * generated for a fixed day), else today in CLINIC_TIMEZONE (UTC by default). The one place the app reads the
 * clock for clinical dates; free of SMART and Next imports so workers and CLIs can use it.
 */
import { z } from "zod";
import { todayIn } from "../fhir/patient-view";

const pinnedAsOf = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

export function clinicToday(env: Record<string, string | undefined> = process.env): string {
  const pinned = pinnedAsOf.safeParse(env.CLINIC_AS_OF);
  return pinned.success ? pinned.data : todayIn(env.CLINIC_TIMEZONE || "UTC");
}
