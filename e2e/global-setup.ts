import { rm } from "node:fs/promises";
import type { FullConfig } from "@playwright/test";
import { startDemoStack } from "../lib/app/demo-stack";
import { freePort, makeTempDataDir } from "../lib/db/embedded";

// The cohort and the app share one pinned "today", so verdicts match the generator's side file.
const COHORT = { patients: 40, seed: 42, asOf: "2026-11-01" };

// One stack for the whole run: sandbox EHR + app on a throwaway embedded PostgreSQL, on free ports.
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const dataDir = await makeTempDataDir("ejm-e2e-");
  const stack = await startDemoStack({
    appPort: await freePort(),
    sandboxPort: 0,
    dataDir,
    quiet: !process.env.E2E_VERBOSE,
    ...COHORT,
  });
  Object.assign(process.env, {
    E2E_APP_URL: stack.appUrl,
    E2E_SANDBOX_ORIGIN: stack.sandbox.origin,
    E2E_LAUNCHER_URL: stack.sandbox.launcherUrl,
    E2E_FHIR_BASE: stack.sandbox.fhirBase,
    E2E_DATABASE_URL: stack.app.database.url,
    E2E_COHORT_PATIENTS: String(COHORT.patients),
    E2E_COHORT_SEED: String(COHORT.seed),
    E2E_COHORT_AS_OF: COHORT.asOf,
  });
  return async () => {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
