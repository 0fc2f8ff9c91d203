import { expect, test } from "@playwright/test";

test.describe("home page", () => {
  test("shows the app name, the three views and accessible navigation", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1, name: "Eczema JAK Monitor" })).toBeVisible();
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const label of ["Patient", "Panel", "Reports"]) {
      await expect(nav.getByRole("link", { name: label, exact: true })).toBeVisible();
    }
    await expect(page.getByRole("heading", { level: 2, name: "Dermatologists" })).toBeVisible();
  });

  test("the running app reports itself healthy on its embedded database", async ({ request }) => {
    const res = await request.get("/api/health");
    expect(res.status()).toBe(200);
    const body = await res.json();
    expect(body.status).toBe("ok");
    expect(body.database).toMatchObject({ reachable: true, mode: "embedded", migrations: { upToDate: true, pending: [] } });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
