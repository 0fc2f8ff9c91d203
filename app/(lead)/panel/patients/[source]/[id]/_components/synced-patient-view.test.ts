import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { patientView } from "@/lib/patient-view/fixtures.test-helper";
import { PatientDashboard } from "@/app/(clinician)/patients/[id]/_components/patient-dashboard";
import { SyncedBanner } from "./synced-patient-view";

const synced = { source: "ehr-a", sourceName: "Sandbox EHR", syncedAt: "2026-11-01T02:05:00.000Z" };

function render(): string {
  const view = patientView(undefined, {
    access: { scope: "", canWriteObservations: false, fhirServer: "http://ehr.example/fhir" },
    fetch: { partial: false, failures: [], requests: 0, bytes: 0, ms: 3, resourceCounts: { Observation: 10 } },
  });
  return renderToStaticMarkup(createElement(PatientDashboard, { view, banner: createElement(SyncedBanner, { synced }), recordScores: false }));
}

describe("synced patient view", () => {
  it("renders the EHR launch's page with a banner saying where and when the data was synced", () => {
    const html = render();
    expect(html).toContain("Synced from Sandbox EHR at 1 Nov 2026, 02:05 UTC; not live EHR data");
    expect(html.indexOf("synced-banner")).toBeLessThan(html.indexOf('id="current-course"'));
    for (const id of ["current-course", "trends", "checkpoints", "safety-labs", "therapy-history", "data-quality"]) expect(html).toContain(`<section id="${id}"`);
  });

  it("offers no score recording and counts no EHR requests", () => {
    const html = render();
    expect(html).not.toContain('id="record-score"');
    expect(html).not.toContain("record-score-unavailable");
    expect(html).not.toContain("EHR requests");
    expect(html).toContain("source http://ehr.example/fhir");
  });

  it("opens the trend charts on the current course, with 1 year and All to choose", () => {
    const html = render();
    expect(html).toMatch(/<input type="radio"[^>]*checked=""[^>]*value="course"/);
    expect(html).not.toMatch(/<input type="radio"[^>]*checked=""[^>]*value="(year|all)"/);
    expect(html).toContain("This course");
    expect(html).toContain("1 year");
    expect(html).toMatch(/<input type="radio"[^>]*value="all"/);
    expect(html).toContain('data-range="course"');
  });
});
