import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import pg from "pg";
import type { Patient } from "@medplum/fhirtypes";
import { generateCohort } from "../lib/sandbox/cohort/index";
import { ehrLaunch, stack } from "./support";

const PERIOD = { from: "2020-01-01", to: "2026-11-01" };

/** Plays the EHR's standalone launch (no patient) for a practitioner of the sandbox's directory. */
async function standaloneLaunch(page: Page, practitionerId: string): Promise<void> {
  const url = new URL(stack.launcherUrl());
  url.search = new URLSearchParams({ practitioner: practitionerId, mode: "standalone", go: "1" }).toString();
  await page.goto(url.toString());
}

/** Counts straight from the stored cases with plain SQL, not through the report queries. */
async function caseCounts(measureId: string): Promise<{ all: number; denominator: number; numerator: number }> {
  const client = new pg.Client({ connectionString: stack.databaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ all: string; denominator: string; numerator: string }>(
      `SELECT count(*) AS all, count(*) FILTER (WHERE excluded_reason IS NULL) AS denominator, count(*) FILTER (WHERE in_numerator) AS numerator
         FROM report_cases WHERE measure_id = $1 AND case_date BETWEEN $2 AND $3`,
      [measureId, PERIOD.from, PERIOD.to],
    );
    return { all: Number(rows[0]!.all), denominator: Number(rows[0]!.denominator), numerator: Number(rows[0]!.numerator) };
  } finally {
    await client.end();
  }
}

async function exportAs(page: Page, format: string): Promise<Buffer> {
  await page.getByLabel("Format").selectOption({ label: format });
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export", exact: true }).click();
  const file = await download;
  return readFile((await file.path())!);
}

test.describe("quality reports", () => {
  test("a quality analyst opens a report, its numbers are the stored cases', downloads CSV and PDF and finds both in the audit trail", async ({ page }) => {
    await standaloneLaunch(page, "pr-quality-1");
    await page.waitForURL(/\/reports$/);
    await expect(page.getByRole("heading", { level: 1, name: "Quality reports" })).toBeVisible();
    await expect(page.getByTestId("report-catalogue").locator("li")).toHaveCount(8);

    await page.getByRole("link", { name: /Baseline safety screening complete before an oral JAK/ }).click();
    await page.waitForURL(/\/reports\/baseline-screening/);
    await page.goto(`/reports/baseline-screening?from=${PERIOD.from}&to=${PERIOD.to}`);
    const counts = await caseCounts("baseline-screening");
    expect(counts.denominator).toBeGreaterThan(0);
    await expect(page.getByTestId("figure-initial-population-count")).toHaveText(String(counts.all));
    await expect(page.getByTestId("figure-denominator-count")).toHaveText(String(counts.denominator));
    await expect(page.getByTestId("figure-numerator-count")).toHaveText(String(counts.numerator));
    await expect(page.getByTestId("measure-sources")).toContainText("Rinvoq");
    await expect(page.getByTestId("case-row").first()).toBeVisible();

    const csv = (await exportAs(page, "CSV")).toString("utf8");
    expect(csv).toContain("Report,1. Baseline safety screening complete before an oral JAK");
    expect(csv).toContain(`Period,${PERIOD.from} to ${PERIOD.to}`);
    const lines = csv.trimEnd().split("\r\n");
    expect(lines.length - lines.findIndex((l) => l.startsWith("source,patient_id")) - 1).toBe(counts.all);

    const pdf = await exportAs(page, "PDF");
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");

    await page.goto("/reports/audit");
    await expect(page.getByRole("heading", { level: 1, name: "Export audit trail" })).toBeVisible();
    const rows = page.getByTestId("audit-row");
    await expect(rows.filter({ hasText: "pr-quality-1" }).filter({ hasText: "CSV" }).first()).toContainText(String(counts.all));
    await expect(rows.filter({ hasText: "pr-quality-1" }).filter({ hasText: "PDF" }).first()).toBeVisible();
  });

  test("a dermatologist is refused the reports with a page that says why", async ({ page }) => {
    await ehrLaunch(page, /Lindqvist/, firstPatientName());
    await page.waitForURL(/\/patients\/pt-\d+$/);
    await page.goto("/reports");
    const refusal = page.getByTestId("role-refusal");
    await expect(refusal).toBeVisible();
    await expect(refusal).toHaveAttribute("data-reason", "forbidden");
    const api = await page.request.get("/api/reports/baseline-screening");
    expect(api.status()).toBe(403);
  });
});

function firstPatientName(): string {
  const [first] = generateCohort(stack.cohort());
  const patient = first?.resources.find((r): r is Patient => r.resourceType === "Patient");
  const name = patient?.name?.find((n: { use?: string }) => n.use === "official") ?? patient?.name?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(" ");
}
