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

describe("relaunch screen for the sign-in refusals (replayed code, refused code, missing PKCE verifier, EHR unavailable)", () => {
  async function renderWith(params: Record<string, string>): Promise<string> {
    return renderToStaticMarkup(await RelaunchPage({ searchParams: Promise.resolve(params) }));
  }
  it("says a replayed sign-in link was already used, changed nothing, and to relaunch from the EHR", async () => {
    const html = await renderWith({ reason: "code-replayed", launch: "ehr" });
    expect(html).toContain('data-reason="code-replayed"');
    expect(html).toContain("This sign-in link was already used");
    expect(html).toContain("changed nothing");
    expect(html).toContain("go back to the patient&#x27;s chart in the EHR");
  });
  it("says the EHR refused the sign-in code and names its error", async () => {
    const html = await renderWith({ reason: "code-refused", error: "invalid_grant", launch: "ehr" });
    expect(html).toContain("The EHR refused the sign-in code");
    expect(html).toContain("<code>invalid_grant</code>");
    expect(await renderWith({ reason: "code-refused", error: "<b>" })).not.toContain("relaunch-detail");
  });
  it("says a missing PKCE verifier stopped the sign-in before the code was sent anywhere", async () => {
    const html = await renderWith({ reason: "pkce-verifier-missing", launch: "ehr" });
    expect(html).toContain("Sign-in could not be completed safely");
    expect(html).toContain("sent the code nowhere");
  });
  it("says the EHR is not answering, at which step, and to try again", async () => {
    const html = await renderWith({ reason: "ehr-unavailable", step: "token", launch: "ehr" });
    expect(html).toContain("The EHR is not answering");
    expect(html).toContain("Try again in a moment");
    expect(html).toContain("token endpoint");
    expect(await renderWith({ reason: "ehr-unavailable", step: "<script>" })).not.toContain("relaunch-detail");
  });
  it("offers a standalone sign-in again for an issuer the app trusts, and none for another", async () => {
    const trusted = await renderWith({ reason: "code-refused", launch: "standalone", iss: "http://127.0.0.1:4100/fhir/r4" });
    expect(trusted).toContain(`href="/launch?iss=${encodeURIComponent("http://127.0.0.1:4100/fhir/r4")}"`);
    expect(trusted).toContain("Sign in again");
    const foreign = await renderWith({ reason: "code-refused", launch: "standalone", iss: "https://evil.example/fhir" });
    expect(foreign).not.toContain("/launch?");
    expect(foreign).toContain("app launcher");
    // Other reasons carry no action unless the launch kind is given.
    expect(await renderWith({ reason: "auth-failed" })).not.toContain("relaunch-action");
  });
});
