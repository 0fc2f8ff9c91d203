import { expect, test, type Page } from "@playwright/test";
import type { HumanName, Patient } from "@medplum/fhirtypes";
import { generateCohort } from "../lib/sandbox/cohort/index";
import type { CohortExpectation } from "../lib/sandbox/cohort/expectations";
import { appSql, ehrLaunch, setSandboxFaults, stack } from "./support";

interface CohortPatient {
  id: string;
  name: string;
  expected: CohortExpectation;
}

// The same seed gives the same cohort the sandbox serves; its side file says what each patient must show.
function cohortPatients(): CohortPatient[] {
  const out: CohortPatient[] = [];
  for (const { patientId, resources, expected } of generateCohort(stack.cohort())) {
    const patient = resources.find((r): r is Patient => r.resourceType === "Patient");
    out.push({ id: patientId, name: displayName(patient?.name), expected });
  }
  return out;
}

function displayName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === "official") ?? names?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(" ");
}

const DERMATOLOGIST = /Lindqvist/;

async function launchInto(page: Page, patient: CohortPatient): Promise<void> {
  await ehrLaunch(page, DERMATOLOGIST, patient.name);
  await page.waitForURL(new RegExp(`/patients/${patient.id}$`));
  await expect(page.getByRole("heading", { name: "Current JAK course" })).toBeVisible();
}

test.describe("dermatologist view", () => {
  let patients: CohortPatient[];
  test.beforeAll(() => {
    patients = cohortPatients();
  });
  test.afterEach(async () => {
    await setSandboxFaults({});
  });

  test("EHR launch lands on the patient's course, trends, a not-responded checkpoint and an overdue lab", async ({ page }) => {
    // The current (latest) course carries both, so the page's current-course sections must show them.
    const patient = patients.find((p) => {
      const current = p.expected.courses.at(-1);
      return current && Object.values(current.checkpoints).includes("not-responded") && Object.values(current.labs).includes("overdue");
    });
    expect(patient, "the cohort has a patient with a not-responded checkpoint and an overdue lab").toBeDefined();
    if (!patient) return;
    const course = patient.expected.courses.at(-1)!;

    await launchInto(page, patient);
    await expect(page.getByRole("heading", { level: 1 })).toContainText(patient.name);
    const drugName = new RegExp(course.drug.replace("-cream", ""), "i");
    await expect(page.getByRole("region", { name: "Current JAK course" })).toContainText(drugName);

    await expect(page.getByTestId("chart-point").first()).toBeVisible();
    expect(await page.getByTestId("chart-point").count()).toBeGreaterThan(2);

    const checkpoints = page.getByRole("region", { name: "Checkpoints" });
    await expect(checkpoints).toContainText(/not responded/i);
    const labs = page.getByRole("region", { name: "Safety labs" });
    await expect(labs).toContainText(/overdue/i);

    // The Patient tab leads back to the patient in context while the session lasts.
    await page.goto("/");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Patient", exact: true }).click();
    await page.waitForURL(new RegExp(`/patients/${patient.id}$`));
  });

  test("another patient's id in the URL is refused", async ({ page }) => {
    const [first, second] = patients.filter((p) => p.expected.courses.length > 0);
    await launchInto(page, first!);
    const res = await page.request.get(`/api/patients/${second!.id}`);
    expect(res.status()).toBe(403);
    expect((await res.json()).error).toBe("patient-not-in-context");
    await page.goto(`/patients/${second!.id}`);
    await expect(page.getByText(/not the patient|not in context|refused|another patient/i).first()).toBeVisible();
    await expect(page.getByRole("heading", { name: "Current JAK course" })).toHaveCount(0);
  });

  test("an expired session shows the relaunch screen", async ({ page }) => {
    const patient = patients.find((p) => p.expected.courses.length > 0)!;
    await launchInto(page, patient);
    expect(await appSql("UPDATE sessions SET expires_at = now() - interval '1 minute'")).toBeGreaterThan(0);
    await page.reload();
    await expect(page.getByRole("heading", { name: /session (has )?(expired|ended)|launch again|relaunch/i })).toBeVisible();
  });

  test("a FHIR server failing one search still shows partial data with a banner", async ({ page }) => {
    const patient = patients.find((p) => p.expected.courses.length > 0)!;
    const fhirPath = new URL(stack.fhirBase()).pathname;
    await setSandboxFaults({ rate503: 1, retryAfterSeconds: 0, paths: [`${fhirPath}/Immunization`] });
    await launchInto(page, patient);
    await expect(page.getByRole("alert").filter({ hasText: /partial|incomplete|could not/i }).first()).toBeVisible();
    await expect(page.getByRole("heading", { name: "Checkpoints" })).toBeVisible();
  });
});
