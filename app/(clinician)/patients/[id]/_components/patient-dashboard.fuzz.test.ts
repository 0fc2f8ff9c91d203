/**
 * FHIR narrative (Resource.text.div) is never rendered as HTML, and no text from the EHR reaches the page as markup.
 * The patient page's view model is built the way the route builds it (buildPatientView over a stub FHIR server, the
 * engine, lib/panel/synced-patient for the synced copy), from fuzzed records whose resources carry hostile narratives
 * and hostile strings in every text field the engine reads; then PatientDashboard renders it. The narrative never
 * appears (not even escaped), and the page holds no script, image, frame or handler markup. Seeded
 * (lib/testing/arbitraries.ts).
 */
import type { Resource } from "@medplum/fhirtypes";
import fc from "fast-check";
import type pg from "pg";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { evaluatePatient, RULES_VERSION } from "@/lib/clinical";
import type { PatientViewResponse } from "@/lib/fhir/patient-record-types";
import { buildPatientView } from "@/lib/fhir/patient-view";
import { loadSyncedPatientView } from "@/lib/panel/synced-patient";
import { fuzzedRecords, fuzzParameters, hostileString, HOSTILE_STRINGS, NARRATIVE_MARKER, narrative, patient } from "@/lib/testing/arbitraries";
import { PatientDashboard } from "./patient-dashboard";

const AS_OF = "2026-06-01";
const PATIENT = "a";
const BASE = "http://ehr.test/fhir";
/** Elements an attacker would slip into a FHIR text field; the dashboard itself renders none of them. */
const FORBIDDEN_ELEMENTS = new Set(["script", "img", "iframe", "object", "embed", "style", "link", "meta", "base", "form"]);

/** A FHIR server stub: the Patient by id, every search answered with the resources of its type. */
function fhirServer(resources: readonly Record<string, unknown>[]): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const path = url.pathname.slice(new URL(BASE).pathname.length + 1);
    const [type, id] = path.split("/");
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/fhir+json" } });
    if (id) {
      const found = resources.find((r) => r.resourceType === type && r.id === decodeURIComponent(id));
      return found ? json(found) : new Response(JSON.stringify({ resourceType: "OperationOutcome" }), { status: 404 });
    }
    return json({ resourceType: "Bundle", type: "searchset", entry: resources.filter((r) => r.resourceType === type).map((resource) => ({ resource })) });
  }) as typeof fetch;
}

/** Records of patient "a" whose resources carry hostile narratives and hostile display texts. */
const hostileRecord = fc
  .tuple(
    fuzzedRecords,
    patient.map((p) => ({ ...p, id: PATIENT })),
    narrative(),
    fc.array(hostileString, { minLength: 1, maxLength: 3 }),
  )
  .map(([resources, demographics, text, words]) => {
    const objects = resources.filter((r): r is Record<string, unknown> => r !== null && typeof r === "object" && !Array.isArray(r) && typeof (r as { resourceType?: unknown }).resourceType === "string");
    const withText = objects.map((r, i): Record<string, unknown> => ({
      ...r,
      text,
      // Hostile words where the engine reads text (code text and displays), so anything it echoes is hostile too.
      ...(r.resourceType === "Observation" ? { code: { ...(r.code as object), text: `itch ${words[i % words.length]}` } } : {}),
      ...(String(r.resourceType).startsWith("Medication") ? { medicationCodeableConcept: { text: `upadacitinib ${words[i % words.length]} 15 mg` } } : {}),
    }));
    return [{ ...demographics, text, name: [{ text: `Ada ${words[0]}` }] }, ...withText.filter((r) => !(r.resourceType === "Patient" && r.id === PATIENT))];
  });

/**
 * The narrative is absent (not even escaped), and every tag of the page is the dashboard's own: no forbidden
 * element, no event-handler attribute, no javascript: URL. (Hostile text may appear, escaped, as text.)
 */
function expectNoNarrativeOrMarkup(html: string): void {
  expect(html).not.toContain(NARRATIVE_MARKER);
  for (const [tag, name] of html.matchAll(/<([A-Za-z][A-Za-z0-9-]*)\b[^>]*>/g)) {
    expect(FORBIDDEN_ELEMENTS.has(name!.toLowerCase()), `the page holds ${tag}`).toBe(false);
    expect(tag, "an event-handler attribute").not.toMatch(/\son[a-z]+\s*=/i);
    expect(tag, "a javascript: URL").not.toMatch(/(href|src|action)\s*=\s*"\s*javascript:/i);
  }
}

function render(view: PatientViewResponse): string {
  return renderToStaticMarkup(createElement(PatientDashboard, { view, recordScores: false }));
}

describe("FHIR narrative and EHR text on the patient page", () => {
  it("the page built from the EHR never shows a narrative, and EHR text reaches it only as text", async () => {
    await fc.assert(
      fc.asyncProperty(hostileRecord, async (resources) => {
        const result = await buildPatientView({
          requestedPatientId: PATIENT,
          sessionPatientId: PATIENT,
          serverUrl: BASE,
          accessToken: "t",
          scope: "launch patient/*.rs",
          asOf: AS_OF,
          evaluate: (rs, options) => evaluatePatient(rs, { ...options, patientId: PATIENT }),
          rulesVersion: RULES_VERSION,
          fetchOptions: { fetch: fhirServer(resources), sleep: async () => undefined },
        });
        expect(result.status).toBe(200);
        const view = result.body as PatientViewResponse;
        // The view model carries the engine's output and the header, never a resource's narrative.
        expect(JSON.stringify(view)).not.toContain(NARRATIVE_MARKER);
        expectNoNarrativeOrMarkup(render(view));
      }),
      fuzzParameters(60, { timeLimitMs: 12_000, caseTimeoutMs: 10_000 }),
    );
  });

  it("the synced copy's page never shows a narrative either", async () => {
    const pool = { query: async () => ({ rows: [], rowCount: 0 }) } as unknown as pg.Pool;
    await fc.assert(
      fc.asyncProperty(hostileRecord, async (resources) => {
        const view = await loadSyncedPatientView(pool, "main", PATIENT, { asOf: AS_OF, loadResources: async () => new Map([[PATIENT, resources as unknown as Resource[]]]) });
        expect(view).not.toBeNull();
        expect(JSON.stringify(view)).not.toContain(NARRATIVE_MARKER);
        expectNoNarrativeOrMarkup(render(view!));
      }),
      fuzzParameters(40, { timeLimitMs: 8_000, caseTimeoutMs: 10_000 }),
    );
  });

  it("the check above catches a narrative that reaches the page as markup", () => {
    for (const div of [`<div><script>alert("${NARRATIVE_MARKER}")</script></div>`, `<div><img src="x" onerror="alert(1)"/></div>`, `<div><a href="javascript:alert(1)">x</a></div>`]) {
      expect(() => expectNoNarrativeOrMarkup(`<section>${div}</section>`)).toThrow();
    }
  });

  it("escapes a hostile patient name and drug text where the page shows them", async () => {
    const name = HOSTILE_STRINGS.find((s) => s.startsWith("<img"))!;
    const resources = [
      { resourceType: "Patient", id: PATIENT, name: [{ text: name }], text: { status: "generated", div: `<div>${NARRATIVE_MARKER}</div>` } },
      { resourceType: "MedicationStatement", id: "m", status: "active", subject: { reference: `Patient/${PATIENT}` }, medicationCodeableConcept: { text: `Rinvoq ${name}` }, effectivePeriod: { start: "2026-01-01" } },
    ];
    const result = await buildPatientView({
      requestedPatientId: PATIENT, sessionPatientId: PATIENT, serverUrl: BASE, accessToken: "t", scope: "launch patient/*.rs", asOf: AS_OF,
      evaluate: (rs, options) => evaluatePatient(rs, { ...options, patientId: PATIENT }), rulesVersion: RULES_VERSION,
      fetchOptions: { fetch: fhirServer(resources), sleep: async () => undefined },
    });
    const html = render(result.body as PatientViewResponse);
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expectNoNarrativeOrMarkup(html);
  });
});
