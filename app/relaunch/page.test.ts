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

describe("relaunch screen for a launch refused at the callback", () => {
  async function renderWith(params: Record<string, string>): Promise<string> {
    return renderToStaticMarkup(await RelaunchPage({ searchParams: Promise.resolve(params) }));
  }
  it("says the role could not be read because the EHR refused the PractitionerRole read, and which scope to grant", async () => {
    const html = await renderWith({ reason: "role-unavailable", detail: "refused", status: "403" });
    expect(html).toContain('data-reason="role-unavailable"');
    expect(html).toContain("Your role could not be read");
    expect(html).toContain("did not guess one");
    expect(html).toContain("user/PractitionerRole.rs");
    expect(html).toContain("(HTTP 403)");
  });
  it("explains a missing fhirUser, and ignores unknown details and malformed statuses", async () => {
    expect(await renderWith({ reason: "role-unavailable", detail: "no-fhir-user" })).toContain("no fhirUser in the id_token");
    const junk = await renderWith({ reason: "role-unavailable", detail: "<b>x</b>", status: "<script>" });
    expect(junk).not.toContain("relaunch-detail");
    expect(junk).not.toContain("<script>");
  });
  it("names the authorization server's error code when access was not granted", async () => {
    expect(await renderWith({ reason: "auth-denied", error: "access_denied" })).toContain("<code>access_denied</code>");
    expect(await renderWith({ reason: "auth-denied", error: "<img onerror=x>" })).not.toContain("relaunch-detail");
  });
});
