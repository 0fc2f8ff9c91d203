import { expect, test } from "@playwright/test";
import type { HumanName, Patient } from "@medplum/fhirtypes";
import type { PatientViewResponse } from "../lib/fhir/patient-record-types";
import { generateCohort } from "../lib/sandbox/cohort/index";
import { ehrLaunch, stack } from "./support";

const DERMATOLOGIST = /Lindqvist/;

function displayName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === "official") ?? names?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(" ");
}

/** The first cohort patient on a JAK course (the sandbox serves the same cohort for the same seed). */
function patientOnACourse(): { id: string; name: string } {
  for (const { patientId, resources, expected } of generateCohort(stack.cohort())) {
    if (expected.courses.length === 0) continue;
    const patient = resources.find((r): r is Patient => r.resourceType === "Patient");
    return { id: patientId, name: displayName(patient?.name) };
  }
  throw new Error("the cohort has no patient on a JAK course");
}

/** The latest day on or before asOf without an itch value (a second value that day would replace, not add, a point). */
function freeDay(view: PatientViewResponse): string {
  const taken = new Set((view.evaluation.trends?.itch?.points ?? []).map((p) => p.date));
  const day = new Date(`${view.asOf}T00:00:00Z`);
  while (taken.has(day.toISOString().slice(0, 10))) day.setUTCDate(day.getUTCDate() - 1);
  return day.toISOString().slice(0, 10);
}

test("a dermatologist records an itch score and the itch trend gains one point", async ({ page }) => {
  const patient = patientOnACourse();
  await ehrLaunch(page, DERMATOLOGIST, patient.name);
  await page.waitForURL(new RegExp(`/patients/${patient.id}$`));
  const panel = page.getByRole("region", { name: "Record a score" });
  await expect(panel).toBeVisible();

  const view = (await (await page.request.get(`/api/patients/${patient.id}`)).json()) as PatientViewResponse;
  expect(view.access.canWriteObservations).toBe(true);
  const date = freeDay(view);
  const itchPoints = page.getByTestId("trend-itch").getByTestId("chart-point");
  // The chart draws after hydration: wait for its points rather than count whatever is there yet.
  const before = (view.evaluation.trends?.itch?.points ?? []).filter((p) => !p.excluded).length;
  await expect(itchPoints).toHaveCount(before);

  await panel.getByLabel("Date of the scores").fill(date);
  const itchForm = panel.getByRole("form", { name: "Record itch score" });
  // Submitting without a choice is refused with an announced error.
  await itchForm.getByRole("button", { name: "Record itch score" }).click();
  await expect(itchForm.getByRole("alert")).toHaveText(/Choose a score from 0 to 10/);

  // Keyboard: arrow keys move the choice within the 0-10 radio group.
  await itchForm.locator("label", { hasText: /^6$/ }).click();
  await expect(itchForm.getByRole("radio", { name: "6", exact: true })).toBeChecked();
  await page.keyboard.press("ArrowRight");
  await expect(itchForm.getByRole("radio", { name: "7", exact: true })).toBeChecked();
  await itchForm.getByRole("button", { name: "Record itch score" }).click();
  await expect(itchForm.getByRole("status")).toHaveText(`Itch NRS 7 recorded for ${date}.`);
  await expect(itchPoints).toHaveCount(before + 1);
});

test("recording for a patient other than the launch patient is refused", async ({ page }) => {
  const patient = patientOnACourse();
  await ehrLaunch(page, DERMATOLOGIST, patient.name);
  await page.waitForURL(new RegExp(`/patients/${patient.id}$`));
  // Same-origin, as the page's own form posts: the patient check is what refuses it.
  const res = await page.request.post(`/api/patients/not-${patient.id}/observations`, {
    data: { measure: "itch-nrs", value: 3, effectiveDateTime: stack.cohort().asOf },
    headers: { origin: new URL(stack.appUrl()).origin },
  });
  expect(res.status()).toBe(403);
  expect((await res.json()).error).toBe("patient-not-in-context");
  // Without that origin (a request another site could make), it is refused before the patient is looked at.
  const crossSite = await page.request.post(`/api/patients/${patient.id}/observations`, { data: { measure: "itch-nrs", value: 3, effectiveDateTime: stack.cohort().asOf } });
  expect(crossSite.status()).toBe(403);
  expect((await crossSite.json()).error).toBe("cross-site");
});
