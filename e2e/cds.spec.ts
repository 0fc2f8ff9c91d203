import { expect, test, type Page } from "@playwright/test";
import type { HumanName, Observation, Patient } from "@medplum/fhirtypes";
import { generateCohort } from "../lib/sandbox/cohort/index";
import type { CohortExpectation } from "../lib/sandbox/cohort/expectations";
import { stack } from "./support";

interface CohortPatient {
  id: string;
  name: string;
  birthDate: string;
  /** LOINC codes of the patient's Observations. */
  loincCodes: Set<string>;
  expected: CohortExpectation;
}

const DERMATOLOGIST = /Lindqvist/;
const IGRA = "71773-6";

// The same seed gives the same cohort the sandbox serves.
function cohortPatients(): CohortPatient[] {
  const out: CohortPatient[] = [];
  for (const { patientId, resources, expected } of generateCohort(stack.cohort())) {
    const patient = resources.find((r): r is Patient => r.resourceType === "Patient");
    const loincCodes = new Set(
      resources
        .filter((r): r is Observation => r.resourceType === "Observation")
        .flatMap((o) => (o.code?.coding ?? []).filter((c) => c.system === "http://loinc.org").map((c) => c.code ?? "")),
    );
    out.push({ id: patientId, name: displayName(patient?.name), birthDate: patient?.birthDate ?? "", loincCodes, expected });
  }
  return out;
}

function displayName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === "official") ?? names?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(" ");
}

function ageAt(birthDate: string, asOf: string): number {
  const [by, bm, bd] = birthDate.split("-").map(Number) as [number, number, number];
  const [y, m, d] = asOf.split("-").map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** Plays the EHR: the dermatologist signed in, then the patient row's CDS Hooks button on the launcher. */
async function fromLauncher(page: Page, button: "Open chart" | "Order a JAK inhibitor", patient: CohortPatient): Promise<void> {
  await page.goto(stack.launcherUrl());
  await page.getByRole("radio", { name: DERMATOLOGIST }).check();
  await page.getByRole("button", { name: `${button}: ${patient.name}`, exact: true }).click();
}

test.describe("CDS Hooks from the sandbox EHR", () => {
  let patients: CohortPatient[];
  test.beforeAll(() => {
    patients = cohortPatients();
  });

  test("ordering upadacitinib for a patient without screening shows the card and its orders, and its link opens the app on that patient", async ({ page }) => {
    const asOf = stack.cohort().asOf;
    const names = patients.map((p) => p.name);
    // An adult on no JAK inhibitor with no TB screening at all: the baseline screening card must name the IGRA order.
    const patient = patients.find(
      (p) => p.expected.courses.length === 0 && ageAt(p.birthDate, asOf) >= 18 && !p.loincCodes.has(IGRA) && names.filter((n) => n === p.name).length === 1,
    );
    expect(patient, "the cohort has an adult on no JAK inhibitor without TB screening").toBeDefined();
    if (!patient) return;

    await fromLauncher(page, "Order a JAK inhibitor", patient);
    await expect(page.getByRole("heading", { level: 1, name: "Order a JAK inhibitor" })).toBeVisible();
    await expect(page.locator("body")).toContainText(`Patient: ${patient.name}`);
    await page.getByLabel("JAK inhibitor", { exact: true }).selectOption("upadacitinib-15");
    await page.getByRole("button", { name: "Sign order" }).click();

    await expect(page.getByRole("heading", { level: 1, name: /Order-sign: Upadacitinib/ })).toBeVisible();
    const card = page.getByRole("article").filter({ hasText: /baseline screening/i }).first();
    await expect(card).toBeVisible();
    await expect(card.getByRole("heading", { level: 3 })).toContainText(/upadacitinib/i);
    // Its suggestions create draft ServiceRequests with the LOINC codes of the missing screening.
    const suggestions = card.getByRole("group", { name: "Suggestions" });
    await expect(suggestions).toContainText("ServiceRequest");
    await expect(suggestions).toContainText(`LOINC ${IGRA}`);
    await expect(card.getByRole("button", { name: "Accept" })).toBeVisible();
    await expect(card.getByRole("combobox", { name: "Override reason" })).toBeVisible();
    await expect(card.locator("p.source a")).toHaveAttribute("href", /^https:\/\//);

    await card.getByRole("button", { name: /JAK Monitor/ }).first().click();
    await page.waitForURL(new RegExp(`/patients/${patient.id}$`));
    await expect(page.getByRole("heading", { level: 1 })).toContainText(patient.name);
  });

  test("Open chart shows the patient-view cards of a patient who has not responded, and an override is recorded", async ({ page }) => {
    const names = patients.map((p) => p.name);
    const patient = patients.find((p) => p.expected.flagKinds.includes("non-response") && names.filter((n) => n === p.name).length === 1);
    expect(patient, "the cohort has a patient who has not responded").toBeDefined();
    if (!patient) return;

    await fromLauncher(page, "Open chart", patient);
    await expect(page.getByRole("heading", { level: 1, name: `Chart: ${patient.name}` })).toBeVisible();
    const cards = page.getByRole("article");
    await expect(cards.first()).toBeVisible();
    // Most severe first: the first card's indicator is never below a later one's.
    const order = { Critical: 0, Warning: 1, Info: 2 } as Record<string, number>;
    const indicators = await page.locator("article .indicator").allTextContents();
    expect(indicators.map((i) => order[i] ?? 9)).toEqual([...indicators.map((i) => order[i] ?? 9)].sort((a, b) => a - b));

    const first = cards.first();
    const reason = first.getByRole("combobox", { name: "Override reason" });
    const options = await reason.locator("option").allTextContents();
    expect(options.length, "the card offers override reasons").toBeGreaterThan(1);
    await reason.selectOption({ index: 1 });
    await first.getByRole("button", { name: "Override" }).click();
    await expect(page.getByRole("status")).toContainText(`card overridden (${options[1]})`);
  });
});
