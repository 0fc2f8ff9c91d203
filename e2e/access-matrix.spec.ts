/**
 * The access matrix: every page and route handler of the app, for every role (dermatologist with a patient by EHR
 * launch; clinic lead, quality analyst and administrator by standalone launch) and for no session, answers allow or
 * deny as declared here. The routes are read from the file system (app/**\/page.tsx, app/**\/route.ts and the
 * methods each route file exports), so a new page or handler fails the first test until it is added to MATRIX.
 *
 * allow: not 401/403, not the role-refusal page, not sent to /relaunch (a 400 for the probe's deliberately invalid
 * body is an allow: it got past the checks). deny: 401/403, the role-refusal page, or a redirect to /relaunch.
 * State-changing probes send a same-origin request with an invalid body, so nothing is changed; sign-out runs last.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test, type APIRequestContext, type APIResponse, type BrowserContext } from "@playwright/test";
import type { HumanName, Patient } from "@medplum/fhirtypes";
import { generateCohort } from "../lib/sandbox/cohort/index";
import { ehrLaunch, stack } from "./support";

type Who = "dermatologist" | "clinic-lead" | "quality" | "admin" | "none";
const EVERYONE: readonly Who[] = ["dermatologist", "clinic-lead", "quality", "admin", "none"];
const LEAD: readonly Who[] = ["clinic-lead"];
const REPORTS: readonly Who[] = ["quality", "clinic-lead"];
const QUALITY: readonly Who[] = ["quality"];
const ADMIN: readonly Who[] = ["admin"];
/** Only the dermatologist's session has a patient in context (the others launched standalone). */
const LAUNCH_PATIENT: readonly Who[] = ["dermatologist"];
const NOBODY: readonly Who[] = [];

// ---------- the routes on disk ----------

const HANDLER_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Method = (typeof HANDLER_METHODS)[number];

interface DiscoveredRoute {
  /** "PAGE /panel", "GET /api/panel/summary", "POST /api/panel/sync". */
  key: string;
  file: string;
}

const APP_DIR = path.resolve(import.meta.dirname, "../app");

/** The URL path of a folder under app/: route groups "(x)" and parallel slots "@x" add nothing to it. */
function urlPathOf(dir: string): string {
  const segments = path
    .relative(APP_DIR, dir)
    .split(path.sep)
    .filter((s) => s && !/^\(.*\)$/.test(s) && !s.startsWith("@"));
  return `/${segments.join("/")}`;
}

/** The HTTP methods a route file exports (OPTIONS and HEAD are CORS preflight and headers only: no data). */
function exportedMethods(source: string): Method[] {
  const found = new Set<Method>();
  for (const m of source.matchAll(/export\s+(?:async\s+)?function\s+([A-Z]+)\b|export\s+(?:const|let)\s+([A-Z]+)\s*=|export\s*\{([^}]*)\}/g)) {
    const names = m[3] ? m[3].split(",").map((n) => n.trim().split(/\s+as\s+/).pop()!.trim()) : [m[1] ?? m[2] ?? ""];
    for (const name of names) if ((HANDLER_METHODS as readonly string[]).includes(name)) found.add(name as Method);
  }
  return [...found];
}

function discoverRoutes(dir = APP_DIR): DiscoveredRoute[] {
  const out: DiscoveredRoute[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      // Private folders (_components, _server) hold no routes.
      if (!entry.name.startsWith("_")) out.push(...discoverRoutes(full));
    } else if (/^page\.(tsx|ts|jsx|js)$/.test(entry.name)) {
      out.push({ key: `PAGE ${urlPathOf(dir)}`, file: path.relative(APP_DIR, full) });
    } else if (/^route\.(ts|js)$/.test(entry.name)) {
      for (const method of exportedMethods(readFileSync(full, "utf8"))) out.push({ key: `${method} ${urlPathOf(dir)}`, file: path.relative(APP_DIR, full) });
    }
  }
  return out;
}

// ---------- the declared matrix ----------

interface ProbeContext {
  /** The dermatologist's launch patient (a cohort patient with a JAK course). */
  patientId: string;
  /** A patient nobody launched with. */
  otherPatientId: string;
}

interface Probe {
  /** Who gets through. */
  allow: readonly Who[];
  /** The URL probed (parameters filled in); default the key's path. */
  url?: (ctx: ProbeContext) => string;
  /** For POST/PUT/PATCH/DELETE: a body the handler rejects after its checks (so nothing changes). */
  body?: unknown;
  /** Runs after every other probe of the role (it ends the session). */
  last?: boolean;
  note?: string;
}

/** Sent to every state-changing handler: no handler's schema accepts it, so an allowed role gets a 4xx for the body. */
const INVALID_BODY = { accessMatrixProbe: true };
const MEASURE = "baseline-screening";
/** The demo stack's source id (lib/app/demo-stack.ts DEMO_SOURCE_ID). */
const SOURCE = "sandbox";
const enc = encodeURIComponent;

const MATRIX: Record<string, Probe[]> = {
  // Public: the start page, the relaunch explanations, the SMART entry points, health, keys, CDS discovery.
  "PAGE /": [{ allow: EVERYONE }],
  "PAGE /relaunch": [{ allow: EVERYONE, url: () => "/relaunch?reason=no-session" }],
  "PAGE /patients": [{ allow: EVERYONE, note: "explains how to launch, or returns to the launch patient" }],
  "GET /launch": [{ allow: EVERYONE, note: "no iss: redirected to the relaunch explanation, session untouched" }],
  "GET /callback": [{ allow: EVERYONE, note: "no state: refused without touching any session" }],
  "GET /api/health": [{ allow: EVERYONE }],
  "GET /jwks.json": [{ allow: EVERYONE }],
  "GET /cds-services": [{ allow: EVERYONE }],
  "POST /api/session/logout": [{ allow: EVERYONE, body: {}, last: true }],

  // The EHR's CDS Hooks calls: a signed JWT from a registered EHR, never a browser session.
  "POST /cds-services/[id]": [{ allow: NOBODY, url: () => "/cds-services/jak-monitor-patient-view", body: INVALID_BODY }],
  "POST /cds-services/[id]/feedback": [{ allow: NOBODY, url: () => "/cds-services/jak-monitor-patient-view/feedback", body: INVALID_BODY }],

  // The patient view: a patient-view role, and only the launch patient.
  "PAGE /patients/[id]": [
    { allow: LAUNCH_PATIENT, url: (c) => `/patients/${enc(c.patientId)}` },
    { allow: NOBODY, url: (c) => `/patients/${enc(c.otherPatientId)}`, note: "not the launch patient" },
  ],
  "GET /api/patients/[id]": [
    { allow: LAUNCH_PATIENT, url: (c) => `/api/patients/${enc(c.patientId)}` },
    { allow: NOBODY, url: (c) => `/api/patients/${enc(c.otherPatientId)}` },
  ],
  "POST /api/patients/[id]/observations": [
    { allow: LAUNCH_PATIENT, url: (c) => `/api/patients/${enc(c.patientId)}/observations`, body: INVALID_BODY },
    { allow: NOBODY, url: (c) => `/api/patients/${enc(c.otherPatientId)}/observations`, body: INVALID_BODY },
  ],

  // The clinic panel: clinic leads.
  "PAGE /panel": [{ allow: LEAD }],
  "PAGE /panel/worklist": [{ allow: LEAD, url: () => "/panel/worklist?preset=not-responded" }],
  "PAGE /panel/sync": [{ allow: LEAD }],
  "PAGE /panel/codes": [{ allow: LEAD }],
  "PAGE /panel/cds": [{ allow: LEAD }],
  "PAGE /panel/patients/[source]/[id]": [{ allow: LEAD, url: (c) => `/panel/patients/${SOURCE}/${enc(c.patientId)}` }],
  "GET /api/panel/summary": [{ allow: LEAD }],
  "GET /api/panel/charts": [{ allow: LEAD }],
  "GET /api/panel/worklist": [{ allow: LEAD, url: () => "/api/panel/worklist?preset=not-responded" }],
  "GET /api/panel/patients/[source]/[id]": [{ allow: LEAD, url: (c) => `/api/panel/patients/${SOURCE}/${enc(c.patientId)}` }],
  "GET /api/panel/sync": [{ allow: LEAD }],
  "POST /api/panel/sync": [{ allow: LEAD, body: INVALID_BODY }],
  // Run id 0 is never a run: 400 after the checks, nothing cancelled.
  "GET /api/panel/sync/[runId]": [{ allow: LEAD, url: () => "/api/panel/sync/0" }],
  "DELETE /api/panel/sync/[runId]": [{ allow: LEAD, url: () => "/api/panel/sync/0", body: {} }],
  // A malformed job id: 400 after the checks, so the probe queues no computation.
  "GET /api/panel/code-coverage": [{ allow: LEAD, url: () => "/api/panel/code-coverage?job=not-a-job" }],
  "POST /api/panel/code-coverage": [{ allow: LEAD, body: INVALID_BODY }],
  "GET /api/panel/code-mappings": [{ allow: LEAD }],
  "POST /api/panel/code-mappings": [{ allow: LEAD, body: INVALID_BODY }],
  "DELETE /api/panel/code-mappings": [{ allow: LEAD, body: INVALID_BODY }],

  // Quality reports: quality analysts and clinic leads; the export audit trail: quality analysts.
  "PAGE /reports": [{ allow: REPORTS }],
  "PAGE /reports/[measureId]": [{ allow: REPORTS, url: () => `/reports/${MEASURE}` }],
  "PAGE /reports/audit": [{ allow: QUALITY }],
  "GET /api/reports": [{ allow: REPORTS }],
  "GET /api/reports/[measureId]": [{ allow: REPORTS, url: () => `/api/reports/${MEASURE}` }],
  "GET /api/reports/[measureId]/notes": [{ allow: REPORTS, url: () => `/api/reports/${MEASURE}/notes` }],
  "GET /api/reports/[measureId]/patients": [{ allow: REPORTS, url: () => `/api/reports/${MEASURE}/patients` }],
  // An unknown format: 400 after the checks, so the probe writes no export (nor its audit row).
  "GET /api/reports/[measureId]/export": [{ allow: REPORTS, url: () => `/api/reports/${MEASURE}/export?format=probe` }],
  "POST /api/reports/[measureId]/exports": [{ allow: REPORTS, url: () => `/api/reports/${MEASURE}/exports`, body: INVALID_BODY }],
  "GET /api/reports/exports": [{ allow: REPORTS }],
  "GET /api/reports/exports/[id]": [{ allow: REPORTS, url: () => "/api/reports/exports/0" }],
  "GET /api/reports/exports/[id]/file": [{ allow: REPORTS, url: () => "/api/reports/exports/0/file" }],
  "GET /api/reports/audit": [{ allow: QUALITY }],

  // Administration: administrators only.
  "PAGE /admin": [{ allow: ADMIN }],
  "PAGE /admin/roles": [{ allow: ADMIN }],
  "PAGE /admin/audit": [{ allow: ADMIN }],
  "GET /api/admin/roles": [{ allow: ADMIN }],
  "POST /api/admin/roles": [{ allow: ADMIN, body: INVALID_BODY }],
  "DELETE /api/admin/roles": [{ allow: ADMIN, body: INVALID_BODY }],
  "GET /api/admin/audit": [{ allow: ADMIN }],
  "GET /api/admin/audit/fhir": [{ allow: ADMIN }],
};

// ---------- probing ----------

interface CohortPatient {
  id: string;
  name: string;
}

function displayName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === "official") ?? names?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(" ");
}

/** The cohort the sandbox serves: the dermatologist launches with the first patient on a JAK course. */
function launchPatients(): [CohortPatient, CohortPatient] {
  const withCourse: CohortPatient[] = [];
  for (const { patientId, resources, expected } of generateCohort(stack.cohort())) {
    if (expected.courses.length === 0) continue;
    const patient = resources.find((r): r is Patient => r.resourceType === "Patient");
    withCourse.push({ id: patientId, name: displayName(patient?.name) });
    if (withCourse.length === 2) break;
  }
  if (withCourse.length < 2) throw new Error("the e2e cohort has fewer than two patients on a JAK course");
  return [withCourse[0]!, withCourse[1]!];
}

const STANDALONE: Record<Exclude<Who, "dermatologist" | "none">, { practitioner: string; landing: RegExp }> = {
  "clinic-lead": { practitioner: "pr-lead-1", landing: /\/panel$/ },
  quality: { practitioner: "pr-quality-1", landing: /\/reports$/ },
  admin: { practitioner: "pr-admin-1", landing: /\/admin$/ },
};

/** Signs the context in as `who` the way that role arrives (the sandbox launcher plays the EHR). */
async function signIn(context: BrowserContext, who: Who, patient: CohortPatient): Promise<void> {
  if (who === "none") return;
  const page = await context.newPage();
  try {
    if (who === "dermatologist") {
      await ehrLaunch(page, /Lindqvist/, patient.name);
      await page.waitForURL(new RegExp(`/patients/${patient.id}$`));
      return;
    }
    const { practitioner, landing } = STANDALONE[who];
    const url = new URL(stack.launcherUrl());
    url.search = new URLSearchParams({ practitioner, mode: "standalone", go: "1" }).toString();
    await page.goto(url.toString());
    await page.waitForURL(landing);
  } finally {
    await page.close();
  }
}

type Verdict = { outcome: "allow" | "deny"; detail: string } | { outcome: "broken"; detail: string };

const REFUSAL_MARKERS = ['data-testid="role-refusal"', 'data-testid="relaunch"'];

/**
 * A page that redirects after streaming began (it has a loading.tsx) answers 200 with the redirect inside: a meta
 * refresh, or the NEXT_REDIRECT the client router follows. To /relaunch, that is a deny.
 */
function redirectsToRelaunchInPage(html: string): boolean {
  if (/NEXT_REDIRECT;[a-z]+;\/relaunch/.test(html)) return true;
  return [...html.matchAll(/<meta[^>]*http-equiv="refresh"[^>]*>/gi)].some((m) => m[0].includes("/relaunch"));
}

async function verdictOf(key: string, requestedPath: string, res: APIResponse): Promise<Verdict> {
  const status = res.status();
  const location = res.headers()["location"] ?? "";
  if (status >= 300 && status < 400) {
    const target = new URL(location, stack.appUrl());
    return target.pathname === "/relaunch" && !requestedPath.startsWith("/relaunch") && !key.endsWith(" /launch") && !key.endsWith(" /callback")
      ? { outcome: "deny", detail: `${status} to ${target.pathname}${target.search}` }
      : { outcome: "allow", detail: `${status} to ${target.pathname}` };
  }
  if (status === 401 || status === 403) {
    const body = await res.text().catch(() => "");
    // A refusal of the probe itself (cross-site, CSRF) says nothing about the role: the probe must be fixed.
    if (/"error"\s*:\s*"(cross-site|cross-origin|csrf[^"]*)"/.test(body)) return { outcome: "broken", detail: `${status} ${body.slice(0, 120)}: the probe was refused as cross-site` };
    return { outcome: "deny", detail: `${status} ${body.slice(0, 80)}` };
  }
  if (status >= 500) return { outcome: "broken", detail: `${status} ${(await res.text().catch(() => "")).slice(0, 120)}` };
  if (key.startsWith("PAGE ")) {
    const html = await res.text();
    const marker = REFUSAL_MARKERS.find((m) => html.includes(m));
    if (marker && !requestedPath.startsWith("/relaunch")) return { outcome: "deny", detail: `${status}, ${marker}` };
    if (redirectsToRelaunchInPage(html)) return { outcome: "deny", detail: `${status}, refreshes to /relaunch` };
  }
  return { outcome: "allow", detail: String(status) };
}

async function probe(request: APIRequestContext, key: string, p: Probe, ctx: ProbeContext): Promise<{ path: string; verdict: Verdict }> {
  const [kind, pattern] = key.split(" ") as [string, string];
  const requestedPath = p.url ? p.url(ctx) : pattern;
  if (/\[[^\]]+\]/.test(requestedPath)) throw new Error(`${key}: the probe needs a url() that fills in ${requestedPath}`);
  const url = new URL(requestedPath, stack.appUrl()).toString();
  const method = kind === "PAGE" ? "GET" : kind;
  const changing = method !== "GET";
  const res = await request.fetch(url, {
    method,
    maxRedirects: 0,
    failOnStatusCode: false,
    headers: changing
      ? { origin: new URL(stack.appUrl()).origin, "sec-fetch-site": "same-origin", "content-type": "application/json", accept: "application/json" }
      : { accept: kind === "PAGE" ? "text/html" : "application/json, */*" },
    ...(changing ? { data: JSON.stringify(p.body ?? {}) } : {}),
  });
  return { path: requestedPath, verdict: await verdictOf(key, requestedPath, res) };
}

test.describe("access matrix", () => {
  test("declares every page and route handler the app has, and nothing else", () => {
    const discovered = discoverRoutes();
    expect(discovered.length).toBeGreaterThan(40);
    const declared = new Set(Object.keys(MATRIX));
    const missing = discovered.filter((r) => !declared.has(r.key)).map((r) => `${r.key}  (app/${r.file}): add it to MATRIX in e2e/access-matrix.spec.ts`);
    const onDisk = new Set(discovered.map((r) => r.key));
    const stale = [...declared].filter((key) => !onDisk.has(key)).map((key) => `${key}: no such page or handler any more; remove it from MATRIX`);
    expect([...missing, ...stale]).toEqual([]);
    for (const [key, probes] of Object.entries(MATRIX)) {
      expect(probes.length, key).toBeGreaterThan(0);
      if (!key.startsWith("PAGE ") && !key.startsWith("GET ")) for (const p of probes) expect(p.body, `${key} sends a body`).toBeDefined();
    }
  });

  for (const who of EVERYONE) {
    test(`${who === "none" ? "no session" : who}: every page and handler allows or denies as declared`, async ({ browser }) => {
      test.setTimeout(300_000);
      const [patient, other] = launchPatients();
      const ctx: ProbeContext = { patientId: patient.id, otherPatientId: other.id };
      const context = await browser.newContext({ baseURL: stack.appUrl() });
      try {
        await signIn(context, who, patient);
        const entries = Object.entries(MATRIX).flatMap(([key, probes]) => probes.map((p) => ({ key, p })));
        const ordered = [...entries.filter((e) => !e.p.last), ...entries.filter((e) => e.p.last)];
        const problems: string[] = [];
        for (const { key, p } of ordered) {
          const { path: probed, verdict } = await probe(context.request, key, p, ctx);
          const expected = p.allow.includes(who) ? "allow" : "deny";
          if (verdict.outcome !== expected) problems.push(`${key} (${probed}): expected ${expected}, got ${verdict.outcome} (${verdict.detail})`);
        }
        expect(problems, `as ${who}`).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
