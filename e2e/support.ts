import type { Page } from "@playwright/test";
import pg from "pg";

/** The stack global-setup started, from the environment it exported. */
export const stack = {
  appUrl: () => required("E2E_APP_URL"),
  launcherUrl: () => required("E2E_LAUNCHER_URL"),
  sandboxOrigin: () => required("E2E_SANDBOX_ORIGIN"),
  fhirBase: () => required("E2E_FHIR_BASE"),
  databaseUrl: () => required("E2E_DATABASE_URL"),
  cohort: () => ({ patients: Number(required("E2E_COHORT_PATIENTS")), seed: Number(required("E2E_COHORT_SEED")), asOf: required("E2E_COHORT_AS_OF") }),
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: e2e/global-setup.ts did not run`);
  return value;
}

/** Plays the EHR: picks the practitioner and the patient on the sandbox launcher and presses EHR launch. */
export async function ehrLaunch(page: Page, practitionerName: RegExp | string, patientName: string): Promise<void> {
  await page.goto(stack.launcherUrl());
  await page.getByRole("radio", { name: practitionerName }).check();
  await page.getByRole("radio", { name: patientName, exact: true }).check();
  await page.getByRole("button", { name: "EHR launch with the chosen patient" }).first().click();
}

/** Sets faults on the sandbox FHIR server (its loopback-only admin endpoint). */
export async function setSandboxFaults(faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.sandboxOrigin()}/admin/faults`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(faults),
  });
  if (!res.ok) throw new Error(`setting sandbox faults failed: ${res.status}`);
}

/** Runs one SQL statement on the app's database (to age a session, say). */
export async function appSql(sql: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: stack.databaseUrl() });
  await client.connect();
  try {
    return (await client.query(sql, params)).rowCount ?? 0;
  } finally {
    await client.end();
  }
}
