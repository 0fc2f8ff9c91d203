import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import RelaunchPage from "./page";

async function render(reason?: string): Promise<string> {
  const element = await RelaunchPage({ searchParams: Promise.resolve(reason ? { reason } : {}) });
  return renderToStaticMarkup(element);
}

describe("relaunch screen", () => {
  it("says plainly that an expired session needs a new launch from the EHR", async () => {
    const html = await render("session-expired");
    expect(html).toContain("Your session has ended");
    expect(html).toContain('data-reason="session-expired"');
    expect(html).toContain("Open the app again from the patient");
  });
  it("explains an issuer that is not configured", async () => {
    expect(await render("issuer-not-allowed")).toContain("SMART_ALLOWED_ISSUERS");
  });
  it("treats an unknown or missing reason as no session", async () => {
    expect(await render("<script>")).toContain('data-reason="no-session"');
    expect(await render()).toContain("No active session");
  });
});
