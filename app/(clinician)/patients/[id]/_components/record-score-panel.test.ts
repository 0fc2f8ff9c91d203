import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { patientView, upadacitinibNonResponderEvaluation } from "@/lib/patient-view/fixtures.test-helper";
import type { PatientViewResponse } from "@/lib/fhir/patient-record-types";
import { RecordScorePanel } from "./record-score-panel";

function render(view: PatientViewResponse): string {
  return renderToStaticMarkup(createElement(QueryClientProvider, { client: new QueryClient() }, createElement(RecordScorePanel, { view })));
}

const writable = (patient: Partial<PatientViewResponse["patient"]> = {}): PatientViewResponse => {
  const base = patientView(upadacitinibNonResponderEvaluation());
  return {
    ...base,
    patient: { ...base.patient, ...patient },
    access: { ...base.access, scope: "launch patient/*.rs patient/Observation.c", canWriteObservations: true },
  };
};

const count = (html: string, needle: RegExp): number => html.match(needle)?.length ?? 0;

describe("record a score panel", () => {
  it("says write access was not granted, and offers no form, without Observation create", () => {
    const html = render(patientView(upadacitinibNonResponderEvaluation()));
    expect(html).toContain("did not grant this app write access");
    expect(html).not.toContain("<form");
    expect(html).not.toContain("Record a score");
  });

  it("offers itch and skin-pain 0-10 radio groups and the EASI calculator, each in a labelled fieldset", () => {
    const html = render(writable());
    expect(html).toContain('<h2 id="record-score-heading"');
    expect(html).toContain("Record a score");
    expect(html).toMatch(/<legend[^>]*>Itch NRS \(worst itch, past 24 h\)<\/legend>/);
    expect(html).toMatch(/<legend[^>]*>Skin pain NRS \(worst, past 24 h\)<\/legend>/);
    // 2 NRS x 11 + EASI 4 regions x (4 signs x 4 + area x 7)
    expect(count(html, /type="radio"/g)).toBe(2 * 11 + 4 * (4 * 4 + 7));
    expect(count(html, /<fieldset/g)).toBeGreaterThanOrEqual(2 + 4 * 5 + 4);
    expect(html).toContain("Erythema, head and neck");
    expect(html).toContain("Area affected, lower limbs");
    expect(html).toContain("Record itch score");
    expect(html).toContain("Record skin pain score");
    expect(html).toContain("Record EASI");
    expect(html).toMatch(/<output[^>]*data-testid="easi-total"[^>]*>0<\/output>/);
  });

  it("defaults the date to the page's as-of date and does not allow later dates", () => {
    const html = render(writable());
    const input = /<input[^>]*type="date"[^>]*>/.exec(html)?.[0] ?? "";
    expect(input).toContain('value="2026-11-01"');
    expect(input).toContain('max="2026-11-01"');
    expect(html).toContain("Date of the scores");
  });

  it("uses age-appropriate EASI weights: children 0-7 head/neck x 0.2, from 8 years x 0.1", () => {
    const child = render(writable({ age: 6 }));
    expect(child).toContain("Weights for children 0-7 years.");
    expect(child).toMatch(/Head and neck <span[^>]*>\(× 0.2\)/);
    expect(child).toMatch(/Lower limbs <span[^>]*>\(× 0.3\)/);
    const adult = render(writable({ age: 36 }));
    expect(adult).toContain("Weights for 8 years and over.");
    expect(adult).toMatch(/Head and neck <span[^>]*>\(× 0.1\)/);
    expect(adult).toMatch(/Lower limbs <span[^>]*>\(× 0.4\)/);
    expect(render(writable({ age: null }))).toContain("Age unknown");
  });
});
