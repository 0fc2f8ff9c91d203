import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FullConfig } from "@playwright/test";
import { startDemoStack } from "../lib/app/demo-stack";
import { freePort } from "../lib/db/embedded";

// One stack for the whole run: sandbox EHR + app on a throwaway embedded PostgreSQL, on free ports.
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "ejm-e2e-"));
  const stack = await startDemoStack({
    appPort: await freePort(),
    sandboxPort: 0,
    dataDir,
    quiet: true,
  });
  process.env.E2E_APP_URL = stack.appUrl;
  process.env.E2E_SANDBOX_ORIGIN = stack.sandbox?.origin ?? "";
  process.env.E2E_LAUNCHER_URL = stack.sandbox?.launcherUrl ?? "";
  process.env.E2E_FHIR_BASE = stack.sandbox?.fhirBase ?? "";
  return async () => {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
