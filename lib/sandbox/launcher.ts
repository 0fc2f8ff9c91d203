import type { IncomingMessage, ServerResponse } from "node:http";
import { loginCookie, page, type AuthServer } from "./auth";
import { ageInYears, findPractitioner, listPatients, listPractitioners } from "./directory";
import { escapeHtml, redirect, sendHtml } from "./http-util";
import type { SandboxRepository } from "./repository";

export interface LauncherOptions {
  repo: SandboxRepository;
  auth: AuthServer;
  fhirBase: string;
  /** The app's launch URL; the launcher's "current" value can be overridden per request with ?launch_url=. */
  appLaunchUrl: string;
  /** The CDS Hooks views (per-patient "Open chart" and "Order a JAK inhibitor"); shown when a service is registered. */
  cds?: { pagesPath: string; serviceBase: string | undefined; jwksUrl: string };
}

/**
 * The EHR's launcher: pick a practitioner (and a patient for an EHR launch), then open the app's launch URL
 * the way an EHR would. `?practitioner=..&patient=..&mode=ehr|standalone&go=1` launches at once (for e2e tests).
 */
export class Launcher {
  readonly path = "/launcher";

  constructor(private readonly options: LauncherOptions) {}

  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const params = url.searchParams;
    if (url.pathname === `${this.path}/launch` || params.get("go") === "1") return this.launch(res, params);
    return this.renderPage(res, params);
  }

  private launch(res: ServerResponse, params: URLSearchParams): void {
    const { repo, auth, fhirBase } = this.options;
    const practitionerId = params.get("practitioner") ?? "";
    const patientId = params.get("patient") ?? "";
    const mode = params.get("mode") === "standalone" ? "standalone" : "ehr";
    const launchUrl = this.launchUrl(params);
    const practitioner = findPractitioner(repo, practitionerId);
    if (!practitioner) return this.renderPage(res, params, "Choose a practitioner first.");
    const target = new URL(launchUrl);
    target.searchParams.set("iss", fhirBase);
    if (mode === "ehr") {
      if (!patientId || [...repo.iterateCompartment(patientId, "Patient")].length === 0) {
        return this.renderPage(res, params, "An EHR launch needs a patient: choose one, or use Standalone launch.");
      }
      target.searchParams.set("launch", auth.createLaunch(practitioner.id, patientId));
    }
    // The cookie is the sandbox EHR's login session, used by the authorize endpoint in standalone launches.
    redirect(res, target.toString(), { "Set-Cookie": loginCookie(practitioner.id) });
  }

  private launchUrl(params: URLSearchParams): string {
    const override = params.get("launch_url");
    if (override && /^https?:\/\//.test(override)) return override;
    return this.options.appLaunchUrl;
  }

  private renderPage(res: ServerResponse, params: URLSearchParams, error?: string): void {
    const { repo, fhirBase } = this.options;
    const selectedPractitioner = params.get("practitioner");
    const selectedPatient = params.get("patient");
    const today = new Date();
    const practitioners = listPractitioners(repo);
    const patients = listPatients(repo);
    const practitionerRows = practitioners
      .map((practitioner, index) => {
        const checked = selectedPractitioner ? practitioner.id === selectedPractitioner : index === 0;
        const inputId = `practitioner-${index}`;
        return `<tr><td><input type="radio" name="practitioner" id="${inputId}" value="${escapeHtml(practitioner.id)}"${checked ? " checked" : ""}></td>
<td><label for="${inputId}">${escapeHtml(practitioner.name)}</label></td><td><span class="role">${escapeHtml(practitioner.role ?? "no app role")}</span></td></tr>`;
      })
      .join("\n");
    const cds = this.options.cds?.serviceBase ? this.options.cds : undefined;
    const patientRows = patients
      .map((patient, index) => {
        const checked = patient.id === selectedPatient;
        const inputId = `patient-${index}`;
        const age = ageInYears(patient.birthDate, today);
        // The chosen practitioner's radio goes along: the CDS views call the hooks as that user.
        const cdsButtons = cds
          ? `<td><button type="submit" formaction="${cds.pagesPath}/chart" name="cds_patient" value="${escapeHtml(patient.id)}" aria-label="Open chart: ${escapeHtml(patient.name)}">Open chart</button>
<button type="submit" formaction="${cds.pagesPath}/order" name="cds_patient" value="${escapeHtml(patient.id)}" aria-label="Order a JAK inhibitor: ${escapeHtml(patient.name)}">Order a JAK inhibitor</button></td>`
          : "";
        return `<tr><td><input type="radio" name="patient" id="${inputId}" value="${escapeHtml(patient.id)}"${checked ? " checked" : ""}></td>
<td><label for="${inputId}">${escapeHtml(patient.name)}</label></td><td>${age ?? "?"}</td><td>${escapeHtml(patient.gender ?? "")}</td><td>${escapeHtml(patient.currentJakDrug ?? "none")}</td>${cdsButtons}</tr>`;
      })
      .join("\n");
    const launchUrl = this.launchUrl(params);
    const body = `<h1>Sandbox EHR launcher</h1>
<p>This page plays the EHR. Choose who is signed in and, for an <strong>EHR launch</strong>, the open patient chart; the app at
<code>${escapeHtml(launchUrl)}</code> is opened with <code>iss=${escapeHtml(fhirBase)}</code>.
A <strong>Standalone launch</strong> opens the app with no patient: for clinic leads and quality analysts.${
      cds
        ? ` <strong>Open chart</strong> and <strong>Order a JAK inhibitor</strong> call the CDS Hooks service (patient-view, order-sign) as the chosen practitioner and show its cards.`
        : ""
    }</p>
${error ? `<p role="alert" class="banner">${escapeHtml(error)}</p>` : ""}
<form method="get" action="${this.path}/launch">
${params.get("launch_url") ? `<input type="hidden" name="launch_url" value="${escapeHtml(launchUrl)}">` : ""}
<fieldset><legend>1. Signed-in practitioner</legend>
<table><thead><tr><th></th><th>Name</th><th>Role</th></tr></thead><tbody>
${practitionerRows || '<tr><td colspan="3">No practitioners loaded.</td></tr>'}
</tbody></table></fieldset>
<div>
<button type="submit" name="mode" value="standalone">Standalone launch (no patient)</button>
<button type="submit" name="mode" value="ehr">EHR launch with the chosen patient</button>
</div>
<fieldset><legend>2. Patient chart (EHR launch only)</legend>
<table><thead><tr><th></th><th>Name</th><th>Age</th><th>Sex</th><th>Current JAK inhibitor</th>${cds ? "<th>CDS Hooks</th>" : ""}</tr></thead><tbody>
${patientRows || `<tr><td colspan="${cds ? 6 : 5}">No patients loaded.</td></tr>`}
</tbody></table></fieldset>
<div><button type="submit" name="mode" value="ehr">EHR launch with the chosen patient</button></div>
</form>
<h2>For developers</h2>
<ul><li>FHIR base (iss): <code>${escapeHtml(fhirBase)}</code></li>
<li>SMART configuration: <a href="${escapeHtml(fhirBase)}/.well-known/smart-configuration"><code>${escapeHtml(fhirBase)}/.well-known/smart-configuration</code></a></li>
<li>Preselect and go: <code>${this.path}?practitioner=ID&amp;patient=ID&amp;mode=ehr&amp;go=1</code></li>
${
  cds
    ? `<li>CDS service (discovery): <code>${escapeHtml(cds.serviceBase ?? "")}</code>; this EHR's CDS client keys (JWKS): <a href="${escapeHtml(cds.jwksUrl)}"><code>${escapeHtml(cds.jwksUrl)}</code></a></li>`
    : "<li>No CDS Hooks service registered (start the sandbox with <code>cdsServiceBase</code>).</li>"
}</ul>`;
    sendHtml(res, error ? 400 : 200, page("Sandbox EHR launcher", body));
  }
}
