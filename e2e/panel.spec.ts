import { expect, test, type Page } from "@playwright/test";
import pg from "pg";
import type { Patient } from "@medplum/fhirtypes";
import { generateCohort } from "../lib/sandbox/cohort/index";
import { ehrLaunch, stack } from "./support";

const DERMATOLOGIST = /Lindqvist/;

/** Plays the EHR's standalone launch (no patient) for a practitioner of the sandbox's directory. */
async function standaloneLaunch(page: Page, practitionerId: string): Promise<void> {
  const url = new URL(stack.launcherUrl());
  url.search = new URLSearchParams({ practitioner: practitionerId, mode: "standalone", go: "1" }).toString();
  await page.goto(url.toString());
}

/** One number from the app's database, computed here with plain SQL rather than by the panel's queries. */
async function count(sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: stack.databaseUrl() });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

test.describe("clinic panel", () => {
  test("a clinic lead's standalone launch lands on the synced panel with its numbers, filters to non-responders and opens one", async ({ page }) => {
    await standaloneLaunch(page, "pr-lead-1");
    await page.waitForURL(/\/panel$/);
    await expect(page.getByRole("heading", { level: 1, name: "Clinic panel" })).toBeVisible();

    // The demo stack ran a first sync before the tests: the numbers are the database's.
    const onJak = await count("SELECT count(*) AS n FROM evaluations WHERE on_jak");
    const notResponded = await count("SELECT count(*) AS n FROM evaluations WHERE on_jak AND latest_verdict = 'not-responded'");
    expect(onJak).toBeGreaterThan(10);
    expect(notResponded).toBeGreaterThan(0);
    await expect(page.getByTestId("figure-on-jak-count")).toHaveText(String(onJak));
    await expect(page.getByTestId("figure-not-responded-count")).toHaveText(String(notResponded));
    await expect(page.getByRole("heading", { name: "Response rates by drug and checkpoint" })).toBeVisible();

    await page.getByRole("link", { name: "Open the non-responders" }).click();
    await page.waitForURL(/\/panel\/worklist\?.*preset=not-responded/);
    const rows = page.locator("a[href^='/panel/patients/']");
    await expect(rows).toHaveCount(notResponded);
    await expect(page.getByText(`${notResponded} patient`, { exact: false }).first()).toBeVisible();

    // The filtered list is in the URL: reloading it (a bookmark) shows the same list.
    const bookmarked = page.url();
    await page.goto(bookmarked);
    await expect(rows).toHaveCount(notResponded);

    const first = rows.first();
    const name = (await first.textContent())?.trim() ?? "";
    await first.click();
    await page.waitForURL(/\/panel\/patients\/sandbox\/pt-\d+$/);
    await expect(page.getByText(/Synced from Sandbox EHR at .*not live EHR data/)).toBeVisible();
    await expect(page.getByRole("heading", { name: "Current JAK course" })).toBeVisible();
    await expect(page.getByText(name).first()).toBeVisible();
    await expect(page.getByText("not responded").first()).toBeVisible();
  });

  test("the sync page shows the startup sync and its counts", async ({ page }) => {
    await standaloneLaunch(page, "pr-lead-1");
    await page.waitForURL(/\/panel$/);
    await page.getByRole("navigation", { name: "Panel" }).getByRole("link", { name: "Sync" }).click();
    await page.waitForURL(/\/panel\/sync/);
    await expect(page.getByRole("heading", { name: "Sandbox EHR" })).toBeVisible();
    await expect(page.getByText("Succeeded").first()).toBeVisible();
    await expect(page.getByRole("button", { name: "Sync now" })).toBeVisible();
  });

  test("a dermatologist is refused the panel with a page that says why", async ({ page, request }) => {
    await ehrLaunch(page, DERMATOLOGIST, firstPatientName());
    await page.waitForURL(/\/patients\/pt-\d+$/);
    await page.goto("/panel");
    const refusal = page.getByTestId("role-refusal");
    await expect(refusal).toBeVisible();
    await expect(refusal).toHaveAttribute("data-reason", "forbidden");
    await expect(page.getByRole("heading", { name: /not available for your role/ })).toBeVisible();
    await expect(page.getByTestId("figure-on-jak-count")).toHaveCount(0);
    // The API refuses the same session (the browser's cookie) and anyone without one.
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    expect((await request.get("/api/panel/summary", { headers: { cookie } })).status()).toBe(403);
    expect((await request.get("/api/panel/worklist", { headers: { cookie: "" } })).status()).toBe(401);
  });
});

/** The first patient of the cohort the sandbox serves, by the name the launcher shows (any will do for the refusal). */
function firstPatientName(): string {
  const [first] = generateCohort(stack.cohort());
  const patient = first?.resources.find((r): r is Patient => r.resourceType === "Patient");
  const name = patient?.name?.find((n: { use?: string }) => n.use === "official") ?? patient?.name?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(" ");
}
